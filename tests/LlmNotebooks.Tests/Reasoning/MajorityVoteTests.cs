using LlmNotebooks.Reasoning;

namespace LlmNotebooks.Tests.Reasoning;

public class MajorityVoteTests
{
    [Fact]
    public void TheMostFrequentReadableAnswerWins()
    {
        Assert.Equal(new VoteResult(7, 3, 5, 6), MajorityVote.Decide([7, 12, 7, null, 12, 7]));
        Assert.Equal(new VoteResult(5, 1, 1, 1), MajorityVote.Decide([5]));
        Assert.Equal(new VoteResult(4, 2, 3, 5), MajorityVote.Decide([null, null, 9, 4, 4]));     // unreadable answers do not vote
        Assert.Equal(new VoteResult(null, 0, 0, 3), MajorityVote.Decide([null, null, null]));     // nothing readable: no answer
    }

    [Fact]
    public void ATieGoesToTheAnswerSampledFirst()
    {
        Assert.Equal(12, MajorityVote.Decide([12, null, 7, 7, 12]).Answer);
        Assert.Equal(7, MajorityVote.Decide([null, 7, 12, 12, 7]).Answer);
        Assert.Equal(3, MajorityVote.Decide([3, 1, 2]).Answer);
        Assert.Equal(1, MajorityVote.Decide([3, 1, 2, 1]).Answer);           // not a tie: 1 has two votes
    }

    [Fact]
    public void KBelowOneIsRefusedWithTheReason()
    {
        var none = Assert.Throws<ArgumentException>(() => MajorityVote.Decide([]));
        Assert.Contains("must be ≥ 1, got 0", none.Message);
        Assert.Contains("K, the number of sampled answers", none.Message);
        Assert.Contains("got -2", Assert.Throws<ArgumentException>(() => MajorityVote.IndependentAccuracy(0.5, -2)).Message);
        Assert.Contains("got 0", Assert.Throws<ArgumentException>(() => MajorityVote.Accuracy([[1L]], [1], 0)).Message);
        Assert.Contains("fewer than K = 3", Assert.Throws<ArgumentException>(() => MajorityVote.Accuracy([[1L, 1L]], [1], 3)).Message);
        Assert.Contains("one expected answer per problem", Assert.Throws<ArgumentException>(() => MajorityVote.Accuracy([[1L]], [1, 2], 1)).Message);
        Assert.Contains("a probability", Assert.Throws<ArgumentException>(() => MajorityVote.IndependentAccuracy(double.NaN, 1)).Message);
    }

    [Fact]
    public void MeasuredAccuracyVotesInDisjointBlocks()
    {
        IReadOnlyList<IReadOnlyList<long?>> answers = [[5, 5, 1, 1, 1, 5], [2, null, 2, 2, 3, 3]];
        long[] expected = [5, 2];
        Assert.Equal((3 + 3) / 12.0, MajorityVote.Accuracy(answers, expected, 1));   // K = 1: the single-sample accuracy
        // K = 2: blocks [5,5] ✓ [1,1] ✗ [1,5] ✗ (tie → 1 first) | [2,null] ✓ [2,2] ✓ [3,3] ✗
        Assert.Equal(3 / 6.0, MajorityVote.Accuracy(answers, expected, 2));
        // K = 3: [5,5,1] ✓ [1,1,5] ✗ | [2,null,2] ✓ [2,3,3] ✗
        Assert.Equal(2 / 4.0, MajorityVote.Accuracy(answers, expected, 3));
        // K = 4: one block each (the last two samples unused): [5,5,1,1] tie → 5 ✓ | [2,null,2,2] ✓
        Assert.Equal(1.0, MajorityVote.Accuracy(answers, expected, 4));
    }

    [Theory]
    [InlineData(0.6)]
    [InlineData(0.3)]
    [InlineData(0.95)]
    public void TheClosedFormMatchesHandWorkedBinomials(double p)
    {
        double q = 1 - p;
        Assert.Equal(p, MajorityVote.IndependentAccuracy(p, 1), 12);
        Assert.Equal(p * p + p * q, MajorityVote.IndependentAccuracy(p, 2), 12);                       // a 1–1 tie is a coin toss
        Assert.Equal(p * p * p + 3 * p * p * q, MajorityVote.IndependentAccuracy(p, 3), 12);
        Assert.Equal(Math.Pow(p, 4) + 4 * Math.Pow(p, 3) * q + 0.5 * 6 * p * p * q * q, MajorityVote.IndependentAccuracy(p, 4), 12);
        Assert.Equal(Math.Pow(p, 5) + 5 * Math.Pow(p, 4) * q + 10 * Math.Pow(p, 3) * q * q, MajorityVote.IndependentAccuracy(p, 5), 12);
        // With ties counted half, right and wrong are symmetric: P(right | p) + P(right | 1 − p) = 1 for every K.
        foreach (int k in new[] { 1, 2, 7, 16, 32 })
            Assert.Equal(1.0, MajorityVote.IndependentAccuracy(p, k) + MajorityVote.IndependentAccuracy(q, k), 12);
        Assert.Equal(0.648, MajorityVote.IndependentAccuracy(0.6, 3), 12);
        Assert.Equal(1.0, MajorityVote.IndependentAccuracy(1, 9));
        Assert.Equal(0.0, MajorityVote.IndependentAccuracy(0, 9));
    }

