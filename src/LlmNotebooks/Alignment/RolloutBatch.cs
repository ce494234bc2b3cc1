using LlmNotebooks.Generation;
using LlmNotebooks.Training;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>
/// What one round of sampling produced: the completions, the same sequences packed for scoring, and their log-probabilities
/// under the policy that sampled them (π_old of PPO and GRPO, the denominator of the importance ratio).
/// </summary>
public sealed class RolloutBatch : IDisposable
{
    /// <summary>Prompt-major: prompt 0's samples, then prompt 1's, …</summary>
    public IReadOnlyList<Completion> Completions { get; }
    /// <summary>Each prompt + response as written (the stop token included where the completion finished, so it is scored too).</summary>
    public ResponseBatch Batch { get; }
    /// <summary>(B, T − 1), detached: the per-token log-probabilities under the sampling policy (at temperature 1).</summary>
    public Tensor OldLogProbs { get; }

    public RolloutBatch(IReadOnlyList<Completion> completions, ResponseBatch batch, Tensor oldLogProbs)
    {
        Completions = completions; Batch = batch; OldLogProbs = oldLogProbs;
    }

    public void Dispose()
    {
        Batch.Dispose();
        OldLogProbs.Dispose();
    }
}
