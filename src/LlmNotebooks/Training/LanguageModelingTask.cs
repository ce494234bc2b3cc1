using LlmNotebooks.Tensors;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// Next-token prediction on a token stream (pretraining, or continued pretraining on a new domain): every position of
/// every window predicts the token after it, and every prediction is scored. The model is a <see cref="Gpt"/>, or any
/// module that maps token ids (B, T) to logits (B, T, V). <see cref="Loss"/> and <see cref="EvaluateLoss"/> are the same
/// loss for a <see cref="Gpt"/> by hand: a batch's mean cross-entropy, and the mean over fixed validation batches.
/// </summary>
public sealed class LanguageModelingTask(TokenBatches train, TokenBatches? validation = null) : ITrainingTask
{
    public TokenBatches Train { get; } = train ?? throw new ArgumentNullException(nameof(train));
    public TokenBatches? Validation { get; } = validation;

    public string TrainFingerprint => Train.Fingerprint;
    public string? ValidationFingerprint => Validation?.Fingerprint;

    /// <summary>Windows in the training text (each start position is one example).</summary>
    public long TrainExamples => Train.WindowCount;

    public void Check(nn.Module model)
    {
        if (model is not nn.Module<Tensor, Tensor>)
            throw new ArgumentException($"Language modelling needs a module that maps token ids (B, T) to logits (B, T, V), such as a Gpt; got a {model.GetType().Name}.");
        if (model is not Gpt gpt) return;       // other modules: libtorch reports a mismatch at the first step
        foreach (var (data, name) in new[] { (Train, "training"), (Validation, "validation") })
        {
            if (data is null) continue;
            if (data.BlockSize > gpt.Config.BlockSize)
                throw new ArgumentException($"The {name} windows hold {data.BlockSize} tokens but the model's context window (BlockSize) is {gpt.Config.BlockSize}. " +
                                            $"Make the TokenBatches with blockSize ≤ {gpt.Config.BlockSize}.");
            data.RequireVocabulary(gpt.Config.VocabSize, $"{name} text");    // once here, not in every step's loss
        }
    }

    /// <summary>
    /// The step's batch is <c>parts × batchSize</c> windows drawn from (seed, step), exactly the batch one step of that
    /// size draws; micro-batch <paramref name="part"/> is its slice.
    /// </summary>
    public LossSum TrainLoss(nn.Module model, int step, int part, int parts, int batchSize, long seed)
    {
        var (x, y) = Train.Random(batchSize * parts, seed, step);
        if (parts > 1) (x, y) = (x.narrow(0, (long)part * batchSize, batchSize), y.narrow(0, (long)part * batchSize, batchSize));
        return Score(model, x, y);
    }

    public LossSum ValidationLoss(nn.Module model, int index, int batches, int batchSize)
    {
        var data = Validation ?? throw new InvalidOperationException("This task has no validation data.");
        var (x, y) = data.Evenly(batchSize, index, batches);
        return Score(model, x, y);
    }

    static LossSum Score(nn.Module model, Tensor x, Tensor y)
    {
        var logits = ((nn.Module<Tensor, Tensor>)model).forward(x);
        var sum = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), y.reshape(-1), reduction: nn.Reduction.Sum);
        return new LossSum(sum, y.numel());
    }

    /// <summary>
    /// Mean cross-entropy (nats per token) of the model's next-token predictions: input (B, T), targets (B, T), every
    /// target an id in [0, VocabSize) (checked: a −100 would be silently skipped as cross-entropy's ignore index).
    /// </summary>
    public static Tensor Loss(Gpt model, Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ShapeGuard.Require(target, "target", "the input's (B, T)", input.shape);
        ShapeGuard.RequireTokenIds(target, "target", model.Config.VocabSize, model.Config.BlockSize, "the context window (BlockSize)");
        return CrossEntropy(model, input, target);
    }

    /// <summary><see cref="Loss"/> on targets already known to be in the vocabulary (the trainer checks its data once).</summary>
    static Tensor CrossEntropy(Gpt model, Tensor input, Tensor target)
    {
        var logits = model.forward(input);
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), target.reshape(-1));
    }

    /// <summary>Mean loss of <paramref name="model"/> over <paramref name="batches"/> fixed batches of <paramref name="data"/> (eval mode, no gradients).</summary>
    public static double EvaluateLoss(Gpt model, TokenBatches data, int batchSize = 16, int batches = 8)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        data.RequireVocabulary(model.Config.VocabSize);
        using var eval = model.EvalScope();
        double sum = 0;
        for (int i = 0; i < batches; i++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = data.Evenly(batchSize, i, batches);
            sum += CrossEntropy(model, x, y).item<float>();
        }
        return sum / batches;
    }
}
