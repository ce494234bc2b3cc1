using LlmNotebooks.Alignment;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment;

public class RewardModelTests
{
    static readonly GptConfig Small = new(VocabSize: 8, BlockSize: 8, Layers: 1, Heads: 2, Channels: 16);
    const int Pad = 0;

    static RewardModel Fresh(int seed = 1)
    {
        manual_seed(seed);
        return new RewardModel(new Gpt(Small));
    }

    static IReadOnlyList<int> L(params int[] ids) => ids;

    [Fact]
    public void The_bradley_terry_loss_is_minus_log_sigmoid_of_the_difference()
    {
        // r_c − r_r = 1 → log(1 + e^−1) = 0.3132617; = −2 → log(1 + e²) = 2.1269280; mean 1.2200948
        var loss = RewardModel.BradleyTerryLoss(tensor(new[] { 1.5f, -1f }), tensor(new[] { 0.5f, 1f }));
        Assert.Equal(1.2200948, loss.item<float>(), 5);
        Assert.Equal(Math.Log(2), RewardModel.BradleyTerryLoss(tensor(new[] { 3f }), tensor(new[] { 3f })).item<float>(), 5);
    }

    [Fact]
    public void A_score_reads_the_last_real_token_so_padding_does_not_change_it()
    {
        using var rm = Fresh();
        double alone = rm.Score(L(1, 2), L(3, 4), Pad);
        var batch = rm.Score([L(1, 2), L(5)], [L(3, 4), L(6, 7, 3, 2, 1)], Pad);   // the first row is padded now
        Assert.Equal(alone, batch[0], 5);
        Assert.NotEqual(batch[0], batch[1]);
    }

    [Fact]
    public void It_learns_a_simple_preference_and_generalises_to_unseen_pairs()
    {
        // the "human" prefers answers that end in token 3 over answers that end in token 4, whatever comes before
        var random = new Random(2);
        PairTokens Pair() { var body = Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(5, 8)).ToList(); return new PairTokens(L(1, 2), [.. body, 3], [.. body, 4]); }
        var train = Enumerable.Range(0, 64).Select(_ => Pair()).ToList();
        var heldOut = Enumerable.Range(0, 32).Select(_ => Pair()).ToList();
        using var rm = Fresh();
        double before = rm.Accuracy(heldOut, Pad);
        var history = rm.Fit(train, Pad, steps: 40, batchSize: 16, learningRate: 3e-3, seed: 1);
        Assert.Equal(40, history.Count);
        Assert.True(history[^1].Loss < 0.5 * history[0].Loss, $"loss {history[0].Loss:F3} → {history[^1].Loss:F3}");
        Assert.Equal(1.0, rm.Accuracy(heldOut, Pad));
        Assert.True(before < 1.0, $"an untrained head is not already perfect ({before})");
    }

    [Fact]
    public void A_sequence_longer_than_its_context_is_refused_naming_the_reward_model()
    {
        using var rm = Fresh();
        var e = Assert.Throws<ArgumentException>(() => rm.Score(L(1, 2, 3), L(4, 5, 6, 7, 5, 6), Pad));
        Assert.Contains("3 prompt + 6 response = 9 tokens, longer than the reward model's context window of 8 tokens", e.Message);
        var fit = Assert.Throws<ArgumentException>(() => rm.Fit([new PairTokens(L(1), L(2), L(2, 3, 4, 5, 6, 7, 1, 2))], Pad, steps: 1));
        Assert.Contains("reward model's context window of 8", fit.Message);
        Assert.Contains("at least one preference pair", Assert.Throws<ArgumentException>(() => rm.Fit([], Pad, 1)).Message);
    }

    [Fact]
    public void The_value_model_gives_one_value_per_prediction_and_starts_at_zero()
    {
        manual_seed(4);
        using var critic = new ValueModel(new Gpt(Small));
        using var batch = ResponseBatch.Create([L(1, 2), L(3)], [L(4, 5), L(6, 7, 2)], Pad, Small.BlockSize);
        var values = critic.forward(batch.Tokens);
        Assert.Equal(batch.ResponseMask.shape, values.shape);
        Assert.Equal(0f, values.abs().max().item<float>());
    }
}
