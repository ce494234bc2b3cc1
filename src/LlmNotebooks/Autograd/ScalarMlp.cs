namespace LlmNotebooks.Autograd;

/// <summary>
/// A small multi-layer perceptron made of <see cref="Value"/>s: every weight is a scalar with its own gradient.
/// Hidden layers use tanh, the output layer is linear. Slow (one object per number) and meant for learning:
/// chapter 1.3 trains one and checks its gradients against TorchSharp; chapter 0 solves XOR with it.
/// </summary>
public sealed class ScalarMlp
{
    /// <summary>Weights[layer][neuron][input].</summary>
    public Value[][][] Weights { get; }

    /// <summary>Biases[layer][neuron].</summary>
    public Value[][] Biases { get; }

    /// <summary>Layer sizes, inputs first: [2, 4, 1] is 2 inputs, 4 hidden neurons, 1 output.</summary>
    public IReadOnlyList<int> Sizes { get; }

    /// <summary>Weights drawn uniformly from [-1, 1) with <paramref name="random"/>, biases zero.</summary>
    public ScalarMlp(IReadOnlyList<int> sizes, Random random)
    {
        if (sizes.Count < 2 || sizes.Any(s => s <= 0))
            throw new ArgumentException($"Expected at least two positive layer sizes (inputs, ..., outputs), got [{string.Join(", ", sizes)}].", nameof(sizes));
        Sizes = sizes.ToArray();
        Weights = new Value[sizes.Count - 1][][];
        Biases = new Value[sizes.Count - 1][];
        for (int l = 0; l < sizes.Count - 1; l++)
        {
            Weights[l] = new Value[sizes[l + 1]][];
            Biases[l] = new Value[sizes[l + 1]];
            for (int n = 0; n < sizes[l + 1]; n++)
            {
                Weights[l][n] = Enumerable.Range(0, sizes[l]).Select(i => new Value(random.NextDouble() * 2 - 1, $"w{l + 1}[{n},{i}]")).ToArray();
                Biases[l][n] = new Value(0, $"b{l + 1}[{n}]");
            }
        }
    }

    /// <summary>Every weight and bias, layer by layer (weights row by row, then biases).</summary>
    public IEnumerable<Value> Parameters() =>
        Enumerable.Range(0, Weights.Length).SelectMany(l => Weights[l].SelectMany(row => row).Concat(Biases[l]));

    /// <summary>The network's outputs for one input vector: layer by layer, neuron = tanh(w·x + b) (no tanh on the last layer).</summary>
    public Value[] Forward(IReadOnlyList<Value> input)
    {
        if (input.Count != Sizes[0])
            throw new ArgumentException($"This network takes {Sizes[0]} inputs, got {input.Count}.", nameof(input));
        IReadOnlyList<Value> x = input;
        for (int l = 0; l < Weights.Length; l++)
        {
            bool last = l == Weights.Length - 1;
            x = Weights[l].Select((w, n) =>
            {
                Value sum = Biases[l][n];
                for (int i = 0; i < w.Length; i++) sum += w[i] * x[i];
                return last ? sum : sum.Tanh();
            }).ToArray();
        }
        return (Value[])x;
    }

    /// <summary>One plain gradient-descent step: p ← p − learningRate · ∂loss/∂p (call <see cref="Value.Backward"/> first).</summary>
    public void Step(double learningRate)
    {
        foreach (var p in Parameters()) p.Data -= learningRate * p.Grad;
    }
}
