using LlmNotebooks.Alignment;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment;

/// <summary>
/// Token ids outside the vocabulary in DPO's responses, and a reward read outside a row, are refused with the position
/// and the valid range (an index error from a gather named neither).
/// </summary>
public class TokenRangeTests
{
    static readonly GptConfig Small = new(VocabSize: 8, BlockSize: 8, Layers: 1, Heads: 2, Channels: 16);

    static Gpt Model()
    {
        manual_seed(4);
        return new Gpt(Small);
    }

    [Fact]
    public void A_DPO_response_with_an_id_outside_the_vocabulary_is_refused_with_its_position_and_the_range()
    {
        using var policy = Model();
        using var reference = policy.Copy(frozen: true);
        var pairs = new List<PairTokens> { new([1, 2], [3, 4, 1], [5, 6, 1]), new([1, 2], [3, 1], [5, 6, 9]) };
        var task = new DpoTask(reference, pairs, null, padToken: 0);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(policy, task, DpoTask.Options(steps: 1, batchSize: 2)));
        Assert.Equal("The rejected response of training pair 1 holds token id 9 at position 2 of the response (position 4 of prompt + response), " +
                     "outside the policy's vocabulary [0, 8) (valid ids are 0 to 7). Was it encoded with another tokenizer, or is the model's VocabSize too small? (Parameter 'model')", e.Message);

        var badPrompt = new DpoTask(reference, [new([1, -1], [3], [4])], null, padToken: 0);
        Assert.Contains("holds token id -1 at position 1 of the prompt, outside the policy's vocabulary [0, 8)",
                        Assert.Throws<ArgumentException>(() => new Trainer(policy, badPrompt, DpoTask.Options(steps: 1, batchSize: 1))).Message);
    }

    [Fact]
    public void Scoring_a_response_whose_last_token_is_outside_the_vocabulary_names_the_row_and_position()
    {
        using var model = Model();
        using var batch = ResponseBatch.Create([[1, 2], [1, 2]], [[3, 4], [5, 8]], padToken: 0, Small.BlockSize);   // 8 is only ever a target
        var e = Assert.Throws<ArgumentException>(() => SequenceLogProbs.Summed(model, batch));
        Assert.Equal("Row 1 of the batch holds token id 8 at position 1 of its response (position 3 of the row), outside the model's vocabulary [0, 8) " +
                     "(valid ids are 0 to 7). Was it encoded with another tokenizer? (Parameter 'batch')", e.Message);
    }

    [Fact]
    public void The_reward_model_refuses_a_last_index_outside_the_row_and_ids_outside_the_vocabulary()
    {
        using var rm = new RewardModel(Model());
        using var tokens = tensor(new long[] { 1, 2, 3, 1, 2, 3 }, [2, 3]);
        using var last = tensor(new long[] { 2, 3 });
        var e = Assert.Throws<ArgumentException>(() => rm.forward(tokens, last));
        Assert.Equal("lastIndex[1] is 3, outside the positions [0, 3) of the batch's rows (T = 3): the reward is read at each row's last real token, " +
                     "so it must lie in the row. Take it from ResponseBatch.LastIndex. (Parameter 'lastIndex')", e.Message);
        using var negative = tensor(new long[] { -1, 2 });
        Assert.StartsWith("lastIndex[0] is -1, outside the positions [0, 3)", Assert.Throws<ArgumentException>(() => rm.forward(tokens, negative)).Message);
        using var one = tensor(new long[] { 2 });
        Assert.StartsWith("Expected lastIndex as one int64 position per row, shape (2), got Int64 (1).", Assert.Throws<ArgumentException>(() => rm.forward(tokens, one)).Message);

        e = Assert.Throws<ArgumentException>(() => rm.Score([1, 2], [3, 11], padToken: 0));
        Assert.Equal("Sequence 0 holds token id 11 at position 1 of the response (position 3 of prompt + response), outside the reward model's vocabulary [0, 8) " +
                     "(valid ids are 0 to 7). Was it encoded with another tokenizer? (Parameter 'responses')", e.Message);
        using (no_grad()) Assert.Equal([2], rm.forward(tokens, tensor(new long[] { 2, 1 })).shape);
    }
}
