using LlmNotebooks.FineTuning.Instructions;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Training;

/// <summary>
/// The library's one SFT: <see cref="MaskedCrossEntropy"/> is PyTorch's −100 cross-entropy, and instruction pairs
/// (chapter 5) and (prompt, response) pairs (chapter 6) go through the same <see cref="ResponseTask"/>, batch and order.
/// </summary>
public class SupervisedFineTuningTests
{
    static IReadOnlyList<int> L(params int[] ids) => ids;

    const string Text = "Mira took the wand and walked to the river. Tim found a cup in Venwick. The Eldala River is long. ";
    static readonly Lazy<BpeTokenizer> Chat = new(() => InstructionTemplate.ExtendTokenizer(BpeTokenizer.Train(string.Concat(Enumerable.Repeat(Text, 20)), 300, ["<|endoftext|>"])));

    static Gpt Model(int vocabSize, int blockSize, long seed = 3)
    {
        using var _ = LlmNotebooks.Tensors.TorchRandom.Seeded(seed);
        return new Gpt(new GptConfig(vocabSize, blockSize, Layers: 1, Heads: 2, Channels: 16));
    }

    /// <summary>Prompts of 3 and 1 tokens, responses of 2 and 2: row 1 is padded with 50, an id outside the 11-token vocabulary.</summary>
    static ResponseBatch Padded() => ResponseBatch.Create([L(1, 2, 3), L(4)], [L(5, 6), L(7, 8)], padToken: 50, blockSize: 8);

    [Fact]
    public void The_masked_loss_is_cross_entropy_with_ignore_index_minus_100_on_a_padded_batch_with_a_masked_prompt()
    {
        using var scope = NewDisposeScope();
        using var batch = Padded();
        // Tokens [1 2 3 5 6] and [4 7 8 50 50]; position t predicts token t + 1. Row 0 learns 5, 6 (not its prompt's 2, 3),
        // row 1 learns 7, 8 (not the padding).
        var labels = tensor(new long[] { -100, -100, 5, 6, 7, 8, -100, -100 }).reshape(2, 4);
        Assert.Equal(labels.data<long>().ToArray(), MaskedCrossEntropy.Labels(batch.Targets, batch.ResponseMask).data<long>().ToArray());

        var logits = randn(new long[] { 2, 4, 11 }, generator: new Generator(5)).requires_grad_();
        var (sum, count) = MaskedCrossEntropy.Sum(logits, batch.Targets, batch.ResponseMask);
        Assert.Equal(4, count);
        var reference = nn.functional.cross_entropy(logits.reshape(-1, 11), labels.reshape(-1), ignore_index: -100, reduction: nn.Reduction.Sum);
        Assert.Equal(reference.item<float>(), sum.item<float>());

        var mean = MaskedCrossEntropy.Mean(logits, batch.Targets, batch.ResponseMask);
        var referenceMean = nn.functional.cross_entropy(logits.reshape(-1, 11), labels.reshape(-1), ignore_index: -100);
        var byHand = -(logits.log_softmax(-1).gather(-1, tensor(new long[] { 0, 0, 5, 6, 7, 8, 0, 0 }).reshape(2, 4, 1)).squeeze(-1)
                       * tensor(new float[] { 0, 0, 1, 1, 1, 1, 0, 0 }).reshape(2, 4)).sum() / 4;
        Assert.Equal(referenceMean.item<float>(), mean.item<float>(), 1e-6f);
        Assert.Equal(byHand.item<float>(), mean.item<float>(), 1e-6f);

        var grad = autograd.grad([mean], [logits])[0];
        var referenceGrad = autograd.grad([referenceMean], [logits])[0];
        Assert.True(grad.allclose(referenceGrad, rtol: 0, atol: 1e-7), "the gradient is cross-entropy's too");
        Assert.Equal(0f, grad.reshape(8, 11)[0].abs().sum().item<float>());                 // a masked prompt position learns nothing
        Assert.Equal(0f, grad.reshape(8, 11)[7].abs().sum().item<float>());                 // nor does padding
    }

    [Fact]
    public void A_batch_with_nothing_to_learn_has_loss_zero_and_a_zero_gradient_not_NaN()
    {
        using var scope = NewDisposeScope();
        using var padded = Padded();
        var logits = randn(new long[] { 2, 4, 11 }, generator: new Generator(6)).requires_grad_();
        var none = zeros_like(padded.ResponseMask);
        var (sum, count) = MaskedCrossEntropy.Sum(logits, padded.Targets, none);
        Assert.Equal(0, count);
        var mean = MaskedCrossEntropy.Mean(logits, padded.Targets, none);
        Assert.Equal(0f, sum.item<float>());
        Assert.Equal(0f, mean.item<float>());
        mean.backward();
        Assert.Equal(0f, logits.grad!.abs().sum().item<float>());
        Assert.True(MaskedCrossEntropy.Labels(padded.Targets, none).eq(MaskedCrossEntropy.IgnoreIndex).all().item<bool>());
    }

