namespace LlmNotebooks.Training;

/// <summary>
/// The order in which a task reads its N training examples: each epoch is a shuffle seeded by (seed, epoch) through <see cref="Hashes.StreamSeed"/>, and
/// example k of the run (counting every example of every step) is example k mod N of epoch k / N. The k-th example
/// depends only on (seed, k), which is what <see cref="ITrainingTask"/> asks for: micro-batches of one step together
/// are one large batch, and a resumed run reads what the uninterrupted one read. The shuffle is
/// <see cref="Random.Shuffle{T}(T[])"/> of a seeded <see cref="Random"/>, the same on every machine (the rule
/// <see cref="ResponseTask"/> uses).
/// </summary>
internal sealed class EpochOrder
{
    readonly int _count;
    readonly Dictionary<(long Seed, long Epoch), int[]> _orders = [];

    /// <param name="count">How many examples there are (N ≥ 1).</param>
    public EpochOrder(int count)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"Expected at least one example, got {count}.");
        _count = count;
    }

    /// <summary>The index of example <paramref name="k"/> (0-based, counted over the whole run) of the run seeded with <paramref name="seed"/>.</summary>
    public int this[long seed, long k] => Order(seed, k / _count)[k % _count];

    int[] Order(long seed, long epoch)
    {
        lock (_orders)
        {
            if (_orders.TryGetValue((seed, epoch), out var order)) return order;
            order = Enumerable.Range(0, _count).ToArray();
            new Random(unchecked((int)Hashes.StreamSeed(seed, Hashes.EpochStream, epoch))).Shuffle(order);
            return _orders[(seed, epoch)] = order;
        }
    }
}