    [Fact]
    public void TheClosedFormAgreesWithSimulatedBinaryVotes()
    {
        var random = new Random(4);
        foreach (var (p, k) in new[] { (0.55, 5), (0.7, 8), (0.4, 11) })
        {
            int right = 0, trials = 20_000;
            for (int t = 0; t < trials; t++)
            {
                var votes = Enumerable.Range(0, k).Select(_ => random.NextDouble() < p ? 1L : 0L).Select(v => (long?)v).ToList();
                if (MajorityVote.Decide(votes).Answer == 1) right++;                              // the library's own vote and tie rule
            }
            Assert.Equal(MajorityVote.IndependentAccuracy(p, k), right / (double)trials, 0.015);
        }
    }

    [Fact]
    public void PerProblemAccuraciesLevelOffAtTheShareOfProblemsMostlyRight()
    {
        double[] perProblem = [0.9, 0.8, 0.3, 0.1];                     // mean 0.525
        Assert.Equal((MajorityVote.IndependentAccuracy(0.9, 3) + MajorityVote.IndependentAccuracy(0.8, 3) +
                      MajorityVote.IndependentAccuracy(0.3, 3) + MajorityVote.IndependentAccuracy(0.1, 3)) / 4, MajorityVote.IndependentAccuracy(perProblem, 3), 12);
        Assert.Equal(0.5, MajorityVote.IndependentAccuracy(perProblem, 201), 3);          // two of four problems are won, two lost
        Assert.True(MajorityVote.IndependentAccuracy(0.525, 201) > 0.7);                  // while the mean alone promises more
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => MajorityVote.IndependentAccuracy(Array.Empty<double>(), 3)).Message);
    }

    /// <summary>The sum written out with exact binomials (BigInteger), for small K: the reference for the log-space terms.</summary>
    static double Direct(double p, int k)
    {
        double total = 0;
        System.Numerics.BigInteger choose = 1;
        for (int i = 0; i <= k; i++)
        {
            if (i > 0) choose = choose * (k - i + 1) / i;
            double weight = 2 * i > k ? 1 : 2 * i == k ? 0.5 : 0;
            if (weight > 0) total += weight * (double)choose * Math.Pow(p, i) * Math.Pow(1 - p, k - i);
        }
        return total;
    }

    [Fact]
    public void IndependentAccuracyMatchesTheDirectSumForSmallK()
    {
        Assert.Equal(0.648, MajorityVote.IndependentAccuracy(0.6, 3), 12);
        foreach (double p in new[] { 0.0, 0.01, 0.3, 0.5, 0.6, 0.9, 0.999, 1.0 })
            for (int k = 1; k <= 200; k++)
                Assert.Equal(Direct(p, k), MajorityVote.IndependentAccuracy(p, k), 10);
    }

    /// <summary>Issue 24: above K ≈ 1,030 the binomial C(K, i) overflowed a double and the result was 1 or NaN.</summary>
    [Fact]
    public void IndependentAccuracyStaysCorrectForLargeK()
    {
        int[] ks = [1, 3, 11, 101, 1001, 1029, 1031, 1101, 2001, 10_001, 100_001];
        foreach (double p in new[] { 0.3, 0.45, 0.49, 0.5, 0.51, 0.55, 0.7 })
        {
            var curve = ks.Select(k => MajorityVote.IndependentAccuracy(p, k)).ToList();
            Assert.All(curve, a => Assert.InRange(a, 0.0, 1.0));                           // finite, a probability
            for (int i = 1; i < curve.Count; i++)
                if (p > 0.5) Assert.True(curve[i] >= curve[i - 1] - 1e-12, $"p = {p}: rises with K ({ks[i - 1]} → {ks[i]}: {curve[i - 1]} → {curve[i]})");
                else if (p < 0.5) Assert.True(curve[i] <= curve[i - 1] + 1e-12, $"p = {p}: falls with K ({ks[i - 1]} → {ks[i]}: {curve[i - 1]} → {curve[i]})");
        }
        // p = ½: a fair coin, whatever K (the tie counts half), and p and 1 − p mirror each other.
        foreach (int k in new[] { 1030, 1031, 5000, 100_000 })
        {
            Assert.Equal(0.5, MajorityVote.IndependentAccuracy(0.5, k), 9);
            Assert.Equal(1.0, MajorityVote.IndependentAccuracy(0.52, k) + MajorityVote.IndependentAccuracy(0.48, k), 9);
        }
        // p = 0.51, K = 100,001: mean 51,000.5, sd 158.1; the majority needs 50,001: z ≈ 6.3, so about 1 − 1e-10 (not the old NaN).
        double big = MajorityVote.IndependentAccuracy(0.51, 100_001);
        Assert.InRange(big, 1 - 1e-8, 1.0);
        Assert.InRange(MajorityVote.IndependentAccuracy(0.49, 100_001), 0.0, 1e-8);
        // K = 1,101 at p = 0.55: the normal approximation gives Φ(3.32) ≈ 0.99955.
        Assert.InRange(MajorityVote.IndependentAccuracy(0.55, 1101), 0.9993, 0.9998);
    }
}
