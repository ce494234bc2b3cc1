using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;

namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>
/// Turns instruction examples into (prompt, answer) token pairs with the [INST] template, the pairs that supervised
/// fine-tuning learns from (<see cref="InstructionTask"/>, a <see cref="ResponseTask"/> over them).
/// <list type="bullet">
/// <item>Each example becomes ids = &lt;s&gt; [INST] instruction [/INST] answer &lt;/s&gt;
/// (<see cref="InstructionTemplate.Encode(BpeTokenizer, string, string)"/>: the markers from the template, the instruction
/// and the answer as ordinary text, so a marker a user typed is never a marker id). The model reads ids[0 … n−2] and
/// learns ids[1 … n−1]: at every position the target is the next token. The final &lt;/s&gt; is only ever predicted,
/// never read, so an example fits a window of BlockSize tokens when it has at most BlockSize + 1 ids.</item>
/// <item><see cref="MaskPrompt"/> (the default): the pair's prompt is &lt;s&gt; [INST] instruction [/INST] and its
/// response the answer and &lt;/s&gt;, so the loss covers only those — the model learns to answer, not to write
/// questions. Without it, the prompt is &lt;s&gt; alone and every later token is learned (for the notebook's
/// comparison).</item>
/// <item><see cref="Build"/> packs pairs into a <see cref="ResponseBatch"/>, padded on the right with &lt;pad&gt; to its
/// longest example. Its <see cref="ResponseBatch.ResponseMask"/> says which predictions are learned, never those of the
/// padding; <see cref="MaskedCrossEntropy.Labels"/> shows the same as −100 labels. Right padding needs no attention
/// mask in a causal model: a real token only looks at earlier positions, and the pads all come after.</item>
/// <item><b>Too long:</b> an example whose ids would not fit is cut from the left of the instruction — &lt;s&gt;[INST]
/// stay, the first instruction tokens go (questions usually end with what is asked), [/INST], the answer and
/// &lt;/s&gt; are kept whole. Each cut is counted in <see cref="TruncatedExamples"/>, so a notebook can say "3 examples
/// were shortened". An answer too long to fit even with a one-token instruction is an error (cutting an answer would
/// teach a wrong one).</item>
/// </list>
/// </summary>
public sealed class InstructionBatcher
{
    readonly BpeTokenizer _tokenizer;
    readonly TemplateIds _ids;
    readonly int[] _prefix, _suffix, _eos;

    /// <param name="tokenizer">A tokenizer extended with <see cref="InstructionTemplate.ExtendTokenizer"/>.</param>
    /// <param name="blockSize">The model's context window (GptConfig.BlockSize).</param>
    /// <param name="maskPrompt">True: loss on the answer only; false: on the prompt too.</param>
    public InstructionBatcher(BpeTokenizer tokenizer, int blockSize, bool maskPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _ids = InstructionTemplate.Ids(tokenizer);
        if (blockSize < 8) throw new ArgumentOutOfRangeException(nameof(blockSize), $"The context window must hold the template's markers and some text: expected at least 8 tokens, got {blockSize}.");
        _tokenizer = tokenizer;
        BlockSize = blockSize;
        MaskPrompt = maskPrompt;
        _prefix = [_ids.Bos, _ids.InstStart];
        _suffix = [_ids.InstEnd];
        _eos = [_ids.Eos];
    }

    public int BlockSize { get; }
    public bool MaskPrompt { get; }
    public TemplateIds Ids => _ids;
    /// <summary>Examples cut to fit the window so far (by this batcher, over all calls of <see cref="EncodePairs"/> and <see cref="Build"/>).</summary>
    public int TruncatedExamples { get; private set; }
    /// <summary>Instruction tokens dropped so far.</summary>
    public long DroppedTokens { get; private set; }

