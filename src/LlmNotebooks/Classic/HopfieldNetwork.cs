namespace LlmNotebooks.Classic;

/// <summary>
/// Hopfield's associative memory (1982): N binary neurons (states +1 / −1), every one connected to every other with
/// symmetric weights and no self-connections. <see cref="Store"/> writes a pattern in with Hebb's rule,
/// <c>w_ij += p_i p_j / N</c> ("neurons that fire together wire together"). <see cref="Recall"/> starts from a probe
/// and updates one neuron at a time, <c>s_i ← sign(Σ_j w_ij s_j)</c>. Each update can only lower the energy
/// <c>E = −½ Σ_ij w_ij s_i s_j</c>, so the state slides downhill into a local minimum — an <em>attractor</em>. Stored
/// patterns are such minima, which is why a corrupted copy is pulled back to the original. Capacity is limited: with
/// random patterns recall breaks down beyond about 0.14 N of them.
/// <code>
/// var net = new HopfieldNetwork(4);
/// net.Store([1, -1, 1, -1]);
/// net.Recall([1, 1, 1, -1], new Random(0)).State;   // [1, -1, 1, -1]: one flipped neuron repaired
/// </code>
/// </summary>
public sealed class HopfieldNetwork
{
    readonly double[,] _weights;

    /// <summary>The number of neurons N.</summary>
    public int Size { get; }

    /// <summary>How many patterns have been stored.</summary>
    public int PatternCount { get; private set; }

    /// <summary>An empty memory of <paramref name="size"/> neurons (all weights zero).</summary>
    public HopfieldNetwork(int size)
    {
        if (size < 2) throw new ArgumentOutOfRangeException(nameof(size), $"A Hopfield network needs at least 2 neurons, got {size}.");
        Size = size;
        _weights = new double[size, size];
    }

    /// <summary>The weight w_ij between neurons i and j (w_ij = w_ji, w_ii = 0).</summary>
    public double Weight(int i, int j) => _weights[i, j];

    /// <summary>A copy of the N×N weight matrix.</summary>
    public double[,] WeightMatrix() => (double[,])_weights.Clone();

    /// <summary>Adds a pattern of ±1 values with Hebb's rule: w_ij += p_i p_j / N for i ≠ j.</summary>
    public void Store(IReadOnlyList<int> pattern)
    {
        RequireState(pattern, nameof(pattern));
        for (int i = 0; i < Size; i++)
            for (int j = 0; j < Size; j++)
                if (i != j) _weights[i, j] += (double)pattern[i] * pattern[j] / Size;
        PatternCount++;
    }

    /// <summary>E = −½ Σ_ij w_ij s_i s_j. Example: after storing p alone, E(p) = −(N − 1)/2.</summary>
    public double Energy(IReadOnlyList<int> state)
    {
        RequireState(state, nameof(state));
        double e = 0;
        for (int i = 0; i < Size; i++)
            for (int j = 0; j < Size; j++)
                e += _weights[i, j] * state[i] * state[j];
        return -0.5 * e;
    }

    /// <summary>The local field h_i = Σ_j w_ij s_j that neuron i sees.</summary>
    public double Field(IReadOnlyList<int> state, int neuron)
    {
        double h = 0;
        for (int j = 0; j < Size; j++) h += _weights[neuron, j] * state[j];
        return h;
    }

    /// <summary>
    /// Updates one neuron in place: s_i ← +1 if its field is positive, −1 if negative, unchanged if zero.
    /// Returns true when the neuron flipped.
    /// </summary>
    public bool UpdateNeuron(int[] state, int neuron)
    {
        RequireState(state, nameof(state));
        if (neuron < 0 || neuron >= Size) throw new ArgumentOutOfRangeException(nameof(neuron), $"Neuron index must be in [0, {Size - 1}], got {neuron}.");
        double h = Field(state, neuron);
        int next = h > 0 ? 1 : h < 0 ? -1 : state[neuron];
        bool flipped = next != state[neuron];
        state[neuron] = next;
        return flipped;
    }

