using LlmNotebooks.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>
/// Direct Preference Optimization (Rafailov et al. 2023): no reward model and no sampling. For a pair (chosen c,
/// rejected r) the policy's implicit reward of an answer is β·(log π(answer) − log π_ref(answer)), and the loss is the
/// Bradley–Terry loss on the difference of the two implicit rewards:
/// −log σ(β·[(log π_c − log π_ref,c) − (log π_r − log π_ref,r)]).
/// The log-probabilities are of whole responses (summed over their tokens, <see cref="SequenceLogProbs.Summed"/>).
/// </summary>
public static class Dpo
{
    /// <summary>
    /// The mean DPO loss over a batch of pairs (all arguments (B) summed log-probs), the mean implicit reward margin
    /// β·[(log π_c − log π_ref,c) − (log π_r − log π_ref,r)], and the fraction of pairs with a positive margin (pair accuracy).
    /// </summary>
    /// <exception cref="ArgumentException">β ≤ 0, or the four tensors differ in shape.</exception>
    public static (Tensor Loss, double Margin, double Accuracy) Loss(Tensor policyChosen, Tensor policyRejected, Tensor referenceChosen, Tensor referenceRejected, double beta = 0.1)
    {
        Guard.Positive(beta, nameof(beta), "β scales the implicit reward β·log(π/π_ref): larger keeps the policy closer to the reference (DPO's paper uses 0.1–0.5).");
        foreach (var (t, name) in new[] { (policyRejected, nameof(policyRejected)), (referenceChosen, nameof(referenceChosen)), (referenceRejected, nameof(referenceRejected)) })
            if (!t.shape.SequenceEqual(policyChosen.shape))
                throw new ArgumentException($"{name} has shape ({string.Join(", ", t.shape)}) but policyChosen has ({string.Join(", ", policyChosen.shape)}): one summed log-probability per pair.", name);
        var margins = beta * ((policyChosen - referenceChosen) - (policyRejected - referenceRejected));   // (B)
        var loss = -nn.functional.logsigmoid(margins).mean();
        double margin, accuracy;
        using (no_grad())
        {
            margin = margins.mean().item<float>();
            accuracy = margins.gt(0).to(float32).mean().item<float>();
        }
        return (loss, margin, accuracy);
    }
}
