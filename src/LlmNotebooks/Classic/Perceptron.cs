namespace LlmNotebooks.Classic;

/// <summary>
/// Rosenblatt's perceptron (1957): one artificial neuron that outputs 1 when the weighted sum w·x + b is positive and
/// 0 otherwise, and that <em>learns</em> its weights from labelled examples with Rosenblatt's rule. For every example,
/// with target y and output ŷ:
/// <c>w ← w + η (y − ŷ) x</c> and <c>b ← b + η (y − ŷ)</c> — nothing changes when the answer is right; a wrong answer
/// pushes the weights towards (y = 1) or away from (y = 0) the input. Weights and bias start at zero, so training is
/// deterministic. When a straight line (a hyperplane) separates the two classes, the rule finds one in finitely many
/// passes (the perceptron convergence theorem); when none does, as for XOR, it never settles.
/// <code>
/// var and = new Perceptron(inputs: 2);
/// double[][] x = [[0, 0], [0, 1], [1, 0], [1, 1]];
/// var epochs = and.Train(x, [0, 0, 0, 1], maxEpochs: 20);   // the last epoch has 0 mistakes
/// and.Predict([1, 1]);                                       // 1; and.Predict([0, 1]) is 0
/// </code>
/// </summary>
public sealed class Perceptron
{
    readonly double[] _weights;

    /// <summary>The weights w, one per input (a copy).</summary>
    public IReadOnlyList<double> Weights => _weights.ToArray();

    /// <summary>The bias b (the threshold with its sign flipped).</summary>
    public double Bias { get; private set; }

    /// <summary>The step size η of the learning rule.</summary>
    public double LearningRate { get; }

    /// <summary>The number of inputs.</summary>
    public int Inputs => _weights.Length;

    /// <summary>A perceptron with <paramref name="inputs"/> inputs, all weights and the bias zero.</summary>
    public Perceptron(int inputs, double learningRate = 1.0)
    {
        if (inputs <= 0) throw new ArgumentOutOfRangeException(nameof(inputs), $"A perceptron needs at least one input, got {inputs}.");
        if (!(learningRate > 0) || double.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), $"The learning rate must be a positive number, got {learningRate}.");
        _weights = new double[inputs];
        LearningRate = learningRate;
    }

    /// <summary>A perceptron with the given weights and bias (for hand-set examples such as AND = (1, 1), −1.5).</summary>
    public Perceptron(IReadOnlyList<double> weights, double bias, double learningRate = 1.0) : this(weights.Count, learningRate)
    {
        weights.ToArray().CopyTo(_weights, 0);
        Bias = bias;
    }

    /// <summary>w·x + b. Example: weights (1, 1), bias −1.5, x = (1, 1) → 0.5.</summary>
    public double WeightedSum(IReadOnlyList<double> x)
    {
        RequireInput(x);
        double sum = Bias;
        for (int i = 0; i < _weights.Length; i++) sum += _weights[i] * x[i];
        return sum;
    }

    /// <summary>1 when w·x + b &gt; 0, else 0.</summary>
    public int Predict(IReadOnlyList<double> x) => WeightedSum(x) > 0 ? 1 : 0;

    /// <summary>
    /// Applies Rosenblatt's rule to one example and returns the error y − ŷ (0 when the prediction was right, +1 or −1
    /// when it was wrong and the weights moved).
    /// </summary>
    public int Update(IReadOnlyList<double> x, int target)
    {
        RequireTarget(target);
        int error = target - Predict(x);
        if (error != 0)
        {
            for (int i = 0; i < _weights.Length; i++) _weights[i] += LearningRate * error * x[i];
            Bias += LearningRate * error;
        }
        return error;
    }

    /// <summary>
    /// Passes over the examples in order, updating after each, until a pass makes no mistake or
    /// <paramref name="maxEpochs"/> passes are done. Returns one record per pass.
    /// </summary>
    public IReadOnlyList<PerceptronEpoch> Train(IReadOnlyList<IReadOnlyList<double>> inputs, IReadOnlyList<int> targets, int maxEpochs = 100)
    {
        RequireData(inputs, targets);
        if (maxEpochs <= 0) throw new ArgumentOutOfRangeException(nameof(maxEpochs), $"Expected a positive number of epochs, got {maxEpochs}.");
        var history = new List<PerceptronEpoch>();
        for (int epoch = 1; epoch <= maxEpochs; epoch++)
        {
            int mistakes = 0;
            for (int k = 0; k < inputs.Count; k++)
                if (Update(inputs[k], targets[k]) != 0) mistakes++;
            history.Add(new PerceptronEpoch(epoch, mistakes, Weights, Bias));
            if (mistakes == 0) break;
        }
        return history;
    }

    /// <summary>The fraction of examples the perceptron classifies correctly (no learning).</summary>
    public double Accuracy(IReadOnlyList<IReadOnlyList<double>> inputs, IReadOnlyList<int> targets)
    {
        RequireData(inputs, targets);
        return inputs.Select((x, k) => Predict(x) == targets[k] ? 1.0 : 0.0).Average();
    }

    void RequireInput(IReadOnlyList<double> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Count != _weights.Length)
            throw new ArgumentException($"This perceptron takes {_weights.Length} inputs, got {x.Count}.", nameof(x));
    }

    static void RequireTarget(int target)
    {
        if (target is not (0 or 1)) throw new ArgumentOutOfRangeException(nameof(target), $"Targets must be 0 or 1, got {target}.");
    }

    void RequireData(IReadOnlyList<IReadOnlyList<double>> inputs, IReadOnlyList<int> targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Count == 0) throw new ArgumentException("Expected at least one example.", nameof(inputs));
        if (inputs.Count != targets.Count)
            throw new ArgumentException($"Got {inputs.Count} inputs but {targets.Count} targets.", nameof(targets));
        foreach (var x in inputs) RequireInput(x);
        foreach (int t in targets) RequireTarget(t);
    }
}