    /// <summary>
    /// The ids of one example (see the class summary), cut from the left of the instruction when they would not fit
    /// <paramref name="maxIds"/> (default BlockSize + 1). Does not count the cut; <see cref="EncodePairs"/> does.
    /// </summary>
    /// <exception cref="ArgumentException">The answer alone does not fit.</exception>
    public EncodedExample Encode(InstructionExample example, int? maxIds = null)
    {
        ArgumentNullException.ThrowIfNull(example);
        int limit = maxIds ?? BlockSize + 1;
        // The markers' ids come from the template; the user's text is ordinary text, so a "[/INST]" typed in it stays text.
        var body = InstructionTemplate.EncodeInstruction(_tokenizer, example.Instruction);
        var answer = InstructionTemplate.EncodeAnswer(_tokenizer, example.Output);
        int fixedPart = _prefix.Length + _suffix.Length + answer.Count + _eos.Length;
        if (fixedPart + 1 > limit)
            throw new ArgumentException($"The answer \"{Short(example.Output)}\" has {answer.Count} tokens; with the template's 4 markers it leaves no room for the instruction " +
                                        $"in a window of {limit - 1} tokens. Shorten the answer (answers are never cut: that would teach a wrong one).", nameof(example));
        int drop = Math.Max(0, body.Count - (limit - fixedPart));
        int[] ids = [.. _prefix, .. body.Skip(drop), .. _suffix, .. answer, .. _eos];
        return new EncodedExample(ids, _prefix.Length + body.Count - drop + _suffix.Length, drop);
    }

    /// <summary>The prompt ids the model reads before answering (<see cref="InstructionTemplate.EncodePrompt"/>: the
    /// instruction is ordinary text), cut from the left of the instruction to leave room for <paramref name="roomForAnswer"/>
    /// tokens in the window.</summary>
    public (int[] Ids, int Dropped) EncodePrompt(string instruction, int roomForAnswer = 1)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        if (roomForAnswer < 1 || roomForAnswer > BlockSize - 4) throw new ArgumentOutOfRangeException(nameof(roomForAnswer), $"Expected 1 … {BlockSize - 4} tokens of room for the answer, got {roomForAnswer}.");
        var body = InstructionTemplate.EncodeInstruction(_tokenizer, instruction);
        int keep = BlockSize - roomForAnswer - _prefix.Length - _suffix.Length;
        int drop = Math.Max(0, body.Count - keep);
        return ([.. _prefix, .. body.Skip(drop), .. _suffix], drop);
    }

    static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>
    /// The (prompt, response) pairs of <paramref name="examples"/> (see the class summary), in their order. Counts cut
    /// examples in <see cref="TruncatedExamples"/>.
    /// </summary>
    public IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Response)> EncodePairs(IReadOnlyList<InstructionExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var pairs = new List<(IReadOnlyList<int>, IReadOnlyList<int>)>(examples.Count);
        foreach (var example in examples)
        {
            var (ids, promptLength, dropped) = Encode(example);
            if (dropped > 0) { TruncatedExamples++; DroppedTokens += dropped; }
            int learnedFrom = MaskPrompt ? promptLength : 1;   // the first token is never predicted: nothing comes before it
            pairs.Add((ids[..learnedFrom], ids[learnedFrom..]));
        }
        return pairs;
    }

    /// <summary>
    /// A padded batch of <paramref name="examples"/>, ready for the model: <see cref="ResponseBatch.Input"/> is what it
    /// reads, <see cref="ResponseBatch.Targets"/> the next tokens and <see cref="ResponseBatch.ResponseMask"/> the ones it
    /// learns, each (B, n − 1) for the longest example's n ids. Counts cut examples in <see cref="TruncatedExamples"/>.
    /// </summary>
    public ResponseBatch Build(IReadOnlyList<InstructionExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("A batch needs at least one example.", nameof(examples));
        var pairs = EncodePairs(examples);
        return ResponseBatch.Create(pairs.Select(p => p.Prompt).ToList(), pairs.Select(p => p.Response).ToList(), _ids.Pad, BlockSize + 1);
    }

    /// <summary>The longest formatted example in ids (the template's markers included), and which one it is.</summary>
    public (int Tokens, InstructionExample Example) Longest(IEnumerable<InstructionExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var longest = examples.Select(e => (Tokens: InstructionTemplate.Encode(_tokenizer, e).Length, Example: e)).MaxBy(p => p.Tokens);
        return longest.Example is null ? throw new ArgumentException("No examples.", nameof(examples)) : longest;
    }
}
