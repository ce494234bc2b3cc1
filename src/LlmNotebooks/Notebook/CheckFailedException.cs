namespace LlmNotebooks.Notebook;

/// <summary>Thrown by <see cref="Check"/> when a notebook's result is not what the lesson says it is.</summary>
public sealed class CheckFailedException(string message) : Exception(message);
