namespace LlmNotebooks.Alignment.Assistant;

/// <summary>How an answer of the assistant task begins: with nothing, a polite phrase («Конечно!», "Sure!"), or a rude one.</summary>
public enum Opener
{
    None,
    Polite,
    Rude,
}
