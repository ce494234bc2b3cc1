using CsCheck;
using LlmNotebooks.Classic;

namespace LlmNotebooks.Tests.Classic;

public class HopfieldNetworkTests
{
    static int[] RandomPattern(int n, Random r) => Enumerable.Range(0, n).Select(_ => r.Next(2) * 2 - 1).ToArray();

    [Fact]
    public void Doc_example_repairs_one_flipped_neuron()
    {
        var net = new HopfieldNetwork(4);
        net.Store([1, -1, 1, -1]);
        Assert.Equal([1, -1, 1, -1], net.Recall([1, 1, 1, -1], new Random(0)).State);
    }

    [Fact]
    public void Hebbian_weights_are_symmetric_with_zero_diagonal()
    {
        var r = new Random(3);
        var net = new HopfieldNetwork(20);
        for (int k = 0; k < 3; k++) net.Store(RandomPattern(20, r));
        Assert.Equal(3, net.PatternCount);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(0, net.Weight(i, i));
            for (int j = 0; j < 20; j++) Assert.Equal(net.Weight(i, j), net.Weight(j, i));
        }
    }

    [Fact]
    public void A_single_stored_pattern_has_energy_minus_half_of_n_minus_one_and_so_has_its_negative()
    {
        var p = RandomPattern(30, new Random(1));
        var net = new HopfieldNetwork(30);
        net.Store(p);
        Assert.Equal(-29 / 2.0, net.Energy(p), 12);
        Assert.Equal(-29 / 2.0, net.Energy(p.Select(v => -v).ToArray()), 12);
    }

    [Fact]
    public void Stored_patterns_are_fixed_points_and_are_recalled_from_noisy_copies()
    {
        var r = new Random(5);
        var net = new HopfieldNetwork(100);
        var patterns = Enumerable.Range(0, 5).Select(_ => RandomPattern(100, r)).ToArray();
        foreach (var p in patterns) net.Store(p);
        foreach (var p in patterns)
        {
            var fixedPoint = net.Recall(p, r);
            Assert.Equal(p, fixedPoint.State);
            Assert.True(fixedPoint.Converged);
            Assert.Equal(1, fixedPoint.Sweeps);
            Assert.Equal(p, net.Recall(HopfieldNetwork.Corrupt(p, 10, r), r).State);
        }
    }

    [Fact]
    public void Recall_never_raises_the_energy_and_tracks_it_exactly()
    {
        Gen.Select(Gen.Int[2, 40], Gen.Int[1, 8], Gen.Int[0, 1_000_000]).Sample((n, count, seed) =>
        {
            var r = new Random(seed);
            var net = new HopfieldNetwork(n);
            for (int k = 0; k < count; k++) net.Store(RandomPattern(n, r));
            var probe = RandomPattern(n, r);
            var before = probe.ToArray();
            var recall = net.Recall(probe, r, maxSweeps: 50);
            var e = recall.Energies;
            return probe.SequenceEqual(before)                                   // the probe is not modified
                && e.Count == 1 + n * recall.Sweeps
                && e.Zip(e.Skip(1), (a, b) => b <= a + 1e-9).All(x => x)
                && Math.Abs(e[^1] - net.Energy(recall.State)) < 1e-9
                && Math.Abs(e[0] - net.Energy(probe)) < 1e-9
                && recall.Converged;                                              // asynchronous updates always settle
        }, iter: 200);
    }

    [Fact]
    public void UpdateNeuron_follows_the_sign_of_the_field_and_keeps_the_state_at_zero_field()
    {
        var net = new HopfieldNetwork(3);
        net.Store([1, 1, -1]);
        int[] state = [-1, 1, -1];
        Assert.True(net.UpdateNeuron(state, 0));                                 // field +2/3 → +1
        Assert.Equal([1, 1, -1], state);
        Assert.False(net.UpdateNeuron(state, 2));
        var empty = new HopfieldNetwork(2);
        int[] s = [1, -1];
        Assert.False(empty.UpdateNeuron(s, 0));                                  // zero field: unchanged
    }

    [Fact]
    public void Corrupt_flips_exactly_the_requested_number_of_distinct_neurons()
    {
        var p = RandomPattern(50, new Random(2));
        foreach (int flips in new[] { 0, 1, 17, 50 })
        {
            var c = HopfieldNetwork.Corrupt(p, flips, new Random(flips));
            Assert.Equal(flips, p.Zip(c, (a, b) => a != b ? 1 : 0).Sum());
        }
        Assert.Equal(HopfieldNetwork.Corrupt(p, 9, new Random(7)), HopfieldNetwork.Corrupt(p, 9, new Random(7)));
    }

    [Fact]
    public void PatternFromText_and_Overlap_follow_their_doc_examples()
    {
        Assert.Equal([1, -1, -1, 1], HopfieldNetwork.PatternFromText("#.", ".#"));
        Assert.Equal([1, 1, -1], HopfieldNetwork.PatternFromText("X1."));
        Assert.Equal(1, HopfieldNetwork.Overlap([1, -1], [1, -1]));
        Assert.Equal(-1, HopfieldNetwork.Overlap([1, -1], [-1, 1]));
        Assert.Equal(0, HopfieldNetwork.Overlap([1, 1], [1, -1]));
    }

    [Fact]
    public void Bad_arguments_get_clear_errors()
    {
        Assert.Contains("at least 2 neurons", Assert.Throws<ArgumentOutOfRangeException>(() => new HopfieldNetwork(1)).Message);
        var net = new HopfieldNetwork(3);
        Assert.Contains("3 neurons, got a state of 2", Assert.Throws<ArgumentException>(() => net.Store([1, -1])).Message);
        Assert.Contains("+1 or −1, got 0 at position 1", Assert.Throws<ArgumentException>(() => net.Energy([1, 0, 1])).Message);
        Assert.Contains("[0, 2], got 3", Assert.Throws<ArgumentOutOfRangeException>(() => net.UpdateNeuron([1, 1, 1], 3)).Message);
        Assert.Contains("positive number of sweeps", Assert.Throws<ArgumentOutOfRangeException>(() => net.Recall([1, 1, 1], new Random(0), 0)).Message);
        Assert.Contains("between 0 and 3", Assert.Throws<ArgumentOutOfRangeException>(() => HopfieldNetwork.Corrupt([1, 1, 1], 4, new Random(0))).Message);
        Assert.Contains("same, non-zero length", Assert.Throws<ArgumentException>(() => HopfieldNetwork.PatternFromText("##", "#")).Message);
        Assert.Contains("2 vs 3", Assert.Throws<ArgumentException>(() => HopfieldNetwork.Overlap([1, 1], [1, 1, 1])).Message);
    }
}
