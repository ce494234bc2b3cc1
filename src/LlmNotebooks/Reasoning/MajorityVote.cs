namespace LlmNotebooks.Reasoning;

/// <summary>
/// Test-time scaling by voting ("self-consistency", Wang et al. 2022): sample K solutions, read each one's final
/// answer, and answer with the most frequent. Beside it, the closed form that says how much voting can help when the
/// K samples are independent.
/// <para>
/// <b>Ties</b> are broken deterministically: among the answers with the most votes, the one that was sampled
/// <b>first</b> wins. Because the samples are exchangeable (any order is as likely as any other), this is the same as
/// a fair coin between the tied answers, which is how <see cref="IndependentAccuracy(double, int)"/> counts them.
/// Unreadable answers (null) do not vote; when none is readable the vote has no answer and counts as wrong.
/// </para>
/// <code>
/// MajorityVote.Decide([12, null, 7, 7, 12])          // Answer 12: two votes each, 12 came first
/// MajorityVote.IndependentAccuracy(0.6, 3)            // 0.6³ + 3·0.6²·0.4 = 0.648
/// </code>
/// </summary>
public static class MajorityVote
{
    /// <summary>The majority answer of <paramref name="answers"/> (K = its length, ≥ 1).</summary>
    /// <exception cref="ArgumentException">No answers at all (K = 0).</exception>
    public static VoteResult Decide(IReadOnlyList<long?> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        RequireK(answers.Count, nameof(answers));
        var counts = new Dictionary<long, int>();
        var firstSeen = new List<long>();                                  // each answer once, in the order first sampled
        foreach (var answer in answers)
        {
            if (answer is not long a) continue;
            if (counts.TryGetValue(a, out int n)) counts[a] = n + 1;
            else { counts[a] = 1; firstSeen.Add(a); }
        }
        if (firstSeen.Count == 0) return new VoteResult(null, 0, 0, answers.Count);
        long winner = firstSeen[0];
        foreach (long a in firstSeen) if (counts[a] > counts[winner]) winner = a;     // strictly more: an earlier answer keeps a tie
        return new VoteResult(winner, counts[winner], counts.Values.Sum(), answers.Count);
    }

    /// <summary>
    /// Measured accuracy of a K-vote: for each problem, its samples are cut into ⌊N/K⌋ disjoint blocks of K consecutive
    /// samples (N = samples per problem); each block votes; the result is the fraction of right votes over all blocks
    /// of all problems. K = 1 is therefore exactly the single-sample accuracy, and K = N uses every sample once.
    /// </summary>
    /// <param name="answers">Per problem, its N sampled answers (null = unreadable), in the order sampled.</param>
    /// <param name="expected">Per problem, the right answer.</param>
    /// <param name="k">Votes per decision, 1 ≤ K ≤ N.</param>
    public static double Accuracy(IReadOnlyList<IReadOnlyList<long?>> answers, IReadOnlyList<long> expected, int k)
    {
        ArgumentNullException.ThrowIfNull(answers);
        ArgumentNullException.ThrowIfNull(expected);
        RequireK(k, nameof(k));
        if (answers.Count != expected.Count)
            throw new ArgumentException($"There are {answers.Count} problems' answers but {expected.Count} expected answers: give one expected answer per problem.", nameof(expected));
        if (answers.Count == 0) throw new ArgumentException("There are no problems to measure: give at least one.", nameof(answers));
        int right = 0, votes = 0;
        for (int i = 0; i < answers.Count; i++)
        {
            var samples = answers[i];
            if (samples.Count < k)
                throw new ArgumentException($"Problem {i} has {samples.Count} samples, fewer than K = {k}: sample at least K per problem.", nameof(k));
            for (int start = 0; start + k <= samples.Count; start += k)
            {
                var block = new long?[k];
                for (int j = 0; j < k; j++) block[j] = samples[start + j];
                if (Decide(block).Answer == expected[i]) right++;
                votes++;
            }
        }
        return right / (double)votes;
    }

