using LlmNotebooks.Alignment;
using LlmNotebooks.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment;

/// <summary>
/// The update PPO and GRPO share: one AdamW step on a checked loss, clipped by the option, in training mode with the
/// module's mode put back, and nothing applied when a number is not finite.
/// </summary>
public class PolicyUpdateTests
{
    /// <summary>y = w·x with w a 1×2 weight (no bias), starting at (1, −2).</summary>
    static Linear Module()
    {
        var linear = nn.Linear(2, 1, hasBias: false);
        using (no_grad()) linear.weight!.copy_(tensor(new[] { 1f, -2f }).reshape(1, 2));
        return linear;
    }

    static float[] Weights(Linear m) => m.weight!.data<float>().ToArray();

    [Fact]
    public void One_step_is_AdamW_without_weight_decay_and_returns_the_loss_and_the_unclipped_gradient_norm()
    {
        // loss = w·(3, 4): gradient (3, 4), norm 5. Without clipping AdamW's first step moves each weight by
        // lr·g/(|g| + 1e-8), that is by −lr·sign(g): 1 → 0.9, −2 → −2.1 at lr 0.1.
        using var m = Module();
        using var update = new PolicyUpdate(m, learningRate: 0.1, gradClip: 0, method: "PPO");
        var (loss, norm) = update.Step(() => m.forward(tensor(new[] { 3f, 4f }).reshape(1, 2)).sum(), step: 0);
        Assert.Equal(1 * 3 - 2 * 4, loss, 5);
        Assert.Equal(5, norm, 5);
        Assert.Equal([0.9f, -2.1f], Weights(m).Select(w => MathF.Round(w, 5)));
    }

    [Fact]
    public void The_gradient_is_clipped_to_the_grad_clip_given()
    {
        // clipped to norm 1e-12 the gradient (3, 4)·2e-13 is far below AdamW's ε of 1e-8: the weights barely move
        using var m = Module();
        using var update = new PolicyUpdate(m, learningRate: 0.1, gradClip: 1e-12, method: "GRPO");
        var (_, norm) = update.Step(() => m.forward(tensor(new[] { 3f, 4f }).reshape(1, 2)).sum(), step: 0);
        Assert.Equal(5, norm, 5);                                                   // the norm before clipping
        Assert.All(Weights(m).Zip([1f, -2f]), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-5, $"moved {p.First - p.Second}"));
    }

    [Fact]
    public void The_loss_runs_in_training_mode_and_the_mode_found_comes_back()
    {
        using var m = Module();
        using var update = new PolicyUpdate(m, learningRate: 0.1, gradClip: 1, method: "GRPO");
        var seen = new List<bool>();
        Tensor Loss() { seen.Add(m.training); return m.forward(ones(1, 2)).sum(); }
        m.eval();
        update.Step(Loss, 0);
        Assert.False(m.training);
        m.train();
        update.Step(Loss, 1);
        Assert.True(m.training);
        m.eval();
        Assert.Throws<TrainingDivergedException>(() => update.Step(() => Loss() * float.NaN, 2));
        Assert.False(m.training, "and after a refused update too");
        Assert.Equal([true, true, true], seen);
    }

    [Fact]
    public void A_non_finite_loss_changes_nothing_and_the_message_names_the_step_the_cause_and_the_option()
    {
        using var m = Module();
        using var update = new PolicyUpdate(m, learningRate: 1e-3, gradClip: 1, method: "PPO");
        var e = Assert.Throws<TrainingDivergedException>(() => update.Step(() => m.forward(ones(1, 2)).sum() * float.PositiveInfinity, step: 7));
        Assert.Equal(7, e.Step);
        Assert.Equal("PPO stopped at step 7 (0-based): the policy's loss is −∞ although its weights are finite: the forward pass overflowed. " +
                     "This update was not applied. Likely cause: the learning rate (0.001) is too high for this model; lower LearningRate.", e.Message);
        Assert.Equal([1f, -2f], Weights(m));

        // the same update afterwards is an ordinary first AdamW step: the refused one left no trace in the optimizer
        update.Step(() => m.forward(ones(1, 2)).sum(), step: 8);
        Assert.Equal([0.999f, -2.001f], Weights(m).Select(w => MathF.Round(w, 6)));
    }

    [Fact]
    public void Non_finite_weights_and_an_overflowing_gradient_are_named_and_clipping_off_is_mentioned()
    {
        using var m = Module();
        using var critic = new PolicyUpdate(m, learningRate: 0.5, gradClip: 0, method: "PPO", role: "critic", learningRateName: "ValueLearningRate");
        // √(w − w) is 0 but its gradient 1/(2·√0) is ∞
        var e = Assert.Throws<TrainingDivergedException>(() => critic.Step(() => (m.weight! - m.weight!.detach()).sqrt().sum(), step: 2));
        Assert.Equal("PPO stopped at step 2 (0-based): the critic's gradient norm is +∞ (the loss was 0): the gradients overflowed. This update was not applied. " +
                     "Likely cause: the learning rate (0.5) is too high and clipping is off (GradClip = 0); lower ValueLearningRate or set GradClip = 1.", e.Message);
        Assert.Equal([1f, -2f], Weights(m));

        using (no_grad()) m.weight![0, 1] = float.NaN;
        e = Assert.Throws<TrainingDivergedException>(() => critic.Step(() => m.forward(ones(1, 2)).sum(), step: 3));
        Assert.StartsWith("PPO stopped at step 3 (0-based): the critic's loss is NaN because its weights are non-finite ('weight' holds NaN or ∞).", e.Message);
    }

    [Fact]
    public void A_frozen_module_and_bad_settings_are_refused_by_name()
    {
        using var m = Module();
        m.weight!.requires_grad = false;
        var frozen = Assert.Throws<ArgumentException>(() => new PolicyUpdate(m, 0.1, 1, "GRPO"));
        Assert.Equal("policy", frozen.ParamName);
        Assert.StartsWith("Every parameter of the policy is frozen: there is nothing for GRPO to train.", frozen.Message);
        m.weight!.requires_grad = true;
        Assert.StartsWith("learningRate must be a finite number > 0, got 0.", Assert.Throws<ArgumentException>(() => new PolicyUpdate(m, 0, 1, "PPO")).Message);
        Assert.StartsWith("gradClip must be a finite number ≥ 0, got NaN.", Assert.Throws<ArgumentException>(() => new PolicyUpdate(m, 0.1, double.NaN, "PPO")).Message);
        Assert.Equal("critic", Assert.Throws<ArgumentNullException>(() => new PolicyUpdate(null!, 0.1, 1, "PPO", "critic")).ParamName);
    }
}
