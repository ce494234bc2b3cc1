using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using LlmNotebooks.Training;

namespace LlmNotebooks.Alignment;

/// <summary>
/// The data side of the two tasks that learn from preference pairs, <see cref="PreferenceTask"/> (the reward model) and
/// <see cref="DpoTask"/>: the training and validation pairs, which pairs each step reads (<see cref="EpochOrder"/>),
/// the checks against a model's context window and vocabulary, and the batch of one forward pass, 2n rows: the n
/// chosen responses, then the n rejected ones, each after its prompt.
/// </summary>
internal sealed class PreferencePairs
{
    readonly IReadOnlyList<PairTokens> _train;
    readonly IReadOnlyList<PairTokens>? _validation;
    readonly EpochOrder _order;

    public int PadToken { get; }
    public string TrainFingerprint { get; }
    public string? ValidationFingerprint { get; }
    public long TrainExamples => _train.Count;

    /// <param name="train">The training pairs.</param>
    /// <param name="validation">Held-out pairs for the validation loss, or null.</param>
    /// <param name="padToken">The id that fills rows shorter than the batch's longest (never read).</param>
    /// <param name="learner">What learns from the pairs, for the message about an empty list ("A reward model", "DPO").</param>
    /// <param name="setting">Settings that change the loss, written into the fingerprints (so a resume with other settings is refused).</param>
    public PreferencePairs(IReadOnlyList<PairTokens> train, IReadOnlyList<PairTokens>? validation, int padToken, string learner, string setting = "")
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0) throw new ArgumentException($"{learner} needs at least one preference pair to learn from.", nameof(train));
        if (validation is { Count: 0 }) throw new ArgumentException("The validation list is empty; pass null for no validation.", nameof(validation));
        if (padToken < 0) throw new ArgumentOutOfRangeException(nameof(padToken), $"The padding token must be a token id (≥ 0), got {padToken}.");
        foreach (var (set, name) in new[] { (train, nameof(train)), (validation, nameof(validation)) })
            for (int i = 0; i < (set?.Count ?? 0); i++)
                if (set![i] is not { Prompt.Count: > 0, Chosen: not null, Rejected: not null })
                    throw new ArgumentException($"{(name == nameof(train) ? "Training" : "Validation")} pair {i} is missing or has an empty prompt: a response's first " +
                                                "token is predicted from the token before it, so every prompt needs at least one token.", name);
        _train = train;
        _validation = validation;
        PadToken = padToken;
        _order = new EpochOrder(train.Count);
        TrainFingerprint = Fingerprint(train, setting);
        ValidationFingerprint = validation is null ? null : Fingerprint(validation, setting);
    }

    string Fingerprint(IReadOnlyList<PairTokens> pairs, string setting)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var p in pairs)
            sha.AppendData(Encoding.UTF8.GetBytes($"{string.Join(',', p.Prompt)}|{string.Join(',', p.Chosen)}|{string.Join(',', p.Rejected)}\n"));
        return string.Create(CultureInfo.InvariantCulture, $"{pairs.Count} pairs, pad {PadToken}{setting}, sha256 {Convert.ToHexStringLower(sha.GetHashAndReset())[..16]}");
    }

    /// <summary>
    /// Throws when a pair (or the padding) cannot be read by a model with this context window and vocabulary, naming
    /// the pair and <paramref name="model"/> ("the reward model", "the policy").
    /// </summary>
    public void Check(int blockSize, int vocabSize, string model, string paramName)
    {
        if (PadToken >= vocabSize)
            throw new ArgumentException($"The padding token {PadToken} is outside {model}'s vocabulary [0, {vocabSize}).", paramName);
        foreach (var (set, name) in new[] { (_train, "training"), (_validation, "validation") })
            for (int i = 0; i < (set?.Count ?? 0); i++)
            {
                var pair = set![i];
                foreach (var (response, which) in new[] { (pair.Chosen, "chosen"), (pair.Rejected, "rejected") })
                {
                    if (pair.Prompt.Count + response.Count > blockSize)
                        throw new ArgumentException($"The {which} response of {name} pair {i} is {pair.Prompt.Count} prompt + {response.Count} response = " +
                                                    $"{pair.Prompt.Count + response.Count} tokens, longer than {model}'s context window of {blockSize} tokens. " +
                                                    "Shorten the response (fewer new tokens when sampling), or use a model with a larger BlockSize.", paramName);
                    if (OutOfVocabulary(pair.Prompt, response, vocabSize) is { } bad)
                        throw new ArgumentException($"The {which} response of {name} pair {i} holds token id {bad.Id} at {bad.Where}, " +
                                                    $"outside {model}'s vocabulary [0, {vocabSize}) (valid ids are 0 to {vocabSize - 1}). " +
                                                    "Was it encoded with another tokenizer, or is the model's VocabSize too small?", paramName);
                }
            }
    }

    /// <summary>
    /// The first token of prompt + response outside [0, <paramref name="vocabSize"/>) and where it sits ("position 2 of
    /// the prompt", "position 0 of the response (position 4 of prompt + response)"), or null when every id is valid.
    /// </summary>
    internal static (int Id, string Where)? OutOfVocabulary(IReadOnlyList<int> prompt, IReadOnlyList<int> response, int vocabSize)
    {
        for (int k = 0; k < prompt.Count; k++)
            if (prompt[k] < 0 || prompt[k] >= vocabSize) return (prompt[k], $"position {k} of the prompt");
        for (int k = 0; k < response.Count; k++)
            if (response[k] < 0 || response[k] >= vocabSize) return (response[k], $"position {k} of the response (position {prompt.Count + k} of prompt + response)");
        return null;
    }

    /// <summary>The pairs of micro-batch <paramref name="part"/> of step <paramref name="step"/>: examples k of the run's order (see <see cref="EpochOrder"/>).</summary>
    public IReadOnlyList<PairTokens> TrainBatch(int step, int part, int parts, int batchSize, long seed)
    {
        long first = ((long)step * parts + part) * batchSize;
        var pairs = new List<PairTokens>(batchSize);
        for (long k = first; k < first + batchSize; k++) pairs.Add(_train[_order[seed, k]]);
        return pairs;
    }

    /// <summary>Validation batch <paramref name="index"/> of <paramref name="batches"/>: pairs from the start of the index-th of that many equal shares.</summary>
    public IReadOnlyList<PairTokens> ValidationBatch(int index, int batches, int batchSize)
    {
        var validation = _validation ?? throw new InvalidOperationException("This task has no validation pairs.");
        if (index < 0 || index >= batches) throw new ArgumentOutOfRangeException(nameof(index), $"Expected 0 ≤ index < {batches}, got {index}.");
        int start = (int)((long)index * validation.Count / batches), end = (int)((long)(index + 1) * validation.Count / batches);
        return Enumerable.Range(start, Math.Max(1, Math.Min(batchSize, end - start))).Select(i => validation[i % validation.Count]).ToList();
    }

    /// <summary>One batch of 2n rows for n pairs: rows 0..n−1 hold prompt + chosen, rows n..2n−1 prompt + rejected.</summary>
    public ResponseBatch Batch(IReadOnlyList<PairTokens> pairs, int blockSize) =>
        ResponseBatch.Create(pairs.Select(p => p.Prompt).Concat(pairs.Select(p => p.Prompt)).ToList(),
                             pairs.Select(p => p.Chosen).Concat(pairs.Select(p => p.Rejected)).ToList(), PadToken, blockSize);

    /// <summary>
    /// Options that train on pairs the way the course always has: a constant learning rate (MinLr = MaxLr, no warmup),
    /// AdamW without weight decay and with torch's β₂ = 0.999, and the gradient norm clipped at 1.
    /// </summary>
    public static TrainerOptions ConstantRate(int steps, int batchSize, double learningRate, string title) => new()
    {
        Steps = steps,
        BatchSize = batchSize,
        MaxLr = learningRate,
        MinLr = learningRate,
        WarmupSteps = 0,
        WeightDecay = 0,
        Beta2 = 0.999,
        GradClip = 1.0,
        Title = title,
    };
}
