namespace LlmNotebooks.Classic;

/// <summary>
/// The result of <see cref="HopfieldNetwork.Recall"/>: the state the network settled in, and its energy before any
/// update and after every single-neuron update (so the list has 1 + neurons × sweeps entries).
/// </summary>
/// <param name="State">The final state, ±1 per neuron.</param>
/// <param name="Energies">Energy at the start, then after each neuron update in visiting order; never increases.</param>
/// <param name="Sweeps">Full passes over the neurons that were made (the last one changed nothing when converged).</param>
/// <param name="Converged">True when a full sweep changed no neuron: the state is a fixed point (an attractor).</param>
public sealed record HopfieldRecall(int[] State, IReadOnlyList<double> Energies, int Sweeps, bool Converged);
