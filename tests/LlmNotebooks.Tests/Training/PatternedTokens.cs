namespace LlmNotebooks.Tests.Training;

/// <summary>Token streams with structure for training tests: after token t comes (t · 3 + 1) mod 11 nine times in ten.</summary>
static class PatternedTokens
{
    public static int[] Make(int length, int seed)
    {
        var rng = new System.Random(seed);
        var tokens = new int[length];
        for (int i = 1; i < length; i++) tokens[i] = rng.NextDouble() < 0.9 ? (tokens[i - 1] * 3 + 1) % 11 : rng.Next(11);
        return tokens;
    }
}
