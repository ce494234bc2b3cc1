using System.Globalization;

namespace LlmNotebooks.Autograd;

/// <summary>
/// A scalar that remembers how it was computed, so gradients can flow back through it: the course's from-scratch
/// automatic differentiation (chapter 1.3). Each value keeps its inputs (children) and the local derivative of
/// itself with respect to each input; <see cref="Backward"/> applies the chain rule over the whole graph.
/// <code>
/// var x = new Value(0.5, "x");
/// var y = (2 * x + 1).Tanh();   // y = tanh(2x + 1)
/// y.Backward();                 // x.Grad == (1 - tanh²(2)) · 2
/// </code>
/// </summary>
public sealed class Value
{
    readonly Value[] _children;
    readonly double[] _localGrads;

    /// <summary>The number this node holds.</summary>
    public double Data { get; set; }

    /// <summary>d(root)/d(this), filled in by <see cref="Backward"/> on a root that depends on this value.</summary>
    public double Grad { get; set; }

    /// <summary>The operation that produced this value ("+", "*", "tanh", …); empty for inputs and weights.</summary>
    public string Op { get; }

    /// <summary>A name for charts and tables ("x", "w1", "loss").</summary>
    public string Label { get; set; }

    /// <summary>The values this one was computed from, in argument order.</summary>
    public IReadOnlyList<Value> Children => _children;

    /// <summary>∂this/∂child for each child, computed when this value was.</summary>
    public IReadOnlyList<double> LocalGrads => _localGrads;

    /// <summary>A leaf: an input or a parameter.</summary>
    public Value(double data, string label = "") : this(data, "", [], [], label) { }

    Value(double data, string op, Value[] children, double[] localGrads, string label = "")
    {
        Data = data;
        Op = op;
        _children = children;
        _localGrads = localGrads;
        Label = label;
    }

    public static implicit operator Value(double data) => new(data);

    // Each operation: the result, then the local derivative with respect to each input.
    public static Value operator +(Value a, Value b) => new(a.Data + b.Data, "+", [a, b], [1, 1]);
    public static Value operator *(Value a, Value b) => new(a.Data * b.Data, "*", [a, b], [b.Data, a.Data]);
    public static Value operator -(Value a) => a * -1;
    public static Value operator -(Value a, Value b) => a + -b;
    public static Value operator /(Value a, Value b) => a * b.Pow(-1);

    /// <summary>this^exponent for a constant exponent: d/dx xⁿ = n·xⁿ⁻¹.</summary>
    public Value Pow(double exponent)
    {
        double result = Math.Pow(Data, exponent);
        if (double.IsNaN(result) || double.IsInfinity(result))
            throw new ArgumentOutOfRangeException(nameof(exponent),
                $"{Name}^{F(exponent)} is not a finite real number (base {F(Data)}); use a positive base, or a whole-number exponent with a non-zero base.");
        return new(result, $"^{F(exponent)}", [this], [exponent * Math.Pow(Data, exponent - 1)]);
    }

    /// <summary>eˣ: its own derivative.</summary>
    public Value Exp()
    {
        double e = Math.Exp(Data);
        return new(e, "exp", [this], [e]);
    }

    /// <summary>ln x: derivative 1/x; defined for x &gt; 0 only.</summary>
    public Value Log()
    {
        if (!(Data > 0))
            throw new ArgumentOutOfRangeException(nameof(Data), $"log needs a positive number, but {Name} is {F(Data)}.");
        return new(Math.Log(Data), "log", [this], [1 / Data]);
    }

    /// <summary>tanh x: derivative 1 − tanh² x.</summary>
    public Value Tanh()
    {
        double t = Math.Tanh(Data);
        return new(t, "tanh", [this], [1 - t * t]);
    }

    /// <summary>max(0, x): derivative 1 for x &gt; 0, else 0.</summary>
    public Value Relu() => new(Math.Max(0, Data), "relu", [this], [Data > 0 ? 1 : 0]);

    /// <summary>
    /// Sets this value's gradient to 1 and every other gradient in its graph by the chain rule, visiting nodes from
    /// the output back to the inputs (reverse topological order) so each node's gradient is complete before it is
    /// passed on: child.Grad += local derivative × node.Grad. Gradients of the graph are reset first.
    /// </summary>
    public void Backward()
    {
        var order = TopologicalOrder();
        foreach (var v in order) v.Grad = 0;
        Grad = 1;
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            for (int c = 0; c < node._children.Length; c++)
                node._children[c].Grad += node._localGrads[c] * node.Grad;
        }
    }

    /// <summary>Every value this one depends on (and itself), each after all of its inputs.</summary>
    public IReadOnlyList<Value> TopologicalOrder()
    {
        var order = new List<Value>();
        var seen = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        // Iterative depth-first search: deep graphs (long training loops) must not overflow the stack.
        var stack = new Stack<(Value Node, int Next)>();
        stack.Push((this, 0));
        seen.Add(this);
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            if (next < node._children.Length)
            {
                stack.Push((node, next + 1));
                var child = node._children[next];
                if (seen.Add(child)) stack.Push((child, 0));
            }
            else order.Add(node);
        }
        return order;
    }

    string Name => string.IsNullOrEmpty(Label) ? "the value" : Label;

    public override string ToString() =>
        $"Value({(string.IsNullOrEmpty(Label) ? "" : Label + " = ")}{F(Data)}, grad {F(Grad)})";

    static string F(double x) => x.ToString("G6", CultureInfo.InvariantCulture);
}
