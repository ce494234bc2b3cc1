using LlmNotebooks.Tensors;
using LlmNotebooks.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning;

/// <summary>One example as token ids: the whole formatted sequence, where the answer starts, and whether the prompt was cut.</summary>
/// <param name="Ids">&lt;s&gt; [INST] instruction [/INST] answer &lt;/s&gt;.</param>
/// <param name="PromptLength">How many ids belong to the prompt (up to and including [/INST]); the answer starts at this index.</param>
/// <param name="DroppedPromptTokens">Instruction tokens cut from the left to fit the window (0 when it fitted).</param>
public sealed record EncodedExample(int[] Ids, int PromptLength, int DroppedPromptTokens)
{
    public bool Truncated => DroppedPromptTokens > 0;
}

/// <summary>
/// A padded batch for supervised fine-tuning. Input (B, T) holds the tokens the model reads, Labels (B, T) the token it
/// should predict at each position (the next one), or <see cref="InstructionLoss.IgnoreIndex"/> (−100) where nothing
/// is learned: on padding always, and on the prompt when the batch was built with the prompt masked.
/// </summary>
public sealed record InstructionBatch(Tensor Input, Tensor Labels, int Truncated, long LearnedTokens) : IDisposable
{
    public void Dispose()
    {
        Input.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Turns instruction examples into model inputs and labels with the [INST] template.
/// <list type="bullet">
/// <item>Each example becomes ids = &lt;s&gt; [INST] instruction [/INST] answer &lt;/s&gt;. The model reads ids[0 … n−2] and
/// learns ids[1 … n−1]: at every position the label is the next token. The final &lt;/s&gt; is only ever predicted,
/// never read, so an example fits a window of BlockSize tokens when it has at most BlockSize + 1 ids.</item>
/// <item><see cref="MaskPrompt"/> (the default): labels are −100 wherever the next token is still part of the prompt,
/// so the loss covers only the answer and its &lt;/s&gt; — the model learns to answer, not to write questions.
/// Without it, the loss covers the prompt too (for the notebook's comparison).</item>
/// <item>A batch is padded on the right with &lt;pad&gt; to its longest example, with label −100. Right padding needs
/// no attention mask in a causal model: a real token only looks at earlier positions, and the pads all come after.</item>
/// <item><b>Too long:</b> an example whose ids would not fit is cut from the left of the instruction — &lt;s&gt;[INST]
/// stay, the first instruction tokens go (questions usually end with what is asked), [/INST], the answer and
/// &lt;/s&gt; are kept whole. Each cut is counted in <see cref="TruncatedExamples"/> and in the batch's
/// <see cref="InstructionBatch.Truncated"/>, so a notebook can say "3 examples were shortened". An answer too long
/// to fit even with a one-token instruction is an error (cutting an answer would teach a wrong one).</item>
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
    /// <summary>Examples cut to fit the window so far (by this batcher, over all calls).</summary>
    public int TruncatedExamples { get; private set; }
    /// <summary>Instruction tokens dropped so far.</summary>
    public long DroppedTokens { get; private set; }

    /// <summary>
    /// The ids of one example (see the class summary), cut from the left of the instruction when they would not fit
    /// <paramref name="maxIds"/> (default BlockSize + 1). Does not count the cut; <see cref="Build"/> does.
    /// </summary>
    /// <exception cref="ArgumentException">The answer alone does not fit.</exception>
    public EncodedExample Encode(InstructionExample example, int? maxIds = null)
    {
        ArgumentNullException.ThrowIfNull(example);
        int limit = maxIds ?? BlockSize + 1;
        // The template text "<s>[INST] {instruction} [/INST] {output}</s>" splits at its special tokens, so encoding
        // the pieces one by one gives exactly the ids of the whole string.
        var body = _tokenizer.Encode($" {example.Instruction} ");
        var answer = _tokenizer.Encode($" {example.Output}");
        int fixedPart = _prefix.Length + _suffix.Length + answer.Count + _eos.Length;
        if (fixedPart + 1 > limit)
            throw new ArgumentException($"The answer \"{Short(example.Output)}\" has {answer.Count} tokens; with the template's 4 markers it leaves no room for the instruction " +
                                        $"in a window of {limit - 1} tokens. Shorten the answer (answers are never cut: that would teach a wrong one).", nameof(example));
        int drop = Math.Max(0, body.Count - (limit - fixedPart));
        int[] ids = [.. _prefix, .. body.Skip(drop), .. _suffix, .. answer, .. _eos];
        return new EncodedExample(ids, _prefix.Length + body.Count - drop + _suffix.Length, drop);
    }

    /// <summary>The prompt ids the model reads before answering, cut from the left of the instruction to leave room for
    /// <paramref name="roomForAnswer"/> tokens in the window.</summary>
    public (int[] Ids, int Dropped) EncodePrompt(string instruction, int roomForAnswer = 1)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        if (roomForAnswer < 1 || roomForAnswer > BlockSize - 4) throw new ArgumentOutOfRangeException(nameof(roomForAnswer), $"Expected 1 … {BlockSize - 4} tokens of room for the answer, got {roomForAnswer}.");
        var body = _tokenizer.Encode($" {instruction} ");
        int keep = BlockSize - roomForAnswer - _prefix.Length - _suffix.Length;
        int drop = Math.Max(0, body.Count - keep);
        return ([.. _prefix, .. body.Skip(drop), .. _suffix], drop);
    }

