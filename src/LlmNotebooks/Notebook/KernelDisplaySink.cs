using Microsoft.DotNet.Interactive;

namespace LlmNotebooks.Notebook;

/// <summary>The notebook kernel's own display: what <c>display(value)</c> does in a cell (the formatters of <see cref="Course.Setup"/> apply).</summary>
public sealed class KernelDisplaySink : IDisplaySink
{
    /// <summary>Shows the value as an output of the running cell; outside a cell (no kernel) it prints its text form.</summary>
    public void Show(object? value)
    {
        if (KernelInvocationContext.Current is { } context) KernelInvocationContextExtensions.Display(context, value);
        else ConsoleDisplaySink.Instance.Show(value);
    }
}
