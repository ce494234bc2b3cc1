namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>One example as token ids: the whole formatted sequence, where the answer starts, and whether the prompt was cut.</summary>
/// <param name="Ids">&lt;s&gt; [INST] instruction [/INST] answer &lt;/s&gt;.</param>
/// <param name="PromptLength">How many ids belong to the prompt (up to and including [/INST]); the answer starts at this index.</param>
/// <param name="DroppedPromptTokens">Instruction tokens cut from the left to fit the window (0 when it fitted).</param>
public sealed record EncodedExample(int[] Ids, int PromptLength, int DroppedPromptTokens)
{
    public bool Truncated => DroppedPromptTokens > 0;
}
