using System.Security.Cryptography;
using System.Text;

namespace LlmNotebooks;

/// <summary>
/// The library's hash primitives, each written once. All are stable across processes and machines (unlike
/// string.GetHashCode), which is what fingerprints, MinHash signatures and the dataset manifest rely on.
/// </summary>
static class Hashes
{
    const ulong FnvOffset = 14695981039346656037UL, FnvPrime = 1099511628211UL;

    /// <summary>64-bit FNV-1a over a string's UTF-16 code units.</summary>
    public static ulong Fnv1a(string s)
    {
        ulong h = FnvOffset;
        foreach (char c in s) { h ^= c; h *= FnvPrime; }
        return h;
    }

    /// <summary>64-bit FNV-1a over a sequence of 32-bit values (each one xor-ed in whole, e.g. token ids).</summary>
    public static ulong Fnv1a(IEnumerable<int> values)
    {
        ulong h = FnvOffset;
        foreach (int v in values) { h ^= (uint)v; h *= FnvPrime; }
        return h;
    }

    /// <summary>SplitMix64's finalizer: a bijection on 64-bit values that mixes every input bit into every output bit.</summary>
    public static ulong SplitMix64(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>SplitMix64's step: the golden-ratio increment of its state.</summary>
    public const ulong SplitMix64Increment = 0x9E3779B97F4A7C15UL;

    /// <summary>
    /// The seed of one stream of random numbers of a run: <paramref name="stream"/> names what draws (the batches, a
    /// step's dropout masks, a layer's adapter, …) and <paramref name="index"/> which one of it (the step, the layer).
    /// Built from SplitMix64 (a generator whose k-th output from state s is <see cref="SplitMix64"/>(s + k·γ), γ =
    /// <see cref="SplitMix64Increment"/>): the run's seed is mixed into a state, the stream's seed is output
    /// stream + 1 of a generator started there, and the result is output index + 1 of a generator started at the
    /// stream's seed. So the same three numbers give the same seed on every machine; changing any one of them always
    /// changes the result (each step is a bijection); and nearby inputs give unrelated outputs (every input bit reaches
    /// every output bit). A hand-made <c>seed · prime + step</c> has neither: (seed, step + prime) and (seed + 1, step)
    /// give the same number, and neighbouring steps neighbouring seeds.
    /// </summary>
    public static long StreamSeed(long seed, long stream, long index)
    {
        unchecked
        {
            ulong state = SplitMix64((ulong)seed);
            ulong streamSeed = SplitMix64(state + ((ulong)stream + 1) * SplitMix64Increment);
            return (long)SplitMix64(streamSeed + ((ulong)index + 1) * SplitMix64Increment);
        }
    }

    // The library's streams, one number each. A stream is named by what draws from it; its index says which one.

    /// <summary>An RL trainer's rollouts: step s of a run seeded with S samples with StreamSeed(S, RolloutStream, s).</summary>
    public const long RolloutStream = 1;

    /// <summary>A language-modelling step's batch: the windows of step s are drawn with StreamSeed(S, BatchStream, s).</summary>
    public const long BatchStream = 2;

    /// <summary>A task's epoch order: epoch e of the training examples is shuffled with StreamSeed(S, EpochStream, e).</summary>
    public const long EpochStream = 3;

    /// <summary>What a training step draws (dropout masks): step s of the <c>Trainer</c> is seeded with StreamSeed(S, StepStream, s).</summary>
    public const long StepStream = 4;

    /// <summary>A LoRA adapter's initial A: the i-th adapted layer of a config seeded with S starts from StreamSeed(S, AdapterStream, i).</summary>
    public const long AdapterStream = 5;

    /// <summary>A LoRA layer's dropout masks in one step: StreamSeed(layer seed, DropoutStream, step seed).</summary>
    public const long DropoutStream = 6;

    /// <summary>SHA-256 of <paramref name="bytes"/> as 64 lower-case hex digits.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>SHA-256 of the UTF-8 bytes of <paramref name="text"/> as 64 lower-case hex digits.</summary>
    public static string Sha256Hex(string text) => Sha256Hex(Encoding.UTF8.GetBytes(text));
}
