using LlmNotebooks.Alignment;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment;

public class PpoTests
{
    static Tensor T(params float[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    static void Close(float[] expected, Tensor actual, double tolerance = 1e-5)
    {
        var a = actual.reshape(-1).data<float>().ToArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(expected[i] - a[i]) < tolerance, $"element {i}: expected {expected[i]}, got {a[i]}");
    }

    [Fact]
    public void Gae_matches_a_hand_worked_example()
    {
        // γ = 0.9, λ = 0.8, so γλ = 0.72.
        // Row 0: a prompt position (mask 0), then three response tokens with rewards 0.1, −0.2, 1.0 and values 0.5, 0.4, 0.3.
        //   t = 3: δ = 1.0 + 0.9·0 − 0.3 = 0.7 (nothing after the last token)        A = 0.7
        //   t = 2: δ = −0.2 + 0.9·0.3 − 0.4 = −0.33                                   A = −0.33 + 0.72·0.7 = 0.174
        //   t = 1: δ = 0.1 + 0.9·0.4 − 0.5 = −0.04                                    A = −0.04 + 0.72·0.174 = 0.08528
        //   t = 0: masked                                                             A = 0
        //   returns A + V: 0, 0.58528, 0.574, 1.0
        // Row 1: two response tokens, then padding (its values 7 must not leak in).
        //   t = 1: δ = 2 + 0.9·0 − 1 = 1                                              A = 1
        //   t = 0: δ = 0.5 + 0.9·1 − 1 = 0.4                                          A = 0.4 + 0.72·1 = 1.12
        //   returns: 2.12, 2, 0, 0
        var rewards = T([0f, 0.1f, -0.2f, 1.0f], [0.5f, 2f, 0f, 0f]);
        var values = T([9f, 0.5f, 0.4f, 0.3f], [1f, 1f, 7f, 7f]);
        var mask = T([0f, 1f, 1f, 1f], [1f, 1f, 0f, 0f]);
        var (advantages, returns) = Ppo.Gae(rewards, values, mask, gamma: 0.9, lambda: 0.8);
        Close([0f, 0.08528f, 0.174f, 0.7f, 1.12f, 1f, 0f, 0f], advantages);
        Close([0f, 0.58528f, 0.574f, 1.0f, 2.12f, 2f, 0f, 0f], returns);
    }

    [Fact]
    public void Gae_with_lambda_1_is_the_return_minus_the_value_and_with_lambda_0_is_delta()
    {
        var rewards = T([1f, 2f, 3f]);
        var values = T([0.5f, 0.25f, 1f]);
        var mask = T([1f, 1f, 1f]);
        // λ = 1, γ = 1: A_t = Σ_{k≥t} r_k − V_t = 6 − 0.5, 5 − 0.25, 3 − 1
        Close([5.5f, 4.75f, 2f], Ppo.Gae(rewards, values, mask, 1, 1).Advantages);
        // λ = 0, γ = 1: A_t = r_t + V_{t+1} − V_t = 1 + 0.25 − 0.5, 2 + 1 − 0.25, 3 − 1
        Close([0.75f, 2.75f, 2f], Ppo.Gae(rewards, values, mask, 1, 0).Advantages);
    }

    [Fact]
    public void Whitening_uses_only_the_masked_positions()
    {
        // mean of 1, 2, 3 is 2, population variance 2/3: (x − 2)/√(2/3) = −1.2247, 0, 1.2247; the masked 100 becomes 0
        var w = Ppo.Whiten(T([1f, 2f, 3f, 100f]), T([1f, 1f, 1f, 0f]));
        Close([-1.2247449f, 0f, 1.2247449f, 0f], w);
    }

    [Fact]
    public void The_clipped_objective_on_a_hand_case()
    {
        // four tokens, ε = 0.2: (ratio, A) = (1.5, +1), (0.5, +1), (0.5, −1), (1.5, −1)
        //   −A·ρ:          −1.5, −0.5,  0.5,  1.5
        //   −A·clip(ρ):    −1.2, −0.8,  0.8,  1.2
        //   max (pessimistic): −1.2, −0.5, 0.8, 1.5 → mean 0.15; clipping active on tokens 0 and 2
        // gradient w.r.t. log π: 0 where clipped; −A·ρ/4 elsewhere: −0.125 (token 1), +0.375 (token 3)
        var old = zeros(1, 4);
        var logp = tensor(new[] { MathF.Log(1.5f), MathF.Log(0.5f), MathF.Log(0.5f), MathF.Log(1.5f) }, [1, 4]).requires_grad_(true);
        var adv = T([1f, 1f, -1f, -1f]);
        var (loss, clipFraction) = Ppo.ClippedPolicyLoss(logp, old, adv, ones(1, 4), 0.2);
        Assert.Equal(0.15, loss.item<float>(), 5);
        Assert.Equal(0.5, clipFraction, 6);
        loss.backward();
        Close([0f, -0.125f, 0f, 0.375f], logp.grad!);
    }

    [Fact]
    public void The_clipped_value_loss_on_a_hand_case()
    {
        // old 0, new 1, return 2, ε = 0.2: unclipped (1 − 2)² = 1, clipped (0.2 − 2)² = 3.24 → ½·3.24 = 1.62
        // old 0, new 0.1, return 0: (0.1)² = 0.01 both → 0.005. Mean over the two tokens: 0.8125
        var loss = Ppo.ClippedValueLoss(T([1f, 0.1f]), T([0f, 0f]), T([2f, 0f]), T([1f, 1f]), 0.2);
        Assert.Equal(0.8125, loss.item<float>(), 5);
    }

    [Fact]
    public void Per_token_rewards_pay_the_kl_price_and_the_score_at_the_last_token()
    {
        // β = 0.1: −0.1·(log π − log π_ref) = 0, −0.05, +0.1, 0 on the response; the score 2 lands at the last response position.
        // Row 1 ends earlier (padding after position 1): its score −1 lands at position 1.
        var logp = T([0f, -1f, -2f, -0.5f], [-1f, -1f, 0f, 0f]);
        var reference = T([0f, -1.5f, -1f, -0.5f], [-1f, -2f, 0f, 0f]);
        var mask = T([0f, 1f, 1f, 1f], [1f, 1f, 0f, 0f]);
        var r = Ppo.PerTokenRewards(tensor(new[] { 2f, -1f }), logp, reference, mask, beta: 0.1);
        Close([0f, -0.05f, 0.1f, 2.0f, 0f, -1.1f, 0f, 0f], r);
    }

    [Fact]
    public void Bad_beta_and_epsilon_are_refused_with_the_reason()
    {
        var m = ones(1, 2);
        Assert.Contains("beta must be a finite number ≥ 0", Assert.Throws<ArgumentException>(() => Ppo.PerTokenRewards(ones(1), m, m, m, -0.1)).Message);
        Assert.Contains("epsilon must be a finite number > 0", Assert.Throws<ArgumentException>(() => Ppo.ClippedPolicyLoss(m, m, m, m, 0)).Message);
        Assert.Contains("epsilon must be a finite number > 0", Assert.Throws<ArgumentException>(() => Ppo.ClippedValueLoss(m, m, m, m, -1)).Message);
        Assert.Contains("(B, T−1)", Assert.Throws<ArgumentException>(() => Ppo.Whiten(ones(1, 3), m)).Message);
    }
}