    [Fact]
    public void The_loss_refuses_weights_in_the_mask_learned_ids_outside_the_vocabulary_and_mismatched_shapes()
    {
        using var scope = NewDisposeScope();
        using var padded = Padded();
        var (targets, mask) = (padded.Targets, padded.ResponseMask);
        var logits = zeros(2, 4, 11);
        Assert.Contains("other than 0 and 1", Assert.Throws<ArgumentException>(() => MaskedCrossEntropy.Sum(logits, targets, mask * 0.5)).Message);
        Assert.Contains("outside [0, 7)", Assert.Throws<ArgumentException>(() => MaskedCrossEntropy.Sum(zeros(2, 4, 7), targets, mask)).Message);
        Assert.Contains("(B, T, V)", Assert.Throws<ArgumentException>(() => MaskedCrossEntropy.Sum(zeros(2, 4), targets, mask)).Message);
        Assert.Contains("targets", Assert.Throws<ArgumentException>(() => MaskedCrossEntropy.Sum(zeros(2, 3, 11), targets, mask)).Message);
        Assert.Contains("mask", Assert.Throws<ArgumentException>(() => MaskedCrossEntropy.Sum(logits, targets, mask.narrow(1, 0, 3))).Message);
        Assert.Contains("int64", Assert.Throws<ArgumentException>(() => MaskedCrossEntropy.Sum(logits, targets.to(int32), mask)).Message);
        Assert.Equal(4, MaskedCrossEntropy.Sum(logits, targets, mask.to(ScalarType.Bool)).Count);            // a bool mask is a mask too
    }

    // The documented order of 10 examples over two epochs: epoch e is 0 … 9 shuffled by
    // new Random((int)StreamSeed(seed, EpochStream, e)). Both SFT tasks read it (chapter 5 trains with the default seed, 1234).
    static int[] Documented(long seed) => [.. Enumerable.Range(0, 2).SelectMany(epoch =>
    {
        int[] order = [.. Enumerable.Range(0, 10)];
        new Random(unchecked((int)Hashes.StreamSeed(seed, Hashes.EpochStream, epoch))).Shuffle(order);
        return order;
    })];
    static readonly int[] Seed1234 = Documented(1234), Seed1 = Documented(1);

    [Fact]
    public void The_documented_order_is_a_fresh_permutation_each_epoch_and_each_seed()
    {
        Assert.All(new[] { Seed1234, Seed1 }, o => { Assert.Equal(Enumerable.Range(0, 10), o[..10].Order()); Assert.Equal(Enumerable.Range(0, 10), o[10..].Order()); });
        Assert.NotEqual(Seed1234[..10], Seed1234[10..]);
        Assert.NotEqual(Seed1234, Seed1);
    }

    [Fact]
    public void Prompt_response_pairs_are_read_in_the_documented_seeded_order()
    {
        // Pair i has a response of i + 1 tokens, so the count of a one-pair batch says which pair was read.
        var pairs = Enumerable.Range(0, 10).Select(i => (L(1), (IReadOnlyList<int>)Enumerable.Repeat(2, i + 1).ToArray())).ToList();
        var task = new ResponseTask(pairs, null, 0);
        using var model = Model(20, 16);
        using var scope = NewDisposeScope();
        int Read(int step, int part, int parts, long seed) => (int)task.TrainLoss(model, step, part, parts, 1, seed).Count - 1;
        Assert.Equal(Seed1234, Enumerable.Range(0, 20).Select(s => Read(s, 0, 1, 1234)));
        Assert.Equal(Seed1, Enumerable.Range(0, 20).Select(s => Read(s, 0, 1, 1)));
        Assert.Equal(Seed1234[7], Read(3, 1, 2, 1234));                                        // k = step · parts + part = 7
        Assert.Equal(1234, new TrainerOptions().Seed);                                         // the seed chapter 5 trains with
    }

    [Fact]
    public void Instruction_pairs_are_read_in_the_same_documented_order()
    {
        var batcher = new InstructionBatcher(Chat.Value, 64);
        var examples = Enumerable.Range(0, 10).Select(i => new InstructionExample($"Who took the wand number {i}?", string.Join(" ", Enumerable.Repeat("the", i + 1)))).ToList();
        var learned = examples.Select(e => { var x = batcher.Encode(e); return x.Ids.Length - x.PromptLength; }).ToList();
        Assert.Equal(10, learned.Distinct().Count());
        var task = new InstructionTask(batcher, examples, null);
        using var model = Model(Chat.Value.VocabSize, 64);
        using var scope = NewDisposeScope();
        int Read(int step, long seed) => learned.IndexOf((int)task.TrainLoss(model, step, 0, 1, 1, seed).Count);
        Assert.Equal(Seed1234, Enumerable.Range(0, 20).Select(s => Read(s, 1234)));
        Assert.Equal(Seed1, Enumerable.Range(0, 20).Select(s => Read(s, 1)));
    }

    static readonly InstructionExample[] Mixed = Enumerable.Range(0, 24)
        .Select(i => new InstructionExample($"Who took the {(i % 2 == 0 ? "wand" : "cup")} number {i} in the river?", i % 3 == 0 ? "Mira" : "Tim found a cup")).ToArray();

