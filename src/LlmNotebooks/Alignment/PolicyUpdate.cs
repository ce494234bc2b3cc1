using System.Globalization;
using LlmNotebooks.Tensors;
using LlmNotebooks.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>
/// One gradient update of a module after sampling, the one <see cref="PpoTrainer"/> (policy and critic) and
/// <see cref="GrpoTrainer"/> share; offline methods (the reward model, DPO) take the same steps inside the
/// <see cref="Trainer"/>. Each <see cref="Step"/>:
/// <list type="number">
/// <item>computes the loss in training mode (dropout on);</item>
/// <item>checks that it is finite, backpropagates, and clips the global gradient norm to <see cref="GradClip"/>
/// (0 = no clipping), checking that the norm is finite too;</item>
/// <item>lets AdamW (no weight decay) update the module's parameters that require a gradient;</item>
/// <item>puts the module's mode back as it found it.</item>
/// </list>
/// A non-finite loss or gradient norm stops with a <see cref="TrainingDivergedException"/> that names the step and the
/// likely cause, before the optimizer runs: the parameters stay as they were.
/// <code>
/// using var update = new PolicyUpdate(policy, learningRate: 1e-4, gradClip: 1.0, method: "GRPO");
/// update.Step(() => Grpo.Loss(SequenceLogProbs.PerToken(policy, batch), old, reference, advantages, mask, 0.2, 0.04), step);
/// </code>
/// </summary>
public sealed class PolicyUpdate : IDisposable
{
    readonly AdamW _optimizer;
    readonly List<(string Name, Parameter Parameter)> _parameters;
    readonly string _method, _role, _learningRateName;

    /// <summary>The module this update trains.</summary>
    public nn.Module Module { get; }
    /// <summary>AdamW's learning rate.</summary>
    public double LearningRate { get; }
    /// <summary>The global gradient norm is clipped to this before the step (0 = no clipping).</summary>
    public double GradClip { get; }

    /// <param name="module">The module to train: its parameters that require a gradient, in the order it lists them.</param>
    /// <param name="learningRate">AdamW's learning rate (&gt; 0).</param>
    /// <param name="gradClip">The largest global gradient norm (≥ 0; 0 turns clipping off).</param>
    /// <param name="method">The method's name in messages ("PPO", "GRPO").</param>
    /// <param name="role">What the module is in messages ("policy", "critic"), and the name of a refused argument.</param>
    /// <param name="learningRateName">The option a message tells the reader to lower ("LearningRate", "ValueLearningRate").</param>
    /// <exception cref="ArgumentException">Every parameter of the module is frozen, or a setting out of range.</exception>
    public PolicyUpdate(nn.Module module, double learningRate, double gradClip, string method, string role = "policy", string learningRateName = "LearningRate")
    {
        ArgumentNullException.ThrowIfNull(module, role);
        Guard.Positive(learningRate, nameof(learningRate));
        Guard.Finite(gradClip, nameof(gradClip), min: 0, hint: "0 turns clipping off.");
        Module = module;
        LearningRate = learningRate;
        GradClip = gradClip;
        _method = method;
        _role = role;
        _learningRateName = learningRateName;
        _parameters = module.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        if (_parameters.Count == 0)
            throw new ArgumentException($"Every parameter of the {role} is frozen: there is nothing for {method} to train.", role);
        _optimizer = optim.AdamW(_parameters.Select(p => p.Parameter), lr: learningRate, weight_decay: 0);
    }

    /// <summary>
    /// One update on the loss that <paramref name="loss"/> computes (a scalar; it runs in training mode, so do the
    /// module's forward pass inside it). <paramref name="step"/> is the caller's step number, for messages. Returns the
    /// loss and the gradient norm before clipping.
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss or the gradient norm is NaN or ±∞; nothing was updated.</exception>
    public (double Loss, double GradNorm) Step(Func<Tensor> loss, int step)
    {
        ArgumentNullException.ThrowIfNull(loss);
        using var training = Module.TrainScope();
        _optimizer.zero_grad();
        var value = loss();
        double lossValue = value.item<float>();
        if (!double.IsFinite(lossValue))
            throw NonFiniteWeight() is { } bad
                ? Diverged(step, $"the {_role}'s loss is {Guard.Show(lossValue)} because its weights are non-finite ('{bad}' holds NaN or ∞)")
                : Diverged(step, $"the {_role}'s loss is {Guard.Show(lossValue)} although its weights are finite: the forward pass overflowed");
        value.backward();
        var trained = _parameters.Select(p => p.Parameter).ToList();
        double norm = GradClip > 0 ? nn.utils.clip_grad_norm_(trained, GradClip) : GradientNorm(trained);
        if (!double.IsFinite(norm))
            throw Diverged(step, $"the {_role}'s gradient norm is {Guard.Show(norm)} (the loss was {Guard.Show(lossValue)}): the gradients overflowed");
        _optimizer.step();
        return (lossValue, norm);
    }

    static double GradientNorm(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        var norms = parameters.Where(p => p.grad is not null).Select(p => p.grad!.norm()).ToArray();
        return norms.Length == 0 ? 0 : stack(norms).norm().item<float>();
    }

    string? NonFiniteWeight()
    {
        using var scope = NewDisposeScope();
        foreach (var (name, p) in Module.named_parameters())
            if (p.is_floating_point() && !isfinite(p).all().item<bool>()) return name;
        return null;
    }

    TrainingDivergedException Diverged(int step, string what)
    {
        string cause = GradClip > 0
            ? string.Create(CultureInfo.InvariantCulture, $"Likely cause: the learning rate ({LearningRate:G3}) is too high for this model; lower {_learningRateName}.")
            : string.Create(CultureInfo.InvariantCulture,
                            $"Likely cause: the learning rate ({LearningRate:G3}) is too high and clipping is off (GradClip = 0); lower {_learningRateName} or set GradClip = 1.");
        return new TrainingDivergedException(step, $"{_method} stopped at step {step} (0-based): {what}. This update was not applied. {cause}");
    }

    public void Dispose() => _optimizer.Dispose();
}
