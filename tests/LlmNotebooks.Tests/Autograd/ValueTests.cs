using CsCheck;
using LlmNotebooks.Autograd;

namespace LlmNotebooks.Tests.Autograd;

public class ValueTests
{
    const double H = 1e-6;

    static double Numerical(Func<double, double> f, double x) => (f(x + H) - f(x - H)) / (2 * H);

    /// <summary>Backward's gradient of a one-input operation, at x.</summary>
    static double Grad(Func<Value, Value> op, double x)
    {
        var v = new Value(x);
        op(v).Backward();
        return v.Grad;
    }

    public static TheoryData<string, double> Points() => new()
    {
        { "exp", -1.3 }, { "exp", 0.7 }, { "log", 0.4 }, { "log", 3.0 }, { "tanh", -0.8 }, { "tanh", 1.5 },
        { "relu", -0.5 }, { "relu", 2.0 }, { "pow3", -1.2 }, { "pow0.5", 2.0 }, { "pow-2", 1.7 },
        { "+const", 0.3 }, { "*const", -0.9 }, { "-const", 0.1 }, { "/const", 1.1 }, { "const/", 0.6 }, { "neg", 0.2 },
    };

    static Value Apply(string op, Value v) => op switch
    {
        "exp" => v.Exp(), "log" => v.Log(), "tanh" => v.Tanh(), "relu" => v.Relu(),
        "pow3" => v.Pow(3), "pow0.5" => v.Pow(0.5), "pow-2" => v.Pow(-2),
        "+const" => v + 2.5, "*const" => v * -3, "-const" => 4 - v, "/const" => v / 0.5, "const/" => 2 / v, "neg" => -v,
        _ => throw new ArgumentException(op),
    };

    [Theory]
    [MemberData(nameof(Points))]
    public void Each_operation_has_the_local_derivative_of_a_finite_difference(string op, double x)
    {
        double analytic = Grad(v => Apply(op, v), x);
        double numerical = Numerical(t => Apply(op, new Value(t)).Data, x);
        Assert.True(Math.Abs(analytic - numerical) < 1e-6, $"{op} at {x}: backward {analytic}, finite difference {numerical}");
    }

    // The operation names are what chapter 1's computation-graph charts print on each node.
    [Theory]
    [InlineData("+", "+")]
    [InlineData("*", "*")]
    [InlineData("exp", "exp")]
    [InlineData("log", "log")]
    [InlineData("tanh", "tanh")]
    [InlineData("relu", "relu")]
    [InlineData("pow3", "^3")]
    [InlineData("pow-2", "^-2")]
    public void Each_operation_names_itself_for_the_graph(string op, string expected)
    {
        var x = new Value(1.5);
        var result = op switch { "+" => x + 2, "*" => x * 2, _ => Apply(op, x) };
        Assert.Equal(expected, result.Op);
    }

    [Fact]
    public void A_leaf_has_no_operation_and_no_label_unless_given_one()
    {
        var leaf = new Value(2);
        Assert.Equal("", leaf.Op);
        Assert.Equal("", leaf.Label);
        Assert.Empty(leaf.Children);
        Assert.Equal("w", new Value(2, "w").Label);
    }

    [Fact]
    public void ToString_shows_the_label_the_value_and_the_gradient_in_six_significant_digits()
    {
        var w = new Value(1.0 / 3, "w");
        var y = w * 3;
        y.Backward();
        Assert.Equal("Value(w = 0.333333, grad 3)", w.ToString());
        Assert.Equal("Value(1, grad 1)", y.ToString());
    }

    [Fact]
    public void Relu_at_exactly_zero_passes_no_gradient()
    {
        // max(0, x) has no derivative at 0; the convention (PyTorch's too) is 0 there.
        var x = new Value(0);
        var y = x.Relu();
        y.Backward();
        Assert.Equal(0, y.Data);
        Assert.Equal(0, x.Grad);
    }

