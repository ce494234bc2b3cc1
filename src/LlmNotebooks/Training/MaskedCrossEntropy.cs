using LlmNotebooks.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// The loss of supervised fine-tuning: cross-entropy over the predictions that a mask marks as learned, summed, then
/// divided by how many there are. Position t of row b predicts <c>targets[b, t]</c> (the next token); <c>mask[b, t]</c>
/// is 1 where that prediction is learned (a response token) and 0 where it is not (the prompt, the padding):
/// <code>
/// loss = Σ_b,t mask[b, t] · −log softmax(logits[b, t])[targets[b, t]]  /  max(1, Σ_b,t mask[b, t])
/// </code>
/// The mean is over the learned tokens of the whole batch, not per row: a long answer weighs more than a short one, and
/// a step made of several micro-batches (gradient accumulation) equals one large batch. A batch with nothing to learn
/// gives 0, never 0/0 = NaN.
/// <para>
/// The mask is PyTorch's and Hugging Face's −100 labels said another way: <see cref="Labels"/> writes it as labels, and
/// <c>cross_entropy(logits, labels, ignore_index: −100)</c> is the same number (that is how <see cref="Sum"/> computes it).
/// <see cref="ResponseTask"/>, chapter 5's instruction pairs and chapter 6's (prompt, response) pairs alike, trains with it.
/// </para>
/// </summary>
public static class MaskedCrossEntropy
{
    /// <summary>The label that means "learn nothing here" (cross-entropy's ignore index in PyTorch and Hugging Face).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>
    /// The summed loss and the count of learned predictions, what a task hands the <see cref="Trainer"/> (which divides
    /// the sum by max(1, count) over all micro-batches of a step).
    /// </summary>
    /// <param name="logits">(B, T, V): the model's scores at every position.</param>
    /// <param name="targets">(B, T) int64: the token each position should predict.</param>
    /// <param name="mask">(B, T), any dtype: 1 where the prediction is learned, 0 where it is not.</param>
    /// <exception cref="ArgumentException">Shapes that do not match, a mask with values other than 0 and 1, or a learned
    /// target outside [0, V).</exception>
    public static LossSum Sum(Tensor logits, Tensor targets, Tensor mask)
    {
        ShapeGuard.Require(logits, nameof(logits), "(B, T, V)", -1, -1, -1);
        ShapeGuard.Require(targets, nameof(targets), "the logits' (B, T)", logits.shape[0], logits.shape[1]);
        using var scope = NewDisposeScope();
        var labels = Labels(targets, mask);
        long V = logits.shape[2];
        var learned = labels.ne(IgnoreIndex);
        if (learned.logical_and(labels.lt(0).logical_or(labels.ge(V))).any().item<bool>())
            throw new ArgumentException($"targets hold ids outside [0, {V}) where the mask is 1; does the model's vocabulary match the tokenizer's?", nameof(targets));
        long count = learned.sum().item<long>();
        var sum = nn.functional.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index: IgnoreIndex, reduction: nn.Reduction.Sum);
        return new LossSum(sum.MoveToOuterDisposeScope(), count);
    }

    /// <summary>The loss itself: <see cref="Sum"/> divided by max(1, count), a scalar (0 when nothing is learned).</summary>
    public static Tensor Mean(Tensor logits, Tensor targets, Tensor mask)
    {
        var (sum, count) = Sum(logits, targets, mask);
        return sum / Math.Max(1, count);
    }

    /// <summary>
    /// (B, T) int64: the mask written as labels, the target where the mask is 1 and <see cref="IgnoreIndex"/> (−100)
    /// where it is 0. A view for reading a batch the way Hugging Face prints it; the loss is the same either way.
    /// </summary>
    public static Tensor Labels(Tensor targets, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ShapeGuard.Require(mask, nameof(mask), "the targets' (B, T)", targets.shape);
        if (targets.dtype != ScalarType.Int64) throw new ArgumentException($"targets must be int64 token ids, got {targets.dtype}.", nameof(targets));
        using var scope = NewDisposeScope();
        if (mask.ne(0).logical_and(mask.ne(1)).any().item<bool>())
            throw new ArgumentException("The mask holds values other than 0 and 1: it says which predictions are learned (1) and which are not (0); " +
                                        "it cannot weigh them.", nameof(mask));
        return targets.masked_fill(mask.eq(0), IgnoreIndex).MoveToOuterDisposeScope();
    }
}
