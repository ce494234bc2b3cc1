namespace LlmNotebooks.Runner.Book;

/// <summary>How a chapter's notebook fared in the course runner.</summary>
public enum ChapterStatus
{
    /// <summary>Not run (in this invocation or any recorded one): its page shows whatever copy there is.</summary>
    NotRun,
    /// <summary>Every code cell ran.</summary>
    Ran,
    /// <summary>Stopped at a failing cell (<see cref="BookChapter.FailedCell"/>), or the kernel failed (no cell).</summary>
    Failed,
}

/// <summary>One chapter of the book.</summary>
/// <param name="Notebook">
/// The executed copy of the notebook (artifacts/executed/NN-name.ipynb). For a chapter that has never been run this may
/// be the source notebook: its page then shows the prose and the code without outputs.
/// </param>
/// <param name="Status">Ran, failed, or not run.</param>
/// <param name="FailedCell">For a failed chapter: the number of the failing code cell (1-based, code cells only), or
/// null when it failed before any cell (the kernel did not start).</param>
/// <param name="Duration">How long the notebook took to run, when known.</param>
public sealed record BookChapter(string Notebook, ChapterStatus Status, int? FailedCell = null, TimeSpan? Duration = null)
{
    /// <summary>The page's file name: the notebook's, with .html (01-math.ipynb → 01-math.html).</summary>
    public string PageFileName => Path.GetFileNameWithoutExtension(Notebook) + ".html";
}

/// <summary>What the book is built with, beyond the chapters.</summary>
public sealed record BookOptions
{
    /// <summary>The course's title, the index page's heading.</summary>
    public string Title { get; init; } = "LLM Notebooks";

    /// <summary>A line under the title.</summary>
    public string Subtitle { get; init; } = "How large language models work, from matrices to reasoning, in C#";

    /// <summary>Where KaTeX comes from; default: the version pinned in Directory.Packages.props, cached per user.</summary>
    public KatexAssets? Katex { get; init; }
}