    static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>
    /// Input and labels for a batch of examples (see the class summary): (B, T) int64 each, T = the longest example's
    /// length − 1. Counts cut examples in <see cref="TruncatedExamples"/>.
    /// </summary>
    public InstructionBatch Build(IReadOnlyList<InstructionExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("A batch needs at least one example.", nameof(examples));
        var encoded = examples.Select(e => Encode(e)).ToList();
        int T = encoded.Max(e => e.Ids.Length) - 1, B = encoded.Count;
        var input = new long[B * T];
        var labels = new long[B * T];
        Array.Fill(input, _ids.Pad);
        Array.Fill(labels, InstructionLoss.IgnoreIndex);
        long learned = 0;
        int truncated = 0;
        for (int b = 0; b < B; b++)
        {
            var (ids, promptLength, dropped) = (encoded[b].Ids, encoded[b].PromptLength, encoded[b].DroppedPromptTokens);
            if (dropped > 0) { truncated++; DroppedTokens += dropped; }
            for (int t = 0; t + 1 < ids.Length; t++)
            {
                input[b * T + t] = ids[t];
                if (!MaskPrompt || t + 1 >= promptLength)   // the label at t is the token at t + 1
                {
                    labels[b * T + t] = ids[t + 1];
                    learned++;
                }
            }
        }
        TruncatedExamples += truncated;
        return new InstructionBatch(tensor(input).reshape(B, T), tensor(labels).reshape(B, T), truncated, learned);
    }

    /// <summary>
    /// The examples in a seeded random order, cut into batches of <paramref name="batchSize"/> (the last may be
    /// smaller): one epoch. Different <paramref name="epoch"/>s give different orders; torch's generator is not used.
    /// </summary>
    public static IEnumerable<IReadOnlyList<InstructionExample>> ShuffledBatches(IReadOnlyList<InstructionExample> examples, int batchSize, int seed, int epoch = 0)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"Expected a positive batch size, got {batchSize}.");
        var order = Enumerable.Range(0, examples.Count).ToArray();
        new Random(unchecked(seed * 1_000_003 + epoch)).Shuffle(order);   // System.Random with a seed repeats on every machine
        for (int i = 0; i < order.Length; i += batchSize)
            yield return order.Skip(i).Take(batchSize).Select(j => examples[j]).ToList();
    }

    /// <summary>The longest formatted example in ids (the template's markers included), and which one it is.</summary>
    public (int Tokens, InstructionExample Example) Longest(IEnumerable<InstructionExample> examples)
    {
        var longest = examples.Select(e => (Tokens: _tokenizer.Encode(InstructionTemplate.Format(e)).Count, Example: e)).MaxBy(p => p.Tokens);
        return longest.Example is null ? throw new ArgumentException("No examples.", nameof(examples)) : longest;
    }
}

/// <summary>
/// The loss of supervised fine-tuning: cross-entropy averaged over the positions whose label is not
/// <see cref="IgnoreIndex"/>. Written out instead of calling cross_entropy(ignore_index) so the rule is visible, and so
/// a batch with no learned position gives 0, not 0/0 = NaN: the sum is divided by max(1, n).
/// </summary>
public static class InstructionLoss
{
    /// <summary>The label that means "learn nothing here" (PyTorch's and Hugging Face's convention).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>logits (B, T, V) and labels (B, T) → mean of −log p(label) over the n labelled positions (0 when n = 0).</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels) => CrossEntropyWithCount(logits, labels).Loss;

    /// <summary>As <see cref="CrossEntropy"/>, and how many positions it counted.</summary>
    public static (Tensor Loss, long Count) CrossEntropyWithCount(Tensor logits, Tensor labels)
    {
        ShapeGuard.Require(logits, "logits", "(B, T, V)", -1, -1, -1);
        ShapeGuard.Require(labels, "labels", "(B, T)", logits.shape[0], logits.shape[1]);
        if (labels.dtype != ScalarType.Int64) throw new ArgumentException($"labels must be int64 token ids (or −100), got {labels.dtype}.", nameof(labels));
        using var scope = NewDisposeScope();
        long V = logits.shape[2];
        var flat = labels.reshape(-1);
        var counted = flat.ne(IgnoreIndex);
        long n = counted.sum().item<long>();
        var outside = flat.ne(IgnoreIndex).logical_and(flat.lt(0).logical_or(flat.ge(V)));
        if (outside.any().item<bool>())
            throw new ArgumentException($"labels hold ids outside [0, {V}) other than {IgnoreIndex}; does the model's vocabulary match the tokenizer's?", nameof(labels));
        var logp = nn.functional.log_softmax(logits.reshape(-1, V), 1);
        var picked = logp.gather(1, flat.masked_fill(counted.logical_not(), 0).unsqueeze(1)).squeeze(1);   // log p(label); any id where ignored
        var loss = -(picked * counted.to(picked.dtype)).sum() / Math.Max(1, n);
        return (loss.MoveToOuterDisposeScope(), n);
    }
}
