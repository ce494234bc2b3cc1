namespace LlmNotebooks.Notebook;

/// <summary>
/// Where the course shows a value: a cell's trailing expression, a <c>display(...)</c> call, plotly.js for offline
/// charts. <see cref="Course.Setup"/> chooses one (<see cref="Course.Display"/>): the notebook kernel's display inside a
/// notebook (<see cref="KernelDisplaySink"/>), a page beside the program in a file-based app exported from a notebook
/// (<see cref="HtmlPageSink"/>), the console elsewhere (<see cref="ConsoleDisplaySink"/>).
/// </summary>
public interface IDisplaySink
{
    /// <summary>Shows a value, formatted as the notebook would format it (tensors and DataFrames as tables, charts drawn).</summary>
    void Show(object? value);
}
