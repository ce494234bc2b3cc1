using System.Security.Cryptography;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// Supervised fine-tuning on (prompt, response) token pairs as a <see cref="ITrainingTask"/>: the model reads prompt +
/// response, and only the predictions of response tokens are scored. The prompt is given, not learned. Responses should
/// end with the end token, so that the model learns to stop. This is the library's one SFT: chapter 5's instruction
/// pairs (an <c>InstructionTask</c> is a ResponseTask over pairs encoded with the [INST] template) and chapter 6's small
/// assistants and arithmetic solvers all train through it.
/// <para>
/// Batch: the pairs packed by <see cref="ResponseBatch"/> (prompt, response, then padding; its
/// <see cref="ResponseBatch.ResponseMask"/> marks the learned predictions). Loss: <see cref="MaskedCrossEntropy.Sum"/>,
/// the summed −log p of the response tokens and their count; the <see cref="Trainer"/> divides the sum by the count of
/// the whole step, so the loss is the mean over the step's learned tokens, not over rows. A pair may be one token longer
/// than the model's context window: its last token is only predicted, never read.
/// </para>
/// <para>
/// Order: the pairs are shuffled once per epoch with a seeded generator and consecutive steps read consecutive batches of
/// that order: example k of the run (k = step · parts · batchSize + part · batchSize + i) is example k mod N of epoch
/// k / N, so the micro-batches of one step together equal one large batch (gradient accumulation changes nothing but
/// memory) and a resumed run reads the same examples. Validation batch i of n reads batchSize pairs from the start of the
/// i-th of n equal shares (all of them when the shares are no larger than a batch), in their stored order.
/// </para>
/// </summary>
public class ResponseTask : ITrainingTask
{
    readonly IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Response)> _train;
    readonly IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Response)>? _validation;
    readonly EpochOrder _order;
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
        _order = new EpochOrder(train.Count);
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

    /// <summary>
    /// Refuses a model that is not a <see cref="Gpt"/>, a pair longer than its context window + 1 (the last token is
    /// only predicted), or a token id outside its vocabulary.
    /// </summary>
    public virtual void Check(nn.Module model)
    {
        if (model is not Gpt gpt)
            throw new ArgumentException($"A ResponseTask trains a Gpt; got a {model.GetType().Name}.", nameof(model));
        foreach (var (set, name) in new[] { (_train, "training"), (_validation, "validation") })
        {
            if (set is null) continue;
            for (int i = 0; i < set.Count; i++)
            {
                var (p, r) = set[i];
                if (p.Count + r.Count > gpt.Config.BlockSize + 1)
                    throw new ArgumentException($"{name} pair {i} is {p.Count} + {r.Count} = {p.Count + r.Count} tokens: the model would read {p.Count + r.Count - 1} of them " +
                                                $"(all but the last, which is only predicted), more than its context window ({gpt.Config.BlockSize}). " +
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
            pairs.Add(_train[_order[seed, k]]);
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
        // The model reads all tokens but the last (batch.Input), so a pair fits when it is at most BlockSize + 1 long.
        using var batch = ResponseBatch.Create(pairs.Select(p => p.Prompt).ToList(), pairs.Select(p => p.Response).ToList(), _pad, model.Config.BlockSize + 1);
        return MaskedCrossEntropy.Sum(model.forward(batch.Input), batch.Targets, batch.ResponseMask);
    }
}
