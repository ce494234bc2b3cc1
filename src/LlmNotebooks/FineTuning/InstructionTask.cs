using System.Security.Cryptography;
using System.Text;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning;

/// <summary>
/// Supervised fine-tuning as a <see cref="ITrainingTask"/> for the <see cref="Trainer"/>: batches of instruction pairs in
/// the [INST] template, padded to their longest example, with labels masked on the prompt (or not, as the batcher says)
/// and on the padding. The loss is the sum of −log p(label) over the learned positions, and the Trainer divides it by
/// their count (at least 1): a batch with nothing to learn gives 0, never NaN.
/// <para>
/// Order: the training pairs are shuffled once per epoch with a seeded generator, and consecutive steps read
/// consecutive batches of that order. Example k of the whole run (k = step · parts · batchSize + part · batchSize + i)
/// is example k mod N of epoch k / N, so a step's micro-batches together are exactly one large batch (gradient
/// accumulation changes nothing but memory), and a resumed run reads the same examples.
/// </para>
/// Validation: the held-out pairs in their stored order; batch i of n is batchSize pairs from the start of the i-th of n
/// equal shares (all of them when the shares are no larger than a batch).
/// </summary>
public sealed class InstructionTask : ITrainingTask
{
    readonly IReadOnlyList<InstructionExample> _train;
    readonly IReadOnlyList<InstructionExample>? _validation;
    readonly Dictionary<(long Seed, long Epoch), int[]> _orders = [];

    public InstructionBatcher Batcher { get; }

    /// <param name="batcher">Tokenizer, context window and masking (see <see cref="InstructionBatcher"/>).</param>
    /// <param name="train">The training pairs.</param>
    /// <param name="validation">Held-out pairs for the validation loss, or null for none.</param>
    public InstructionTask(InstructionBatcher batcher, IReadOnlyList<InstructionExample> train, IReadOnlyList<InstructionExample>? validation = null)
    {
        Batcher = batcher ?? throw new ArgumentNullException(nameof(batcher));
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0) throw new ArgumentException("Fine-tuning needs at least one training pair; the list is empty.", nameof(train));
        if (validation is { Count: 0 }) throw new ArgumentException("The validation list is empty; pass null for no validation.", nameof(validation));
        _train = train;
        _validation = validation;
        TrainFingerprint = Fingerprint(train);
        ValidationFingerprint = validation is null ? null : Fingerprint(validation);
    }

    public string TrainFingerprint { get; }
    public string? ValidationFingerprint { get; }
    public long TrainExamples => _train.Count;

    string Fingerprint(IReadOnlyList<InstructionExample> examples)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes($"instructions T={Batcher.BlockSize} mask={Batcher.MaskPrompt} ids={Batcher.Ids}\n"));
        foreach (var e in examples) sha.AppendData(Encoding.UTF8.GetBytes(InstructionData.ToJsonLine(e) + "\n"));
        return $"{examples.Count} pairs, {(Batcher.MaskPrompt ? "prompt masked" : "prompt learned")}, sha256 {Convert.ToHexStringLower(sha.GetHashAndReset())[..16]}";
    }

    public void Check(nn.Module model)
    {
        if (model is not Gpt gpt)
            throw new ArgumentException($"Instruction fine-tuning trains a Gpt (with or without adapters); got a {model.GetType().Name}.", nameof(model));
        if (gpt.Config.VocabSize < Batcher.Ids.Pad + 1 || gpt.Config.VocabSize < Math.Max(Math.Max(Batcher.Ids.Bos, Batcher.Ids.InstStart), Math.Max(Batcher.Ids.InstEnd, Batcher.Ids.Eos)) + 1)
            throw new ArgumentException($"The model has {gpt.Config.VocabSize} token rows but the template's tokens go up to id {Batcher.Ids.Pad}: " +
                                        "grow it first with InstructionTemplate.GrowVocabulary(model, tokenizer.VocabSize).", nameof(model));
        if (Batcher.BlockSize > gpt.Config.BlockSize)
            throw new ArgumentException($"The batcher packs examples into {Batcher.BlockSize} tokens but the model reads at most {gpt.Config.BlockSize} (its BlockSize). " +
                                        $"Make the InstructionBatcher with blockSize ≤ {gpt.Config.BlockSize}.", nameof(model));
    }

    public LossSum TrainLoss(nn.Module model, int step, int part, int parts, int batchSize, long seed)
    {
        long first = ((long)step * parts + part) * batchSize;
        var examples = new List<InstructionExample>(batchSize);
        for (long k = first; k < first + batchSize; k++)
        {
            long epoch = k / _train.Count;
            examples.Add(_train[Order(seed, epoch)[k % _train.Count]]);
        }
        return Score(model, examples);
    }

    public LossSum ValidationLoss(nn.Module model, int index, int batches, int batchSize)
    {
        var validation = _validation ?? throw new InvalidOperationException("This task has no validation pairs.");
        if (index < 0 || index >= batches) throw new ArgumentOutOfRangeException(nameof(index), $"Expected 0 ≤ index < {batches}, got {index}.");
        int start = (int)((long)index * validation.Count / batches), end = (int)((long)(index + 1) * validation.Count / batches);
        var examples = Enumerable.Range(start, Math.Max(1, Math.Min(batchSize, end - start))).Select(i => validation[i % validation.Count]).ToList();
        return Score(model, examples);
    }

    LossSum Score(nn.Module model, IReadOnlyList<InstructionExample> examples)
    {
        var batch = Batcher.Build(examples);
        var logits = ((Gpt)model).forward(batch.Input);
        var sum = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), batch.Labels.reshape(-1),
                                              ignore_index: InstructionLoss.IgnoreIndex, reduction: nn.Reduction.Sum);
        return new LossSum(sum, batch.LearnedTokens);
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