    /// <summary>
    /// The closed form: the chance that a majority vote of <paramref name="k"/> <b>independent</b> samples is right,
    /// when each is right with probability <paramref name="p"/> and every wrong sample gives the <i>same</i> wrong
    /// answer (the worst case; wrong answers that scatter can only help the right one):
    /// <c>Σ_{i &gt; K/2} C(K, i) pⁱ (1 − p)^{K−i}</c>, plus, for even K, half of the tie <c>C(K, K/2) p^{K/2} (1 − p)^{K/2}</c>,
    /// because a tie goes to whichever answer came first, the right one half the time. K = 1 gives p; K = 2 gives p
    /// too (a tie is a coin toss); K = 3 gives p³ + 3p²(1 − p). For p &gt; ½ it rises to 1 as K grows, for p &lt; ½ it
    /// falls to 0.
    /// </summary>
    /// <remarks>
    /// Each term is computed in log space, <c>exp(ln C(K, i) + i ln p + (K − i) ln(1 − p))</c>, with ln C(K, i) summed
    /// as logarithms (compensated summation), so nothing overflows: C(K, i) alone passes 10³⁰⁸ (double's largest) near
    /// K = 1,030, where the direct product gave ∞ · 0 = NaN or a clamped 1. Terms too small for a double (below about
    /// 10⁻³⁰⁸) are 0. The win and the loss side are both summed, and the smaller one gives the answer (a win
    /// probability near 1 is 1 − the small loss sum), so rounding in the large terms of a large K cannot push the
    /// result away from 1 or break its monotonicity in K. Cost: O(K) per call (about a millisecond for K = 100,000).
    /// </remarks>
    /// <exception cref="ArgumentException">p is not a probability, or K &lt; 1.</exception>
    public static double IndependentAccuracy(double p, int k)
    {
        Guard.Finite(p, nameof(p), 0, 1, "It is a single sample's accuracy, a probability.");
        RequireK(k, nameof(k));
        if (p == 0) return 0;                                         // every sample wrong: the wrong answer always wins
        if (p == 1) return 1;
        double logP = Math.Log(p), logQ = Math.Log(1 - p);
        double logChoose = 0, compensation = 0;                       // ln C(k, i), updated as i grows (Kahan summation)
        double win = 0, lose = 0;
        for (int i = 0; i <= k; i++)
        {
            if (i > 0)
            {
                double step = Math.Log(k - i + 1) - Math.Log(i) - compensation;
                double sum = logChoose + step;
                compensation = sum - logChoose - step;
                logChoose = sum;
            }
            double term = Math.Exp(logChoose + i * logP + (k - i) * logQ);
            if (2 * i > k) win += term;
            else if (2 * i < k) lose += term;
            else { win += term / 2; lose += term / 2; }               // a tie: the right answer came first half the time
        }
        double total = win + lose;                                    // 1 up to rounding
        return Math.Clamp(win <= lose ? win / total : 1 - lose / total, 0, 1);
    }

    /// <summary>
    /// The closed form averaged over problems, each with its own single-sample accuracy pᵢ:
    /// mean over i of <see cref="IndependentAccuracy(double, int)"/>(pᵢ, K). This is what explains why measured voting
    /// stops short of 100%: as K grows, a problem the model gets right more than half the time is won for certain, but
    /// one it usually gets wrong is lost for certain, so the curve levels off at the fraction of problems with pᵢ &gt; ½
    /// (ties at exactly ½ count half), not at 1 — while the same formula on the mean p alone would promise 1
    /// whenever the mean is above ½.
    /// </summary>
    public static double IndependentAccuracy(IReadOnlyList<double> perProblem, int k)
    {
        ArgumentNullException.ThrowIfNull(perProblem);
        if (perProblem.Count == 0) throw new ArgumentException("Give at least one problem's accuracy.", nameof(perProblem));
        return perProblem.Average(p => IndependentAccuracy(p, k));
    }

    static void RequireK(int k, string name)
    {
        if (k <= 0)
            throw new ArgumentException($"K, the number of sampled answers that vote, must be ≥ 1, got {k}. K = 1 is a single sample without a vote.", name);
    }
}