    /// <summary>
    /// What InstructionTask computed before it became a ResponseTask, written out: the model reads ids[0 … n−2] padded
    /// with &lt;pad&gt;, the labels are ids[1 … n−1] with −100 on the prompt (when masked) and on the padding, and the
    /// loss is cross-entropy's sum with ignore index −100.
    /// </summary>
    static (float Sum, long Count) FormerInstructionLoss(Gpt model, InstructionBatcher batcher, IReadOnlyList<InstructionExample> examples)
    {
        var encoded = examples.Select(e => batcher.Encode(e)).ToList();
        int T = encoded.Max(e => e.Ids.Length) - 1, B = encoded.Count;
        var input = Enumerable.Repeat((long)batcher.Ids.Pad, B * T).ToArray();
        var labels = Enumerable.Repeat(-100L, B * T).ToArray();
        for (int b = 0; b < B; b++)
            for (int t = 0; t + 1 < encoded[b].Ids.Length; t++)
            {
                input[b * T + t] = encoded[b].Ids[t];
                if (!batcher.MaskPrompt || t + 1 >= encoded[b].PromptLength) labels[b * T + t] = encoded[b].Ids[t + 1];
            }
        var logits = model.forward(tensor(input).reshape(B, T));
        var sum = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), tensor(labels), ignore_index: -100, reduction: nn.Reduction.Sum);
        return (sum.item<float>(), labels.Count(l => l != -100));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Instruction_SFT_is_a_ResponseTask_over_the_template_pairs_and_scores_as_before(bool maskPrompt)
    {
        var batcher = new InstructionBatcher(Chat.Value, 64, maskPrompt);
        var instructions = new InstructionTask(batcher, Mixed[..16], Mixed[16..]);
        var pairs = new ResponseTask(batcher.EncodePairs(Mixed[..16]), batcher.EncodePairs(Mixed[16..]), batcher.Ids.Pad);
        Assert.IsAssignableFrom<ResponseTask>(instructions);
        Assert.Equal(pairs.TrainFingerprint, instructions.TrainFingerprint);
        Assert.Equal(pairs.ValidationFingerprint, instructions.ValidationFingerprint);
        using var model = Model(Chat.Value.VocabSize, 64);
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (int step = 0; step < 6; step++)                                                  // 6 steps × 4 pairs: into the second epoch
        {
            var (a, b) = (instructions.TrainLoss(model, step, 0, 1, 4, 1234), pairs.TrainLoss(model, step, 0, 1, 4, 1234));
            Assert.Equal(b.Count, a.Count);
            Assert.Equal(b.Sum.item<float>(), a.Sum.item<float>());
        }
        // The validation batches are fixed pairs in stored order: compare them with the former computation.
        for (int index = 0; index < 2; index++)
        {
            var loss = instructions.ValidationLoss(model, index, 2, 4);
            var (formerSum, formerCount) = FormerInstructionLoss(model, batcher, Mixed[(16 + 4 * index)..(20 + 4 * index)]);
            Assert.Equal(formerCount, loss.Count);
            Assert.Equal(formerSum, loss.Sum.item<float>(), formerSum * 1e-6f);
        }
    }

    [Fact]
    public void Prompt_response_SFT_scores_the_summed_log_probs_of_the_responses_as_before()
    {
        var pairs = Enumerable.Range(0, 8).Select(i => ((IReadOnlyList<int>)Enumerable.Range(1, 1 + i % 4).ToArray(), (IReadOnlyList<int>)Enumerable.Range(3, 2 + i % 5).Append(19).ToArray())).ToList();
        var task = new ResponseTask(pairs, pairs, 0);
        using var model = Model(20, 16);
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var loss = task.ValidationLoss(model, 0, 1, 8);
        using var batch = ResponseBatch.Create(pairs.Select(p => p.Item1).ToList(), pairs.Select(p => p.Item2).ToList(), 0, 16);
        float former = -SequenceLogProbs.PerToken(model, batch).sum().item<float>();               // what ResponseTask summed before
        Assert.Equal(pairs.Sum(p => p.Item2.Count), loss.Count);
        Assert.Equal(former, loss.Sum.item<float>(), former * 1e-6f);
    }

    [Fact]
    public void A_pair_may_be_one_token_longer_than_the_window_because_its_last_token_is_only_predicted()
    {
        using var model = Model(11, 8);
        var fits = new ResponseTask([(L(1, 2, 3, 4, 5), L(6, 7, 8, 9))], null, 0);           // 9 tokens: the model reads 8
        fits.Check(model);
        using (NewDisposeScope()) Assert.Equal(4, fits.TrainLoss(model, 0, 0, 1, 1, 1).Count);
        var tooLong = new ResponseTask([(L(1, 2, 3, 4, 5), L(6, 7, 8, 9, 10))], null, 0);
        Assert.Contains("5 + 5 = 10 tokens: the model would read 9 of them", Assert.Throws<ArgumentException>(() => tooLong.Check(model)).Message);
    }
}
