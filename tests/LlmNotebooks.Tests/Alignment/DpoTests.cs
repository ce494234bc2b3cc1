using LlmNotebooks.Alignment;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment;

public class DpoTests
{
    [Fact]
    public void The_loss_matches_a_hand_computation()
    {
        // β = 0.5.
        // Pair 0: policy (c, r) = (−10, −12), reference (−11, −11): margin 0.5·((−10 + 11) − (−12 + 11)) = 0.5·2 = 1
        //         loss −log σ(1) = log(1 + e^−1) = 0.3132617
        // Pair 1: policy (−5, −4), reference (−5, −5): margin 0.5·(0 − 1) = −0.5, loss log(1 + e^0.5) = 0.9740770
        // mean loss 0.6436693, mean margin 0.25, pair accuracy ½
        var pc = tensor(new[] { -10f, -5f }).requires_grad_(true);
        var pr = tensor(new[] { -12f, -4f }).requires_grad_(true);
        var (loss, margin, accuracy) = Dpo.Loss(pc, pr, tensor(new[] { -11f, -5f }), tensor(new[] { -11f, -5f }), beta: 0.5);
        Assert.Equal(0.6436693, loss.item<float>(), 5);
        Assert.Equal(0.25, margin, 6);
        Assert.Equal(0.5, accuracy, 6);
        // ∂loss/∂log π_c = −β·σ(−margin)/B: pair 0 −0.5·0.2689414/2 = −0.0672354; pair 1 −0.5·0.6224593/2 = −0.1556148
        loss.backward();
        Assert.Equal(-0.0672354, pc.grad![0].item<float>(), 5);
        Assert.Equal(-0.1556148, pc.grad![1].item<float>(), 5);
        Assert.Equal(0.0672354, pr.grad![0].item<float>(), 5);   // and the rejected answer is pushed down as hard
    }

    [Fact]
    public void Equal_policy_and_reference_give_log_2()
    {
        var x = tensor(new[] { -3f, -7f, -1f });
        var (loss, margin, _) = Dpo.Loss(x, x - 1, x, x - 1, beta: 0.1);
        Assert.Equal(Math.Log(2), loss.item<float>(), 5);
        Assert.Equal(0, margin, 6);
    }

    [Fact]
    public void Beta_must_be_positive()
    {
        var x = zeros(2);
        var e = Assert.Throws<ArgumentException>(() => Dpo.Loss(x, x, x, x, beta: 0));
        Assert.Contains("beta must be a finite number > 0", e.Message);
        Assert.Contains("shape", Assert.Throws<ArgumentException>(() => Dpo.Loss(x, zeros(3), x, x)).Message);
        Assert.Contains("β scales the implicit reward β·log(π/π_ref)", e.Message);
    }

    [Fact]
    public void Each_tensor_is_compared_with_policyChosen_and_named_with_both_shapes()
    {
        var pc = zeros(2, 3);
        var other = zeros(3, 2);
        foreach (var (name, call) in new (string, Func<object>)[]
                 {
                     ("policyRejected", () => Dpo.Loss(pc, other, pc, pc)),
                     ("referenceChosen", () => Dpo.Loss(pc, pc, other, pc)),
                     ("referenceRejected", () => Dpo.Loss(pc, pc, pc, other)),
                 })
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Equal(name, e.ParamName);
            Assert.Equal($"{name} has shape (3, 2) but policyChosen has (2, 3): one summed log-probability per pair. (Parameter '{name}')", e.Message);
        }
    }
}
