using LlmNotebooks.Autograd;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Autograd;

public class ScalarMlpTests
{
    [Fact]
    public void Has_the_expected_number_of_parameters()
    {
        var mlp = new ScalarMlp([3, 4, 4, 1], new Random(1));
        Assert.Equal(3 * 4 + 4 + 4 * 4 + 4 + 4 * 1 + 1, mlp.Parameters().Count());
    }

    [Fact]
    public void Same_seed_same_weights()
    {
        var a = new ScalarMlp([2, 5, 1], new Random(9)).Parameters().Select(p => p.Data);
        var b = new ScalarMlp([2, 5, 1], new Random(9)).Parameters().Select(p => p.Data);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Gradients_equal_TorchSharp_autograd_on_the_same_network()
    {
        var mlp = new ScalarMlp([3, 5, 2], new Random(3));
        double[][] xs = [[0.5, -1, 2], [1, 0.25, -0.5]];
        var loss = xs.SelectMany(x => mlp.Forward(x.Select(v => new Value(v)).ToArray())).Select(o => o.Pow(2)).Aggregate((a, b) => a + b);
        loss.Backward();

        using var scope = NewDisposeScope();
        Tensor P(IEnumerable<double> v, params long[] shape) => tensor(v.ToArray(), dtype: float64).reshape(shape).requires_grad_(true);
        var w1 = P(mlp.Weights[0].SelectMany(r => r.Select(v => v.Data)), 5, 3);
        var b1 = P(mlp.Biases[0].Select(v => v.Data), 5);
        var w2 = P(mlp.Weights[1].SelectMany(r => r.Select(v => v.Data)), 2, 5);
        var b2 = P(mlp.Biases[1].Select(v => v.Data), 2);
        var x = tensor(xs.SelectMany(r => r).ToArray(), dtype: float64).reshape(2, 3);
        var torchLoss = (tanh(x.matmul(w1.T) + b1).matmul(w2.T) + b2).pow(2).sum();
        torchLoss.backward();

        Assert.Equal(torchLoss.item<double>(), loss.Data, 12);
        var torchGrads = new[] { w1, b1, w2, b2 }.SelectMany(p => p.grad!.data<double>().ToArray()).ToArray();
        var scalarGrads = mlp.Parameters().Select(p => p.Grad).ToArray();
        Assert.Equal(torchGrads.Length, scalarGrads.Length);
        for (int i = 0; i < torchGrads.Length; i++) Assert.Equal(torchGrads[i], scalarGrads[i], 10);
    }

    [Fact]
    public void Training_reduces_the_loss()
    {
        var mlp = new ScalarMlp([2, 6, 1], new Random(5));
        (double[] X, double Y)[] data = [([0, 0], -1), ([0, 1], 1), ([1, 0], 1), ([1, 1], -1)];
        double Loss()
        {
            var l = data.Select(d => (mlp.Forward(d.X.Select(v => new Value(v)).ToArray())[0] - d.Y).Pow(2)).Aggregate((a, b) => a + b);
            l.Backward();
            return l.Data;
        }
        double first = Loss();
        for (int i = 0; i < 200; i++) { Loss(); mlp.Step(0.05); }
        Assert.True(Loss() < 0.1 * first);
    }

    [Fact]
    public void Bad_sizes_and_inputs_get_clear_errors()
    {
        Assert.Contains("at least two positive layer sizes", Assert.Throws<ArgumentException>(() => new ScalarMlp([3], new Random(1))).Message);
        var mlp = new ScalarMlp([2, 1], new Random(1));
        Assert.Contains("takes 2 inputs, got 3", Assert.Throws<ArgumentException>(() => mlp.Forward([1, 2, 3])).Message);
    }
}
