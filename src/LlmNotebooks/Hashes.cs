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

    /// <summary>SHA-256 of <paramref name="bytes"/> as 64 lower-case hex digits.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>SHA-256 of the UTF-8 bytes of <paramref name="text"/> as 64 lower-case hex digits.</summary>
    public static string Sha256Hex(string text) => Sha256Hex(Encoding.UTF8.GetBytes(text));
}
