namespace LlmNotebooks.Data;

/// <summary>
/// The generator's source of randomness, and its bookkeeper of information. A SplitMix64 stream (Steele, Lea and
/// Flood 2014: add a constant, then mix the bits) gives the same numbers on every machine and .NET version, which
/// System.Random does not promise. Every choice made through a Scribe adds −ln p of the option taken to
/// <see cref="Nats"/>: picking one of 4 equally likely openings costs ln 4 ≈ 1.386 nats, taking "wand" with
/// p = 0.78 costs −ln 0.78 ≈ 0.248 nats. If different options always produce different text, the sum is exactly
/// the information content of the text the choices wrote.
/// </summary>
internal sealed class Scribe(ulong seed)
{
    ulong _state = seed;

    /// <summary>Information spent so far (reset it at the start of each document).</summary>
    public double Nats { get; set; }

    /// <summary>The next 64 random bits (SplitMix64).</summary>
    public ulong NextUInt64()
    {
        return Hashes.SplitMix64(_state += Hashes.SplitMix64Increment);
    }

    /// <summary>A double in [0, 1) from the top 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>An integer in [0, n), uniform (Lemire's multiply-shift; its bias is below n / 2^64). Records nothing.</summary>
    public int Below(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"Expected a positive count of options, got {n}.");
        return (int)(((UInt128)NextUInt64() * (ulong)n) >> 64);
    }

    /// <summary>An index in [0, n), uniformly; costs ln n nats.</summary>
    public int Choose(int n)
    {
        Nats += Math.Log(n);
        return Below(n);
    }

    /// <summary>One of <paramref name="options"/>, uniformly; costs ln n nats.</summary>
    public T Pick<T>(IReadOnlyList<T> options)
    {
        Nats += Math.Log(options.Count);
        return options[Below(options.Count)];
    }

    /// <summary>One of the options, uniformly; costs ln n nats.</summary>
    public string Pick(params string[] options) => Pick((IReadOnlyList<string>)options);

    /// <summary>An index drawn with the given probabilities (they must sum to 1); costs −ln p of the index drawn.</summary>
    public int Weighted(IReadOnlyList<double> probabilities)
    {
        double u = NextDouble(), cumulative = 0;
        int chosen = probabilities.Count - 1;
        for (int i = 0; i < probabilities.Count; i++)
        {
            cumulative += probabilities[i];
            if (u < cumulative) { chosen = i; break; }
        }
        Nats -= Math.Log(probabilities[chosen]);
        return chosen;
    }

    /// <summary>True with probability <paramref name="p"/>; costs −ln p or −ln(1 − p).</summary>
    public bool Chance(double p)
    {
        bool yes = NextDouble() < p;
        Nats -= Math.Log(yes ? p : 1 - p);
        return yes;
    }

    /// <summary>A uniform integer in [min, max] (inclusive); costs ln(max − min + 1) nats.</summary>
    public int Between(int min, int max)
    {
        Nats += Math.Log(max - min + 1);
        return min + Below(max - min + 1);
    }
}
