using LlmNotebooks.Serialization;
using LlmNotebooks.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Training;

/// <summary>
/// <see cref="Trainer.Resume(string, nn.Module, ITrainingTask)"/> checks the whole checkpoint before it copies anything:
/// a file whose last tensor is wrong, or whose optimizer state is missing, is refused by message and the caller's model
/// keeps every bit of its parameters and buffers.
/// </summary>
public class ResumeAllOrNothingTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-resume-all-or-nothing-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static readonly TrainerOptions Three = new() { Steps = 3, BatchSize = 1, WarmupSteps = 1, EvalEvery = 1, EvalBatches = 1, MaxLr = 0.01, MinLr = 0.001 };

    string FullRun()
    {
        string path = Path.Combine(_folder, $"full-{Guid.NewGuid():N}.safetensors");
        using var toy = new Toy(freezeSpare: false);
        using var trainer = new Trainer(toy, new ToyTask(), Three with { CheckpointPath = path, CheckpointEvery = 1 });
        trainer.Run(stopAfter: 1);
        return path;
    }

    static void Rewrite(string path, Action<Dictionary<string, Tensor>> change)
    {
        var t = SafetensorsFile.ReadTensors(path);
        var m = new Dictionary<string, string>(SafetensorsFile.ReadMetadata(path));
        change(t);
        SafetensorsFile.Write(path, t, m);
        foreach (var x in t.Values) x.Dispose();
    }

    /// <summary>Resumes into a fresh Toy (weights 7, spare 0, counter 3), expects a refusal, and checks every bit of the model is as before.</summary>
    static string Refused(string path)
    {
        using var toy = new Toy(freezeSpare: false, start: 7);
        using (no_grad()) toy.Counter.fill_(3);
        var before = toy.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        var e = Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, toy, new ToyTask()));
        foreach (var (name, t) in toy.state_dict())
            Assert.True(TensorAssert.Same(before[name], t), $"'{name}' changed although the checkpoint was refused");
        return e.Message;
    }

    [Fact]
    public void A_checkpoint_whose_last_optimizer_tensor_is_missing_or_the_wrong_shape_leaves_the_model_as_it_was()
    {
        string last = Checkpoint.OptimizerPrefix + "spare.exp_avg_sq";             // the last tensor the resume reads
        foreach (var change in new Action<Dictionary<string, Tensor>>[] { t => t.Remove(last), t => t[last] = zeros(3) })
        {
            string path = FullRun();
            Rewrite(path, change);
            Assert.Equal($"{path} lacks optimizer state '{last}' of shape [2]. Was it written by Trainer.SaveCheckpoint?", Refused(path));
        }
    }

    [Fact]
    public void A_checkpoint_with_a_non_finite_last_tensor_is_refused_by_name()
    {
        foreach (string name in new[] { "counter", Checkpoint.OptimizerPrefix + "spare.exp_avg_sq" })
        {
            string path = FullRun();
            Rewrite(path, t => t[name].fill_(float.NaN));
            Assert.Equal($"{path}: '{name}' holds NaN or ∞, which Trainer.SaveCheckpoint never writes: the file is damaged. Resume from an earlier checkpoint of the run.",
                         Refused(path));
        }
    }

    [Fact]
    public void A_checkpoint_whose_last_weight_has_another_dtype_is_refused_before_anything_is_copied()
    {
        string path = FullRun();
        Rewrite(path, t => t["spare"] = t["spare"].to(float64));
        Assert.Equal($"{path}: 'spare' is Float64 (2) in the file but Float32 (2) in the model. Was it saved with a different config?", Refused(path));
    }

    [Fact]
    public void An_adapter_run_s_checkpoint_without_optimizer_state_leaves_the_trained_weight_as_it_was()
    {
        string path = Path.Combine(_folder, "part.safetensors");
        using (var toy = new Toy())
        using (var trainer = new Trainer(toy, new ToyTask(), Three with { CheckpointPath = path, CheckpointEvery = 1 }))
            trainer.Run(stopAfter: 1);
        Rewrite(path, t => { foreach (var k in t.Keys.Where(k => k.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal)).ToList()) t.Remove(k); });

        using var fresh = new Toy(start: 7);
        using var before = fresh.Weight.detach().clone();
        var e = Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, fresh, new ToyTask()));
        Assert.Equal($"{path} lacks optimizer state '{Checkpoint.OptimizerPrefix}weight.exp_avg' of shape [2, 2]. Was it written by Trainer.SaveCheckpoint?", e.Message);
        Assert.True(TensorAssert.Same(before, fresh.Weight), "the trained weight is not copied from a checkpoint that is refused");
    }
}
