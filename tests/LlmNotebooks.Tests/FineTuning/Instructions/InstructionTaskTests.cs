using LlmNotebooks.FineTuning.Instructions;
using LlmNotebooks.FineTuning.LowRank;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning.Instructions;

/// <summary>Supervised fine-tuning through the Trainer: the InstructionTask's batches, order, masking and checks.</summary>
public class InstructionTaskTests
{
    const string Text = "Mira took the wand and walked to the river. Tim found a cup in Venwick. The Eldala River is long. ";
    static readonly Lazy<BpeTokenizer> Chat = new(() => InstructionTemplate.ExtendTokenizer(BpeTokenizer.Train(string.Concat(Enumerable.Repeat(Text, 20)), 300, ["<|endoftext|>"])));

    static readonly InstructionExample[] Pairs = Enumerable.Range(0, 40)
        .Select(i => new InstructionExample($"Who took the {(i % 2 == 0 ? "wand" : "cup")} number {i}?", i % 3 == 0 ? "Mira" : "Tim")).ToArray();

    static Gpt Model()
    {
        using var _ = LlmNotebooks.Tensors.TorchRandom.Seeded(3);
        return new Gpt(new GptConfig(Chat.Value.VocabSize, BlockSize: 32, Layers: 1, Heads: 2, Channels: 16));
    }

    static TrainerOptions Options(int steps) => new() { Steps = steps, BatchSize = 8, WarmupSteps = 0, EvalEvery = steps, EvalBatches = 2, MaxLr = 1e-2, MinLr = 1e-3 };

    [Fact]
    public void Fine_tuning_lowers_the_answer_loss_and_accumulation_equals_one_large_batch()
    {
        var task = new InstructionTask(new InstructionBatcher(Chat.Value, 32), Pairs[..32], Pairs[32..]);
        using var one = Model();
        using var many = Model();
        double before = Trainer.EvaluateTask(one, task, 8, 2);
        using (var a = new Trainer(one, task, Options(1) with { GradClip = 0 }))
        using (var b = new Trainer(many, task, Options(1) with { GradClip = 0, BatchSize = 2, GradientAccumulation = 4 }))
        {
            a.Run();
            b.Run();
            Assert.Equal(a.History.Train[0].Loss, b.History.Train[0].Loss, 1e-6);
            double worst = one.parameters().Zip(many.parameters()).Max(p => (p.First.grad! - p.Second.grad!).abs().max().item<float>());
            Assert.True(worst < 1e-6, $"gradients differ by up to {worst:E2}");
        }
        using (var more = new Trainer(one, task, Options(30)))
            more.Run();
        Assert.True(Trainer.EvaluateTask(one, task, 8, 2) < 0.5 * before, "30 steps halve the held-out answer loss");
    }

    [Fact]
    public void A_LoRA_run_with_dropout_interrupted_and_resumed_equals_the_uninterrupted_run()
    {
        string folder = Directory.CreateTempSubdirectory("llmnb-lora-resume-").FullName;
        try
        {
            var task = new InstructionTask(new InstructionBatcher(Chat.Value, 32), Pairs[..32], Pairs[32..]);
            var lora = new LoraConfig { Rank = 4, Alpha = 8, TargetModules = ["c_attn", "c_fc"], Dropout = 0.3, Seed = 5 };
            var options = Options(8) with { EvalEvery = 4 };
            using var straightModel = Model();
            Lora.Apply(straightModel, lora);
            using (var straight = new Trainer(straightModel, task, options)) straight.Run();

            string path = Path.Combine(folder, "run.safetensors");
            using (var first = Model())
            {
                Lora.Apply(first, lora);
                using var interrupted = new Trainer(first, task, options with { CheckpointPath = path, CheckpointEvery = 3 });
                interrupted.Run(stopAfter: 4);                                  // the checkpoint is at step 3
            }
            using var rebuilt = Model();
            Lora.Apply(rebuilt, lora);
            using var resumed = Trainer.Resume(path, rebuilt, task);
            resumed.Run();
            foreach (var ((name, a), (_, b)) in straightModel.named_parameters().Zip(rebuilt.named_parameters()))
                Assert.True(a.eq(b).all().item<bool>(), $"{name} differs after resuming: the dropout masks were not the same");
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public void Every_pair_is_read_once_per_epoch_in_a_seeded_order()
    {
        var task = new InstructionTask(new InstructionBatcher(Chat.Value, 32), Pairs, null);
        using var model = Model();
        // 40 pairs, 8 per batch: steps 0–4 are epoch 0. Each step's loss is a function of its pairs only, so equal seeds
        // give equal losses and a different seed a different order.
        using var scope = NewDisposeScope();
        var first = Enumerable.Range(0, 5).Select(s => task.TrainLoss(model, s, 0, 1, 8, seed: 1).Sum.item<float>()).ToArray();
        var again = Enumerable.Range(0, 5).Select(s => task.TrainLoss(model, s, 0, 1, 8, seed: 1).Sum.item<float>()).ToArray();
        var other = Enumerable.Range(0, 5).Select(s => task.TrainLoss(model, s, 0, 1, 8, seed: 2).Sum.item<float>()).ToArray();
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Equal(first.Sum(), other.Sum(), 1e-2);                              // the same 40 pairs, in another order
        Assert.Equal(40, task.TrainExamples);
        Assert.Null(task.ValidationFingerprint);
        Assert.True(double.IsNaN(Trainer.EvaluateTask(model, task)));
    }

    [Fact]
    public void A_model_without_the_template_rows_or_with_a_short_window_is_refused()
    {
        var task = new InstructionTask(new InstructionBatcher(Chat.Value, 32), Pairs, Pairs);
        using var small = new Gpt(new GptConfig(300, BlockSize: 32, Layers: 1, Heads: 2, Channels: 16));
        Assert.Contains("GrowVocabulary", Assert.Throws<ArgumentException>(() => new Trainer(small, task, Options(1))).Message);
        using var shortWindow = new Gpt(new GptConfig(Chat.Value.VocabSize, BlockSize: 16, Layers: 1, Heads: 2, Channels: 16));
        Assert.Contains("blockSize ≤ 16", Assert.Throws<ArgumentException>(() => new Trainer(shortWindow, task, Options(1))).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => new InstructionTask(task.Batcher, [], null)).Message);
        Assert.NotEqual(task.TrainFingerprint, new InstructionTask(new InstructionBatcher(Chat.Value, 32, maskPrompt: false), Pairs, Pairs).TrainFingerprint);
    }
}
