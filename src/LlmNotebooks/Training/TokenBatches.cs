using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// A tokenized text cut into training examples for next-token prediction. A window of <c>BlockSize + 1</c> consecutive
/// tokens gives one example: the first BlockSize tokens are the input and the same tokens shifted left by one are the
/// targets, so every position learns to predict the token after it:
/// <code>
/// tokens  [Tim, took, the, wand, .]       (BlockSize 4)
/// input   [Tim, took, the, wand]
/// target  [took, the, wand, .]            position 2 reads "Tim took the" and must say "wand"
/// </code>
/// A batch stacks BatchSize windows taken at random places; one optimizer step on one batch is an iteration, and an
/// epoch is as many iterations as it takes to show the model as many tokens as the text holds.
/// </summary>
public sealed class TokenBatches
{
    readonly Tensor _tokens;      // int64 (N), on the CPU

    /// <summary>The context window: tokens per example.</summary>
    public int BlockSize { get; }

    /// <summary>How many tokens the text has.</summary>
    public long TokenCount => _tokens.shape[0];

    /// <summary>A short hash of the tokens and block size, so a resumed run can check that it sees the same data.</summary>
    public string Fingerprint { get; }

    /// <summary>The largest token id in the text (ids are never negative).</summary>
    public int MaxTokenId { get; }

    /// <summary>
    /// Throws unless every token id is below <paramref name="vocabSize"/>, naming the first id that is not and where it
    /// is. A trainer checks this once, up front: an id out of range that appears only as a target would otherwise fail
    /// inside the loss with libtorch's bare "Target 11 is out of bounds".
    /// </summary>
    public void RequireVocabulary(int vocabSize, string what = "text")
    {
        if (MaxTokenId < vocabSize) return;
        using var outside = (_tokens >= vocabSize).nonzero();
        long at = outside[0, 0].item<long>();
        throw new ArgumentException($"Token {at} of the {what} is id {_tokens[at].item<long>()}, outside the model's vocabulary [0, {vocabSize - 1}] " +
                                    $"(VocabSize {vocabSize}; the largest id in the {what} is {MaxTokenId}). Was it encoded with a different tokenizer, or is VocabSize too small?");
    }

    /// <summary>How many different windows (start positions) there are.</summary>
    public long WindowCount => TokenCount - BlockSize;

    public TokenBatches(IReadOnlyList<int> tokens, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (blockSize <= 0) throw new ArgumentOutOfRangeException(nameof(blockSize), $"Expected a positive block size, got {blockSize}.");
        if (tokens.Count < blockSize + 1)
            throw new ArgumentException($"The text has {tokens.Count} tokens but one example needs BlockSize + 1 = {blockSize + 1}. " +
                                        "Use more text or a smaller block size.", nameof(tokens));
        BlockSize = blockSize;
        int position = 0, max = 0;
        foreach (int t in tokens)
        {
            if (t < 0)
                throw new ArgumentException($"Token {position} of the text is {t}, but token ids are never negative" +
                                            (t == -100 ? " (-100 is cross-entropy's \"ignore\" index: the model would silently learn nothing there)." : "."), nameof(tokens));
            max = Math.Max(max, t);
            position++;
        }
        ulong hash = Hashes.Fnv1a(tokens);                                  // FNV-1a over the token ids
        MaxTokenId = max;
        Fingerprint = $"{tokens.Count} tokens, T={blockSize}, fnv {hash:x16}";
        _tokens = tensor(tokens.Select(t => (long)t).ToArray(), dtype: int64);
        _tokens.DetachFromDisposeScope();
    }

    /// <summary>The example starting at token <paramref name="start"/>: input (BlockSize) and targets shifted by one.</summary>
    public (Tensor Input, Tensor Target) Window(long start)
    {
        if (start < 0 || start >= WindowCount)
            throw new ArgumentOutOfRangeException(nameof(start), $"A window starts at 0..{WindowCount - 1} (the text has {TokenCount} tokens, BlockSize {BlockSize}); got {start}.");
        return (_tokens.narrow(0, start, BlockSize), _tokens.narrow(0, start + 1, BlockSize));
    }

    /// <summary>
    /// The batch for training step <paramref name="step"/>: <paramref name="batchSize"/> windows at random starts drawn
    /// from a generator seeded by (<paramref name="seed"/>, step) through <see cref="Hashes.StreamSeed"/>. The same step always gets the same batch, which is
    /// what makes a resumed run identical to an uninterrupted one. Shapes: (B, T) and (B, T), int64.
    /// </summary>
    public (Tensor Input, Tensor Target) Random(int batchSize, long seed, long step)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"Expected a positive batch size, got {batchSize}.");
        using var generator = new Generator(unchecked((ulong)Hashes.StreamSeed(seed, Hashes.BatchStream, step)));
        using var starts = randint(0, WindowCount, [batchSize], dtype: int64, generator: generator);
        return Gather(starts.data<long>().ToArray());
    }

    /// <summary>
    /// <paramref name="batchSize"/> windows spread evenly over the text, batch <paramref name="index"/> of
    /// <paramref name="batchCount"/>: a fixed sample for measuring validation loss the same way every time.
    /// </summary>
    public (Tensor Input, Tensor Target) Evenly(int batchSize, int index, int batchCount)
    {
        if (batchSize <= 0 || batchCount <= 0 || index < 0 || index >= batchCount)
            throw new ArgumentOutOfRangeException(nameof(index), $"Expected batchSize > 0 and 0 ≤ index < batchCount, got {batchSize}, {index}, {batchCount}.");
        long total = (long)batchSize * batchCount;
        var starts = Enumerable.Range(0, batchSize).Select(i => (index * (long)batchSize + i) * (WindowCount - 1) / Math.Max(1, total - 1)).ToArray();
        return Gather(starts);
    }

    (Tensor Input, Tensor Target) Gather(long[] starts)
    {
        using var offsets = arange(BlockSize + 1, dtype: int64);
        using var first = tensor(starts, dtype: int64);
        using var index = first.unsqueeze(1) + offsets.unsqueeze(0);            // (B, T + 1)
        using var windows = _tokens[index];
        return (windows[.., ..BlockSize].contiguous(), windows[.., 1..].contiguous());
    }

    /// <summary>Cuts <paramref name="tokens"/> into consecutive, non-overlapping chunks of <paramref name="blockSize"/> (the last one may be shorter).</summary>
    public static IReadOnlyList<int[]> Chunk(IReadOnlyList<int> tokens, int blockSize)
    {
        if (blockSize <= 0) throw new ArgumentOutOfRangeException(nameof(blockSize), $"Expected a positive block size, got {blockSize}.");
        return tokens.Chunk(blockSize).ToList();
    }

    /// <summary>Iterations in one epoch: how many batches of <paramref name="batchSize"/> × BlockSize tokens cover the text once.</summary>
    public static long IterationsPerEpoch(long tokenCount, int batchSize, int blockSize) =>
        (long)Math.Ceiling(tokenCount / (double)((long)batchSize * blockSize));
}
