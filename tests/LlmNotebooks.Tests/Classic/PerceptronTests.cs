using CsCheck;
using LlmNotebooks.Classic;

namespace LlmNotebooks.Tests.Classic;

public class PerceptronTests
{
    static readonly double[][] Gates = [[0, 0], [0, 1], [1, 0], [1, 1]];

    [Fact]
    public void Learns_AND_with_Rosenblatts_rule_step_by_step()
    {
        var p = new Perceptron(2);
        var epochs = p.Train(Gates, [0, 0, 0, 1], maxEpochs: 20);
        Assert.Equal([1, 3, 3, 2, 1, 0], epochs.Select(e => e.Mistakes));
        Assert.Equal([2.0, 1.0], p.Weights);
        Assert.Equal(-2, p.Bias);
        Assert.Equal([0, 0, 0, 1], Gates.Select(x => p.Predict(x)));
    }

    [Fact]
    public void Learns_OR()
    {
        var p = new Perceptron(2);
        var epochs = p.Train(Gates, [0, 1, 1, 1]);
        Assert.Equal(0, epochs[^1].Mistakes);
        Assert.Equal(1.0, p.Accuracy(Gates, [0, 1, 1, 1]));
    }

    [Fact]
    public void Never_learns_XOR_and_cycles()
    {
        var p = new Perceptron(2);
        var epochs = p.Train(Gates, [0, 1, 1, 0], maxEpochs: 50);
        Assert.Equal(50, epochs.Count);
        Assert.All(epochs, e => Assert.True(e.Mistakes > 0));
        Assert.All(epochs.Skip(2), e => { Assert.Equal(epochs[1].Weights, e.Weights); Assert.Equal(epochs[1].Bias, e.Bias); });
        Assert.True(p.Accuracy(Gates, [0, 1, 1, 0]) <= 0.75);
    }

    [Fact]
    public void Update_moves_the_weights_by_eta_times_error_times_input()
    {
        var p = new Perceptron(3, learningRate: 0.5);
        Assert.Equal(1, p.Update([1, 2, -1], target: 1));          // predicted 0 (sum 0), target 1
        Assert.Equal([0.5, 1.0, -0.5], p.Weights);
        Assert.Equal(0.5, p.Bias);
        Assert.Equal(0, p.Update([1, 2, -1], target: 1));          // now right: nothing moves
        Assert.Equal(0.5, p.Bias);
        Assert.Equal(-1, p.Update([1, 2, -1], target: 0));
        Assert.Equal([0.0, 0.0, 0.0], p.Weights);
    }

    [Fact]
    public void Hand_set_weights_compute_AND_as_in_the_doc_example()
    {
        var p = new Perceptron([1.0, 1.0], bias: -1.5);
        Assert.Equal(0.5, p.WeightedSum([1, 1]));
        Assert.Equal([0, 0, 0, 1], Gates.Select(x => p.Predict(x)));
    }

    [Fact]
    public void Weights_are_a_copy()
    {
        var p = new Perceptron([1.0, 2.0], bias: 0);
        ((double[])p.Weights)[0] = 100;
        Assert.Equal(1.0, p.Weights[0]);
    }

    [Fact]
    public void Converges_on_any_linearly_separable_data()   // the perceptron convergence theorem, sampled
    {
        Gen.Select(Gen.Double[-1, 1].Array[3], Gen.Double[-1, 1].Array[2].Array[5, 30]).Sample((truth, points) =>
        {
            // Label by a random line, dropping points too close to it (a margin keeps the number of updates bounded).
            var kept = points.Where(x => Math.Abs(truth[0] * x[0] + truth[1] * x[1] + truth[2]) > 0.05).ToArray();
            if (kept.Length == 0) return true;
            var labels = kept.Select(x => truth[0] * x[0] + truth[1] * x[1] + truth[2] > 0 ? 1 : 0).ToArray();
            var p = new Perceptron(2, learningRate: 0.1);
            var epochs = p.Train(kept, labels, maxEpochs: 5000);
            return epochs[^1].Mistakes == 0 && p.Accuracy(kept, labels) == 1;
        }, iter: 200);
    }

    [Fact]
    public void Bad_arguments_get_clear_errors()
    {
        Assert.Contains("at least one input", Assert.Throws<ArgumentOutOfRangeException>(() => new Perceptron(0)).Message);
        Assert.Contains("positive number", Assert.Throws<ArgumentOutOfRangeException>(() => new Perceptron(2, learningRate: 0)).Message);
        var p = new Perceptron(2);
        Assert.Contains("takes 2 inputs, got 3", Assert.Throws<ArgumentException>(() => p.Predict([1, 2, 3])).Message);
        Assert.Contains("0 or 1, got 2", Assert.Throws<ArgumentOutOfRangeException>(() => p.Update([1, 2], 2)).Message);
        Assert.Contains("4 inputs but 3 targets", Assert.Throws<ArgumentException>(() => p.Train(Gates, [0, 1, 1])).Message);
        Assert.Contains("at least one example", Assert.Throws<ArgumentException>(() => p.Train(Array.Empty<double[]>(), [])).Message);
        Assert.Contains("positive number of epochs", Assert.Throws<ArgumentOutOfRangeException>(() => p.Train(Gates, [0, 0, 0, 1], maxEpochs: 0)).Message);
    }
}
