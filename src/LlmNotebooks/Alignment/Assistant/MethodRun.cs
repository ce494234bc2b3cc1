using System.Diagnostics;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;

namespace LlmNotebooks.Alignment.Assistant;

/// <summary>
/// One alignment method's run on the <see cref="AssistantTask"/>, as chapter 6 compares them: the policy it trained, its
/// scores along the way (step 0 is the start), the seconds its steps took (evaluation not counted), and the bytes of model
/// state the method keeps (computed by the caller from parameter counts: weights, gradients and AdamW's two moments for
/// what it trains, weights for what it only reads).
/// </summary>
public sealed record MethodRun(string Method, Gpt Policy, IReadOnlyList<(int Step, PolicyReport Report)> Curve, double Seconds, long StateBytes)
{
    /// <summary>The last evaluation.</summary>
    public PolicyReport Final => Curve[^1].Report;

    /// <summary>
    /// Runs <paramref name="steps"/> calls of <paramref name="step"/> (given the 0-based step number), evaluates the policy
    /// with <paramref name="evaluate"/> after every <paramref name="evalEvery"/>-th, and shows progress through
    /// <see cref="Trainer.StartProgress"/> (a live line in a notebook, plain lines elsewhere).
    /// </summary>
    /// <param name="method">The name shown on the progress line and in tables.</param>
    /// <param name="policy">The policy that <paramref name="step"/> trains; it is what gets evaluated.</param>
    /// <param name="step">One training step of the method, given the 0-based step number.</param>
    /// <param name="evaluate">Scores a policy (the same questions and seed every time, so the curve compares like with like).</param>
    /// <param name="start">The evaluation at step 0 (all methods start from the same model, so it is computed once).</param>
    /// <param name="stateBytes">The model state the method keeps, computed by the caller.</param>
    /// <param name="steps">How many steps to run.</param>
    /// <param name="evalEvery">Evaluate after every this many steps (1 to <paramref name="steps"/>).</param>
    public static MethodRun Run(string method, Gpt policy, Action<int> step, Func<Gpt, PolicyReport> evaluate, PolicyReport start,
                                long stateBytes, int steps, int evalEvery)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(evaluate);
        ArgumentNullException.ThrowIfNull(start);
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), $"Expected at least 1 step, got {steps}.");
        if (evalEvery < 1 || evalEvery > steps)
            throw new ArgumentOutOfRangeException(nameof(evalEvery), $"Expected an evaluation every 1 to {steps} steps, got {evalEvery}.");
        if (stateBytes < 0) throw new ArgumentOutOfRangeException(nameof(stateBytes), $"Expected a non-negative byte count, got {stateBytes}.");

        var curve = new List<(int Step, PolicyReport Report)> { (0, start) };
        double seconds = 0;
        using var progress = Trainer.StartProgress(method, steps, 0);
        for (int s = 0; s < steps; s++)
        {
            var clock = Stopwatch.StartNew();
            step(s);
            seconds += clock.Elapsed.TotalSeconds;
            if ((s + 1) % evalEvery == 0) curve.Add((s + 1, evaluate(policy)));
            progress.Report(s + 1, note: $"true {curve[^1].Report.TrueScore:F2}, RM {curve[^1].Report.RewardScore:F2}");
        }
        return new MethodRun(method, policy, curve, seconds, stateBytes);
    }
}
