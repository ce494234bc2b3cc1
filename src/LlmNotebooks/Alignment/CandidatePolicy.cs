namespace LlmNotebooks.Alignment;

/// <summary>
/// The smallest policy there is, for the seed's example: the answer to «Столица Франции?» is one of a few candidates
/// («Париж», «Марсель», «Лион», «Берлин»), chosen with probabilities softmax(logits). It learns by REINFORCE
/// (Williams, 1992): sample an answer a, get a reward r from the environment, and move the logits along
/// (r − b)·∇ log π(a), where ∇ log π(a) with respect to the logits is onehot(a) − π and b is a baseline (the average
/// reward so far), so that better-than-usual answers become more likely and worse ones less. Plain doubles, no tensors:
/// the whole algorithm is the few lines of <see cref="Step"/>.
/// <code>
/// var policy = new CandidatePolicy(["Париж", "Марсель", "Лион", "Берлин"]);
/// var random = new Random(1);
/// for (int i = 0; i &lt; 200; i++) policy.Step(random, a => a == "Париж" ? 1 : -1, learningRate: 0.5);
/// policy.Probabilities()[0]   // close to 1
/// </code>
/// </summary>
public sealed class CandidatePolicy
{
    readonly double[] _logits;
    double _rewardSum;

    public IReadOnlyList<string> Candidates { get; }

    /// <summary>The current logits (a copy).</summary>
    public double[] Logits => (double[])_logits.Clone();

    /// <summary>How many steps have been taken (the baseline averages their rewards).</summary>
    public int Steps { get; private set; }

    /// <summary>A policy over <paramref name="candidates"/>, uniform unless <paramref name="logits"/> are given.</summary>
    public CandidatePolicy(IReadOnlyList<string> candidates, IReadOnlyList<double>? logits = null)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count < 2) throw new ArgumentException($"A policy needs at least two candidate answers to choose between; got {candidates.Count}.", nameof(candidates));
        if (logits is not null && logits.Count != candidates.Count)
            throw new ArgumentException($"Expected one logit per candidate ({candidates.Count}), got {logits.Count}.", nameof(logits));
        Candidates = candidates.ToArray();
        _logits = logits?.ToArray() ?? new double[candidates.Count];
        foreach (double l in _logits) Guard.Finite(l, nameof(logits));
    }

    /// <summary>π = softmax(logits), computed stably (the largest logit subtracted first).</summary>
    public double[] Probabilities()
    {
        double max = _logits.Max();
        var e = _logits.Select(l => Math.Exp(l - max)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    /// <summary>Draws a candidate's index with probability π.</summary>
    public int Sample(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var p = Probabilities();
        double u = random.NextDouble(), cumulative = 0;
        for (int i = 0; i < p.Length; i++)
        {
            cumulative += p[i];
            if (u < cumulative) return i;
        }
        return p.Length - 1;
    }

    /// <summary>∇ log π(a) with respect to the logits: onehot(a) − π. Example: π = (0.5, 0.5), a = 0 → (0.5, −0.5).</summary>
    public double[] GradLogProbability(int action)
    {
        if (action < 0 || action >= _logits.Length) throw new ArgumentOutOfRangeException(nameof(action), $"Expected a candidate index in [0, {_logits.Length - 1}], got {action}.");
        var g = Probabilities().Select(p => -p).ToArray();
        g[action] += 1;
        return g;
    }

    /// <summary>
    /// One REINFORCE step: sample an answer, ask <paramref name="reward"/> about it, and update
    /// logits += learningRate · (r − b) · (onehot(a) − π), with b the mean reward of the earlier steps (0 at first;
    /// none when <paramref name="useBaseline"/> is false). Returns the answer and its reward.
    /// </summary>
    public (string Answer, double Reward) Step(Random random, Func<string, double> reward, double learningRate, bool useBaseline = true)
    {
        ArgumentNullException.ThrowIfNull(reward);
        Guard.Positive(learningRate, nameof(learningRate));
        int a = Sample(random);
        double r = reward(Candidates[a]);
        if (!double.IsFinite(r)) throw new ArgumentException($"The reward for \"{Candidates[a]}\" is {Guard.Show(r)}; a reward must be a finite number.", nameof(reward));
        double baseline = useBaseline && Steps > 0 ? _rewardSum / Steps : 0;
        var g = GradLogProbability(a);
        for (int i = 0; i < _logits.Length; i++) _logits[i] += learningRate * (r - baseline) * g[i];
        _rewardSum += r;
        Steps++;
        return (Candidates[a], r);
    }
}