    /// <summary>
    /// Asynchronous recall from <paramref name="probe"/> (not modified): sweeps over all neurons in a fresh random
    /// order each time (drawn from <paramref name="random"/>), updating one at a time, until a sweep changes nothing or
    /// <paramref name="maxSweeps"/> sweeps are done. Records the energy after every update.
    /// </summary>
    public HopfieldRecall Recall(IReadOnlyList<int> probe, Random random, int maxSweeps = 20)
    {
        RequireState(probe, nameof(probe));
        ArgumentNullException.ThrowIfNull(random);
        if (maxSweeps <= 0) throw new ArgumentOutOfRangeException(nameof(maxSweeps), $"Expected a positive number of sweeps, got {maxSweeps}.");
        var state = probe.ToArray();
        var energies = new List<double> { Energy(state) };
        double energy = energies[0];
        var order = Enumerable.Range(0, Size).ToArray();
        for (int sweep = 1; sweep <= maxSweeps; sweep++)
        {
            random.Shuffle(order);
            bool changed = false;
            foreach (int i in order)
            {
                double h = Field(state, i);
                if (UpdateNeuron(state, i))
                {
                    // Flipping s_i changes E by −Δs_i · h_i = 2 |h_i| downwards (w_ii = 0): no need to recompute the sum.
                    energy -= 2 * Math.Abs(h);
                    changed = true;
                }
                energies.Add(energy);
            }
            if (!changed) return new HopfieldRecall(state, energies, sweep, true);
        }
        return new HopfieldRecall(state, energies, maxSweeps, false);
    }

    /// <summary>
    /// A pattern from rows of text: '#' (or 'X', '1') is +1, anything else (e.g. '.') is −1, read row by row.
    /// Example: ["#.", ".#"] → [1, −1, −1, 1]. All rows must have the same length.
    /// </summary>
    public static int[] PatternFromText(params string[] rows)
    {
        if (rows is null || rows.Length == 0) throw new ArgumentException("Expected at least one row of pixels.", nameof(rows));
        int width = rows[0].Length;
        if (width == 0 || rows.Any(r => r.Length != width))
            throw new ArgumentException($"All rows must have the same, non-zero length; got lengths [{string.Join(", ", rows.Select(r => r.Length))}].", nameof(rows));
        return rows.SelectMany(r => r.Select(c => c is '#' or 'X' or '1' ? 1 : -1)).ToArray();
    }

    /// <summary>A copy of <paramref name="pattern"/> with exactly <paramref name="flips"/> distinct neurons, chosen at random, flipped.</summary>
    public static int[] Corrupt(IReadOnlyList<int> pattern, int flips, Random random)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(random);
        if (flips < 0 || flips > pattern.Count)
            throw new ArgumentOutOfRangeException(nameof(flips), $"Can flip between 0 and {pattern.Count} neurons, asked for {flips}.");
        var copy = pattern.ToArray();
        var order = Enumerable.Range(0, copy.Length).ToArray();
        random.Shuffle(order);
        for (int k = 0; k < flips; k++) copy[order[k]] = -copy[order[k]];
        return copy;
    }

    /// <summary>The overlap (1/N) Σ a_i b_i of two ±1 states: 1 when equal, −1 when opposite, about 0 when unrelated.</summary>
    public static double Overlap(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"States differ in length: {a.Count} vs {b.Count}.", nameof(b));
        double s = 0;
        for (int i = 0; i < a.Count; i++) s += a[i] * b[i];
        return s / a.Count;
    }

    void RequireState(IReadOnlyList<int> state, string name)
    {
        ArgumentNullException.ThrowIfNull(state, name);
        if (state.Count != Size) throw new ArgumentException($"This network has {Size} neurons, got a state of {state.Count} values.", name);
        for (int i = 0; i < state.Count; i++)
            if (state[i] is not (1 or -1))
                throw new ArgumentException($"Neuron states must be +1 or −1, got {state[i]} at position {i}.", name);
    }
}
