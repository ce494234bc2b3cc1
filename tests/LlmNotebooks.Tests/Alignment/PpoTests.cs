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
        // each refusal says why the setting matters, not only which number was wrong
        Assert.Contains("β is the price per nat of KL divergence from the reference model",
                        Assert.Throws<ArgumentException>(() => Ppo.PerTokenRewards(ones(1), m, m, m, -0.1)).Message);
        Assert.Contains("how far the probability ratio may move from 1 per update",
                        Assert.Throws<ArgumentException>(() => Ppo.ClippedPolicyLoss(m, m, m, m, 0)).Message);
        Assert.Contains("how far a value may move from its rollout-time value",
                        Assert.Throws<ArgumentException>(() => Ppo.ClippedValueLoss(m, m, m, m, -1)).Message);
    }

    /// <summary>
    /// A per-token tensor whose shape differs from the mask's is refused by the first check that sees it, naming both
    /// tensors and both shapes (a (1, 3) tensor against a (1, 2) mask; the multi-dimensional shapes show the separator).
    /// </summary>
    [Fact]
    public void Every_per_token_argument_must_have_the_masks_shape_and_the_refusal_names_both()
    {
        var m = ones(1, 2);
        var bad = ones(1, 3);
        static void Refused(string name, string other, string badShape, string otherShape, Action call)
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Equal(name, e.ParamName);
            Assert.Equal($"{name} has shape ({badShape}) but {other} has ({otherShape}); both are per-token tensors (B, T−1). (Parameter '{name}')", e.Message);
        }
        Refused("x", "mask", "1, 3", "1, 2", () => Ppo.MaskedMean(bad, m));
        Refused("x", "mask", "1, 2", "1, 3", () => Ppo.MaskedMean(m, bad));
        Refused("logProbs", "mask", "1, 3", "1, 2", () => Ppo.PerTokenRewards(ones(1), bad, m, m, 0.1));
        Refused("referenceLogProbs", "mask", "1, 3", "1, 2", () => Ppo.PerTokenRewards(ones(1), m, bad, m, 0.1));
        Refused("rewards", "mask", "1, 3", "1, 2", () => Ppo.Gae(bad, m, m));
        Refused("values", "mask", "1, 3", "1, 2", () => Ppo.Gae(m, bad, m));
        Refused("x", "mask", "1, 3", "1, 2", () => Ppo.Whiten(bad, m));
        Refused("logProbs", "mask", "1, 3", "1, 2", () => Ppo.ClippedPolicyLoss(bad, m, m, m));
        Refused("oldLogProbs", "mask", "1, 3", "1, 2", () => Ppo.ClippedPolicyLoss(m, bad, m, m));
        Refused("advantages", "mask", "1, 3", "1, 2", () => Ppo.ClippedPolicyLoss(m, m, bad, m));
        Refused("values", "mask", "1, 3", "1, 2", () => Ppo.ClippedValueLoss(bad, m, m, m));
        Refused("oldValues", "mask", "1, 3", "1, 2", () => Ppo.ClippedValueLoss(m, bad, m, m));
        Refused("returns", "mask", "1, 3", "1, 2", () => Ppo.ClippedValueLoss(m, m, bad, m));
    }

    [Fact]
    public void A_missing_tensor_is_refused_by_its_name()
    {
        var m = ones(1, 2);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Ppo.MaskedMean(null!, m)).ParamName);
        Assert.Equal("mask", Assert.Throws<ArgumentNullException>(() => Ppo.MaskedMean(m, null!)).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentNullException>(() => Ppo.Whiten(null!, m)).ParamName);
        Assert.Equal("mask", Assert.Throws<ArgumentNullException>(() => Ppo.Whiten(m, null!)).ParamName);
    }

    [Fact]
    public void Per_token_rewards_want_one_score_per_sequence()
    {
        var m = ones(2, 3);
        var column = Assert.Throws<ArgumentException>(() => Ppo.PerTokenRewards(ones(2, 1), m, m, m, 0.1));   // two dimensions, even with 2 rows
        Assert.Equal("scores", column.ParamName);
        Assert.StartsWith("Expected one score per sequence, shape (2), got (2, 1).", column.Message);
        var three = Assert.Throws<ArgumentException>(() => Ppo.PerTokenRewards(ones(3), m, m, m, 0.1));        // one dimension, wrong length
        Assert.StartsWith("Expected one score per sequence, shape (2), got (3).", three.Message);
    }

    [Fact]
    public void The_score_lands_on_the_last_response_token_even_at_position_0_and_nowhere_without_a_response()
    {
        // Row 0: a one-token prompt and a one-token response: the only response position is 0, then padding.
        // Row 1: no response position at all: its score 5 must appear nowhere (not at position 0, not as ∞).
        // Row 2: response positions 1 and 2: the score −2 lands at 2.
        var mask = T([1f, 0f, 0f], [0f, 0f, 0f], [0f, 1f, 1f]);
        var logp = zeros(3, 3);
        var r = Ppo.PerTokenRewards(tensor(new[] { 3f, 5f, -2f }), logp, logp, mask, beta: 0.1);
        Close([3f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, -2f], r);
        // the row without a response first: the others must still get their own scores
        var r2 = Ppo.PerTokenRewards(tensor(new[] { 5f, 3f }), zeros(2, 3), zeros(2, 3), T([0f, 0f, 0f], [1f, 0f, 0f]), beta: 0.1);
        Close([0f, 0f, 0f, 3f, 0f, 0f], r2);
    }

    [Fact]
    public void Gae_refuses_gamma_and_lambda_outside_0_to_1()
    {
        var m = ones(1, 2);
        var gamma = Assert.Throws<ArgumentException>(() => Ppo.Gae(m, m, m, gamma: 1.5));
        Assert.Equal("gamma", gamma.ParamName);
        Assert.StartsWith("gamma must be a finite number in [0, 1], got 1.5.", gamma.Message);
        var lambda = Assert.Throws<ArgumentException>(() => Ppo.Gae(m, m, m, lambda: -0.1));
        Assert.Equal("lambda", lambda.ParamName);
        Assert.StartsWith("lambda must be a finite number in [0, 1], got -0.1.", lambda.Message);
    }

    [Fact]
    public void Whitening_a_constant_gives_zeros_and_the_1e8_only_matters_for_tiny_variances()
    {
        // variance 0: (x − mean) = 0 divided by √(0 + 1e-8) is 0, not 0/0
        Close([0f, 0f, 0f, 0f], Ppo.Whiten(T([5f, 5f, 5f, 9f]), T([1f, 1f, 1f, 0f])));
        // 0 and 2e-4: mean 1e-4, variance 1e-8, so the denominator is √(1e-8 + 1e-8) and the result ±1/√2 (not ±1)
        Close([-0.70710678f, 0.70710678f], Ppo.Whiten(T([0f, 2e-4f]), T([1f, 1f])), 1e-4);
    }

    [Fact]
    public void The_clip_fraction_counts_exactly_the_tokens_whose_gradient_the_clip_removes()
    {
        // ε = 0.2, π_old = e^−1 everywhere (so log π_old = −1 is not 0), advantages 2 and −0.5:
        //   (ρ, A)       ρ·A     clip(ρ)·A   min      clipped?
        //   (1.5, 2)     3       2.4         2.4      yes: ρ went past 1.2 in the direction A favours
        //   (0.5, 2)     1       1.6         1        no
        //   (0.5, −0.5)  −0.25   −0.4        −0.4     yes: ρ went below 0.8 with A < 0
        //   (1.5, −0.5)  −0.75   −0.6        −0.75    no
        //   (1.1, 2)     2.2     2.2         2.2      no (inside [0.8, 1.2])
        //   (1.1, −0.5)  −0.55   −0.55       −0.55    no
        //   (0.9, 2)     1.8     1.8         1.8      no
        //   (0.9, −0.5)  −0.45   −0.45       −0.45    no
        // loss = −mean(min) = −(2.4 + 1 − 0.4 − 0.75 + 2.2 − 0.55 + 1.8 − 0.45)/8 = −5.25/8 = −0.65625; 2 of 8 clipped
        float[] ratios = [1.5f, 0.5f, 0.5f, 1.5f, 1.1f, 1.1f, 0.9f, 0.9f];
        var old = full(1, 8, -1f);
        var logp = tensor(ratios.Select(r => MathF.Log(r) - 1).ToArray(), [1, 8]);
        var adv = T([2f, 2f, -0.5f, -0.5f, 2f, -0.5f, 2f, -0.5f]);
        var (loss, clipFraction) = Ppo.ClippedPolicyLoss(logp, old, adv, ones(1, 8), 0.2);
        Assert.Equal(-0.65625, loss.item<float>(), 5);
        Assert.Equal(0.25, clipFraction, 6);
    }
}