    [Fact]
    public void Binary_operations_give_both_inputs_their_gradient()
    {
        var a = new Value(2, "a");
        var b = new Value(-3, "b");
        var c = a * b + a / b - b.Pow(2);   // ∂/∂a = b + 1/b = -3.3333; ∂/∂b = a - a/b² - 2b = 2 - 2/9 + 6
        c.Backward();
        Assert.Equal(-3 - 1.0 / 3, a.Grad, 12);
        Assert.Equal(2 - 2.0 / 9 + 6, b.Grad, 12);
    }

    [Fact]
    public void A_value_used_twice_accumulates_both_gradients()
    {
        var x = new Value(3);
        var y = x * x + x;   // dy/dx = 2x + 1 = 7
        y.Backward();
        Assert.Equal(7, x.Grad);
    }

    [Fact]
    public void Backward_twice_gives_the_same_gradients_not_double()
    {
        var x = new Value(0.5);
        var y = (2 * x + 1).Tanh();
        y.Backward();
        double first = x.Grad;
        y.Backward();
        Assert.Equal(first, x.Grad);
        Assert.Equal((1 - Math.Pow(Math.Tanh(2), 2)) * 2, first, 15);
    }

    [Fact]
    public void Topological_order_puts_every_node_after_its_inputs()
    {
        var a = new Value(1, "a");
        var b = new Value(2, "b");
        var c = a * b;
        var d = (c + a).Tanh();
        var order = d.TopologicalOrder().ToList();
        Assert.Equal(d, order[^1]);
        for (int i = 0; i < order.Count; i++)
            foreach (var child in order[i].Children)
                Assert.True(order.IndexOf(child) < i, $"{child} comes after {order[i]}");
        Assert.Equal(order.Count, order.Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public void Deep_graphs_do_not_overflow_the_stack()
    {
        var x = new Value(1);
        Value y = x;
        for (int i = 0; i < 100_000; i++) y = y * 1.0;
        y.Backward();
        Assert.Equal(1, x.Grad);
    }

    [Fact]
    public void Undefined_operations_get_clear_errors()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Value(-1, "p").Log());
        Assert.Contains("log needs a positive number, but p is -1", e.Message);
        var z = Assert.Throws<ArgumentOutOfRangeException>(() => new Value(0, "z").Pow(-1));
        Assert.Contains("not a finite real number", z.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Value(-2).Pow(0.5));
    }

    /// <summary>Random expression trees over the seven operations: Backward matches a finite difference for every input.</summary>
    [Fact]
    public void Backward_matches_numerical_gradients_on_random_expressions()
    {
        var genExpr = Gen.Int[0, 1_000_000].Select(seed => seed);
        Gen.Select(genExpr, Gen.Double[-1.5, 1.5].Array[3]).Sample((seed, inputs) =>
        {
            Value Build(Value[] xs) => RandomExpression(new Random(seed), xs, depth: 4);
            var leaves = inputs.Select(v => new Value(v)).ToArray();
            var root = Build(leaves);
            root.Backward();
            for (int i = 0; i < inputs.Length; i++)
            {
                double Eval(double t) { var xs = inputs.Select(v => new Value(v)).ToArray(); xs[i] = new Value(t); return Build(xs).Data; }
                double numerical = (Eval(inputs[i] + H) - Eval(inputs[i] - H)) / (2 * H);
                double scale = Math.Max(1, Math.Abs(numerical));
                if (Math.Abs(leaves[i].Grad - numerical) > 1e-4 * scale) return false;
            }
            return true;
        }, iter: 300);
    }

    /// <summary>A smooth random expression (no relu kinks, logs of positive arguments only).</summary>
    static Value RandomExpression(Random r, Value[] xs, int depth)
    {
        if (depth == 0 || r.Next(4) == 0) return r.Next(3) == 0 ? new Value(r.NextDouble() * 2 - 1) : xs[r.Next(xs.Length)];
        Value a = RandomExpression(r, xs, depth - 1);
        return r.Next(7) switch
        {
            0 => a + RandomExpression(r, xs, depth - 1),
            1 => a * RandomExpression(r, xs, depth - 1),
            2 => a.Tanh(),
            3 => (a * 0.5).Exp(),
            4 => (a * a + 1).Log(),
            5 => a.Pow(2),
            _ => a - RandomExpression(r, xs, depth - 1),
        };
    }
}
