using BenchmarkDotNet.Attributes;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Benchmarks;

/// <summary>
/// One AdamW training step of the course's GPT at nanoGPT's "baby" config (4 layers × 4 heads × 128, context 64,
/// batch 12, vocabulary 65), and, in the same run, the fp32 matrix-multiply peak it is compared with.
/// </summary>
public class GptTrainingStep
{
    public const int Batch = 12;
    public const int MatMulSize = 2048;

    Gpt _model = null!;
    optim.Optimizer _optimizer = null!;
    Tensor _x = null!, _y = null!, _a = null!, _b = null!;

    [GlobalSetup]
    public void Setup()
    {
        torch.manual_seed(1234);
        var config = GptConfig.Baby;
        _model = new Gpt(config);
        _optimizer = optim.AdamW(_model.parameters(), lr: 1e-3, weight_decay: 0.1);
        var tokens = randint(0, config.VocabSize, new long[] { Batch, config.BlockSize + 1 });
        _x = tokens[.., ..^1].contiguous().DetachFromDisposeScope();
        _y = tokens[.., 1..].contiguous().DetachFromDisposeScope();
        _a = randn(MatMulSize, MatMulSize).DetachFromDisposeScope();
        _b = randn(MatMulSize, MatMulSize).DetachFromDisposeScope();
    }

    [Benchmark(Description = "GPT baby: one AdamW training step (B = 12, T = 64)")]
    public float TrainStep()
    {
        using var scope = NewDisposeScope();
        _optimizer.zero_grad();
        var logits = _model.forward(_x);
        var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), _y.reshape(-1));
        loss.backward();
        _optimizer.step();
        return loss.item<float>();
    }

    [Benchmark(Description = "fp32 matmul 2048 × 2048 (the peak)")]
    public void MatMul()
    {
        using var scope = NewDisposeScope();
        torch.mm(_a, _b);
    }

    /// <summary>
    /// Floating-point operations of one training step, by nanoGPT's estimate: per token 6N (forward and backward
    /// through every weight) + 12·L·H·hs·T (attention scores and weighted sums), times the B·T tokens of the batch.
    /// N counts every parameter but the position embeddings.
    /// </summary>
    public static double TrainStepFlops(GptConfig c, int batch)
    {
        double n = c.ParameterCount() - (double)c.BlockSize * c.Channels;
        double perToken = 6 * n + 12.0 * c.Layers * c.Channels * c.BlockSize;   // H·hs = C
        return perToken * c.BlockSize * batch;
    }

    public static double MatMulFlops => 2.0 * MatMulSize * MatMulSize * MatMulSize;
}
