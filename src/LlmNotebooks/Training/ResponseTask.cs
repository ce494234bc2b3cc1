using System.Security.Cryptography;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// Supervised fine-tuning on (prompt, response) token pairs as a <see cref="ITrainingTask"/>: the model reads prompt +
/// response, and only the predictions of response tokens are scored. The prompt is given, not learned. Responses should
/// end with the end token, so that the model learns to stop. Chapter 6 trains its small assistants and its arithmetic
/// solvers with it; chapter 5's <see cref="FineTuning.InstructionTask"/> is the same idea with the [INST] template.
/// <para>
/// Order: the pairs are shuffled once per epoch with a seeded generator and consecutive steps read consecutive batches of
/// that order (example k of the run is example k mod N of epoch k / N), so micro-batches of one step together equal one
/// large batch and a resumed run reads the same examples. Validation batch i of n reads pairs from the start of the i-th
/// of n equal shares.
/// </para>
/// </summary>
public sealed class ResponseTask : ITrainingTask
{
    readonly IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Response)> _train;
    readonly IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Response)>? _validation;
    readonly Dictionary<(long Seed, long Epoch), int[]> _orders = [];
    readonly int _pad;

    /// <param name="train">The training pairs (token ids).</param>
    /// <param name="validation">Held-out pairs for the validation loss, or null.</param>
    /// <param name="padToken">The id that fills rows shorter than the batch's longest (never scored).</param>
    public ResponseTask(IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Response)> train,
                        IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Response)>? validation, int padToken)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0) throw new ArgumentException("Fine-tuning needs at least one (prompt, response) pair; the list is empty.", nameof(train));
        if (validation is { Count: 0 }) throw new ArgumentException("The validation list is empty; pass null for no validation.", nameof(validation));
        if (padToken < 0) throw new ArgumentOutOfRangeException(nameof(padToken), $"The padding token must be a token id (≥ 0), got {padToken}.");
        foreach (var (set, name) in new[] { (train, "training"), (validation, "validation") })
            for (int i = 0; i < (set?.Count ?? 0); i++)
                if (set![i].Response is null || set[i].Response.Count == 0 || set[i].Prompt is null || set[i].Prompt.Count == 0)
                    throw new ArgumentException($"{name} pair {i} has an empty prompt or response: both need at least one token.", name == "training" ? nameof(train) : nameof(validation));
        _train = train; _validation = validation; _pad = padToken;
        TrainFingerprint = Fingerprint(train);
        ValidationFingerprint = validation is null ? null : Fingerprint(validation);
    }

    public string TrainFingerprint { get; }
    public string? ValidationFingerprint { get; }
    public long TrainExamples => _train.Count;

    string Fingerprint(IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Response)> pairs)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (p, r) in pairs)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(string.Join(',', p) + "|" + string.Join(',', r) + "\n"));
        }
        return $"{pairs.Count} pairs, pad {_pad}, sha256 {Convert.ToHexStringLower(sha.GetHashAndReset())[..16]}";
    }

    public void Check(nn.Module model)
    {
        if (model is not Gpt gpt)
            throw new ArgumentException($"A ResponseTask trains a Gpt; got a {model.GetType().Name}.", nameof(model));
        foreach (var (set, name) in new[] { (_train, "training"), (_validation, "validation") })
        {
            if (set is null) continue;
            for (int i = 0; i < set.Count; i++)
            {
                var (p, r) = set[i];
                if (p.Count + r.Count > gpt.Config.BlockSize)
                    throw new ArgumentException($"{name} pair {i} is {p.Count} + {r.Count} = {p.Count + r.Count} tokens, longer than the model's context window ({gpt.Config.BlockSize}). " +
                                                "Shorten it or build the model with a larger BlockSize.", nameof(model));
                foreach (var bad in p.Concat(r).Append(_pad).Where(t => t < 0 || t >= gpt.Config.VocabSize).Take(1))
                    throw new ArgumentException($"{name} pair {i} (or the padding) holds token id {bad}, outside the model's vocabulary [0, {gpt.Config.VocabSize}).", nameof(model));
            }
        }
    }

    public LossSum TrainLoss(nn.Module model, int step, int part, int parts, int batchSize, long seed)
    {
        long first = ((long)step * parts + part) * batchSize;
        var pairs = new List<(IReadOnlyList<int>, IReadOnlyList<int>)>(batchSize);
        for (long k = first; k < first + batchSize; k++)
            pairs.Add(_train[Order(seed, k / _train.Count)[k % _train.Count]]);
        return Score((Gpt)model, pairs);
    }

    public LossSum ValidationLoss(nn.Module model, int index, int batches, int batchSize)
    {
        var validation = _validation ?? throw new InvalidOperationException("This task has no validation pairs.");
        if (index < 0 || index >= batches) throw new ArgumentOutOfRangeException(nameof(index), $"Expected 0 ≤ index < {batches}, got {index}.");
        int start = (int)((long)index * validation.Count / batches), end = (int)((long)(index + 1) * validation.Count / batches);
        var pairs = Enumerable.Range(start, Math.Max(1, Math.Min(batchSize, end - start))).Select(i => validation[i % validation.Count]).ToList();
        return Score((Gpt)model, pairs);
    }

    LossSum Score(Gpt model, IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Response)> pairs)
    {
        using var batch = ResponseBatch.Create(pairs.Select(p => p.Prompt).ToList(), pairs.Select(p => p.Response).ToList(), _pad, model.Config.BlockSize);
        var logp = SequenceLogProbs.PerToken(model, batch);
        return new LossSum(-logp.sum(), pairs.Sum(p => (long)p.Response.Count));
    }

    int[] Order(long seed, long epoch)
    {
        lock (_orders)
        {
            if (_orders.TryGetValue((seed, epoch), out var order)) return order;
            order = Enumerable.Range(0, _train.Count).ToArray();
            new Random(unchecked((int)(seed * 1_000_003 + epoch * 7_919))).Shuffle(order);   // seeded System.Random repeats on every machine
            return _orders[(seed, epoch)] = order;
        }
    }
}
