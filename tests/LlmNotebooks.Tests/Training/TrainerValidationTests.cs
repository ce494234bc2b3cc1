using LlmNotebooks.Serialization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using LlmNotebooks.Generation;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Training;

/// <summary>Bad numbers are refused before a run starts, and a run that goes non-finite stops without touching the last good checkpoint.</summary>
public class TrainerValidationTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-trainer-validation-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static readonly TokenBatches Data = new(Enumerable.Range(0, 400).Select(i => (i * 7 + i / 5) % 11).ToArray(), 8);
    static readonly TrainerOptions Small = new() { Steps = 6, BatchSize = 4, WarmupSteps = 1, EvalEvery = 3, EvalBatches = 1 };

    static Gpt Model()
    {
        manual_seed(42);
        return new Gpt(GptConfig.Tiny);
    }

    static readonly double[] NonFinite = [double.NaN, double.PositiveInfinity, double.NegativeInfinity];

    // Every double option, with a setter: each must refuse NaN and ±∞ (comparisons are false for NaN, so a plain
    // "if (x < 0)" lets it through) and its own out-of-range values.
    public static TheoryData<string, double> BadDoubles()
    {
        var data = new TheoryData<string, double>();
        foreach (var name in new[] { "MaxLr", "MinLr", "WeightDecay", "Beta1", "Beta2", "GradClip" })
            foreach (var v in NonFinite) data.Add(name, v);
        data.Add("MaxLr", 0); data.Add("MaxLr", -1e-3); data.Add("MaxLr", 1e300);   // 1e300 does not fit a float32 update
        data.Add("WeightDecay", 1e300);
        data.Add("MinLr", -1e-4); data.Add("MinLr", 1);                 // above MaxLr
        data.Add("WeightDecay", -0.1);
        data.Add("Beta1", -0.1); data.Add("Beta1", 1); data.Add("Beta2", 1.5);
        data.Add("GradClip", -1); data.Add("GradClip", 1e300);
        return data;
    }

    static TrainerOptions With(string name, double v) => name switch
    {
        "MaxLr" => Small with { MaxLr = v },
        "MinLr" => Small with { MinLr = v },
        "WeightDecay" => Small with { WeightDecay = v },
        "Beta1" => Small with { Beta1 = v },
        "Beta2" => Small with { Beta2 = v },
        "GradClip" => Small with { GradClip = v },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(BadDoubles))]
    public void Every_numeric_option_must_be_finite_and_in_range(string name, double value)
    {
        var e = Assert.Throws<ArgumentException>(() => With(name, value).Validate());
        Assert.Contains(name, e.Message);
        using var model = Model();
        Assert.Throws<ArgumentException>(() => new Trainer(model, Data, null, With(name, value)));
    }

    [Fact]
    public void Integer_options_out_of_range_are_refused_by_name()
    {
        foreach (var (options, name) in new[]
                 {
                     (Small with { Steps = 0 }, "Steps"), (Small with { BatchSize = -1 }, "BatchSize"), (Small with { WarmupSteps = -1 }, "WarmupSteps"),
                     (Small with { WarmupSteps = 7 }, "WarmupSteps"), (Small with { EvalEvery = 0 }, "EvalEvery"), (Small with { EvalBatches = 0 }, "EvalBatches"),
                     (Small with { CheckpointEvery = -3 }, "CheckpointEvery"), (Small with { Title = null! }, "Title"),
                 })
            Assert.Contains(name, Assert.Throws<ArgumentException>(options.Validate).Message);
        Small.Validate();
    }

    [Fact]
    public void A_checkpoint_path_that_can_never_be_written_is_refused_before_the_first_step()
    {
        string file = Path.Combine(_folder, "a-file");
        File.WriteAllText(file, "x");
        using var model = Model();
        foreach (var path in new[] { _folder, _folder + Path.DirectorySeparatorChar, Path.Combine(file, "ckpt.safetensors"), "", "  ", "bad\0name" })
        {
            var e = Assert.Throws<ArgumentException>(() => new Trainer(model, Data, null, Small with { CheckpointPath = path }));
            Assert.Contains("CheckpointPath", e.Message);
        }
        Assert.Contains("is a folder", Assert.Throws<ArgumentException>(() => (Small with { CheckpointPath = _folder }).Validate()).Message);
        (Small with { CheckpointPath = Path.Combine(_folder, "new", "deeper", "ckpt.safetensors") }).Validate();   // folders yet to be made are fine
    }

    [Fact]
    public void Config_fields_refuse_non_finite_dropout_and_impossible_sizes()
    {
        foreach (var v in NonFinite.Append(-0.1).Append(1.0))
        {
            Assert.Contains("Dropout", Assert.Throws<ArgumentException>(() => (GptConfig.Tiny with { Dropout = v }).Validate()).Message);
            Assert.Contains("Dropout", Assert.Throws<ArgumentException>(() => new EncoderDecoderConfig(10, 10, 5, 5, Dropout: v).Validate()).Message);
            Assert.Throws<ArgumentException>(() => new FeedForward(4, 8, dropout: v));
            Assert.Throws<ArgumentException>(() => new CausalSelfAttention(4, 2, dropout: v));
        }
        Assert.Contains("too large", Assert.Throws<ArgumentException>(() => (GptConfig.Tiny with { Channels = int.MaxValue - 1, Heads = 1 }).Validate()).Message);
        Assert.Throws<ArgumentException>(() => new EncoderDecoderConfig(10, 10, 5, 5, Positions: (PositionKind)42).Validate());
        foreach (var v in NonFinite)
        {
            Assert.Throws<ArgumentException>(() => new LearningRateSchedule(v, 0, 1, 10).Validate());
            Assert.Throws<ArgumentException>(() => new LearningRateSchedule(1e-3, v, 1, 10).Validate());
            Assert.Throws<ArgumentException>(() => new SamplingOptions(v).Validate());
            Assert.Throws<ArgumentException>(() => new SamplingOptions(1, TopP: v).Validate());
        }
    }

    [Fact]
    public void A_run_that_goes_non_finite_stops_with_the_step_and_keeps_the_last_good_checkpoint()
    {
        string path = Path.Combine(_folder, "good.safetensors");
        using var model = Model();
        using (var good = new Trainer(model, Data, null, Small with { CheckpointPath = path })) good.Run();
        byte[] before = File.ReadAllBytes(path);

        // An absurd learning rate: the updates blow the weights up until the logits overflow.
        using var trainer = new Trainer(model, Data, null, Small with { MaxLr = 1000, MinLr = 0, Steps = 30, CheckpointPath = path, CheckpointEvery = 3 });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Contains($"step {e.Step}", e.Message);
        Assert.Contains("learning rate", e.Message);
        Assert.True(e.Step < 30, e.Message);
        // The file holds the last good state: the first run's, untouched, or a checkpoint of this run written before it went
        // non-finite (how many steps an absurd learning rate survives depends on the CPU's rounding), never a broken one.
        if (!File.ReadAllBytes(path).AsSpan().SequenceEqual(before))
        {
            int saved = int.Parse(SafetensorsFile.ReadMetadata(path)["completed_steps"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(saved <= e.Step, $"a checkpoint of step {saved} after the divergence at step {e.Step}");
            foreach (var (name, t) in SafetensorsFile.ReadTensors(path))
                using (t) Assert.True(isfinite(t).all().item<bool>(), $"{name} is not finite in the kept checkpoint");
        }
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp"));
        Assert.All(trainer.History.Train, s => Assert.True(double.IsFinite(s.Loss) && double.IsFinite(s.GradNorm)));
    }

    [Fact]
    public void A_model_that_arrives_with_NaN_weights_stops_at_its_first_step_naming_the_weight()
    {
        string path = Path.Combine(_folder, "never.safetensors");
        using var model = Model();
        using (no_grad()) model.named_parameters().First(p => p.name == "h.0.mlp.c_fc.weight").parameter[0, 0].fill_(float.NaN);
        foreach (var clip in new[] { 1.0, 0.0 })
        {
            using var trainer = new Trainer(model, Data, Data, Small with { CheckpointPath = path, CheckpointEvery = 1, GradClip = clip });
            var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
            Assert.Equal(0, e.Step);
            Assert.Contains("h.0.mlp.c_fc.weight", e.Message);
            Assert.Contains("handed to the Trainer", e.Message);
            Assert.Equal(0, trainer.CompletedSteps);
        }
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Without_clipping_the_gradient_norm_is_still_measured_and_checked()
    {
        using var model = Model();
        using var trainer = new Trainer(model, Data, null, Small with { GradClip = 0 });
        trainer.Run();
        Assert.All(trainer.History.Train, s => Assert.True(double.IsFinite(s.GradNorm) && s.GradNorm > 0));
    }

    [Fact]
    public void Token_ids_outside_the_vocabulary_are_refused_once_with_a_clear_message()
    {
        using var model = Model();                                          // vocabulary 11: ids 0..10
        var text = Enumerable.Range(0, 100).Select(i => i % 11).Append(11).ToArray();   // the 11 is only ever a target
        var outside = new TokenBatches(text, 8);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, outside, null, Small));
        Assert.Contains("Token 100 of the training text is id 11, outside the model's vocabulary [0, 10]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Trainer(model, Data, outside, Small));
        Assert.Contains("validation text", e.Message);
        Assert.Contains("vocabulary", Assert.Throws<ArgumentException>(() => LanguageModelingTask.EvaluateLoss(model, outside, 2, 1)).Message);

        // −100 is cross-entropy's ignore index: as a token it would silently train nothing there.
        e = Assert.Throws<ArgumentException>(() => new TokenBatches([.. text[..50], -100, .. text[..50]], 8));
        Assert.Contains("Token 50 of the text is -100", e.Message);
        Assert.Contains("ignore", e.Message);

        using var scope = NewDisposeScope();
        var (x, y) = Data.Random(2, seed: 1, step: 0);
        Assert.True(double.IsFinite(LanguageModelingTask.Loss(model, x, y).item<float>()));
        Assert.Contains("vocabulary", Assert.Throws<ArgumentException>(() => LanguageModelingTask.Loss(model, x, y.clone().fill_(11))).Message);
        Assert.Contains("vocabulary", Assert.Throws<ArgumentException>(() => LanguageModelingTask.Loss(model, x, y.clone().fill_(-100))).Message);
        Assert.Throws<ArgumentException>(() => LanguageModelingTask.Loss(model, x, y[.., ..4]));
        Assert.Equal(10, Data.MaxTokenId);
    }

    [Fact]
    public void Dropout_is_repeatable_and_leaves_the_global_generator_where_the_caller_left_it()
    {
        var config = GptConfig.Tiny with { Dropout = 0.2 };
        double[] Losses(bool drawInBetween)
        {
            manual_seed(42);
            using var model = new Gpt(config);
            using var trainer = new Trainer(model, Data, null, Small);
            trainer.Run(stopAfter: 3);
            if (drawInBetween) rand(100).Dispose();                       // the caller's own draws change nothing in the run
            trainer.Run();
            return trainer.History.Train.Select(t => t.Loss).ToArray();
        }
        Assert.Equal(Losses(false), Losses(true));

        manual_seed(99);
        float[] expected = rand(5).data<float>().ToArray();
        using (var model = new Gpt(config))
        using (var trainer = new Trainer(model, Data, null, Small))
        {
            manual_seed(99);
            trainer.Run();
        }
        Assert.Equal(expected, rand(5).data<float>().ToArray());

        manual_seed(99);
        using (LlmNotebooks.Tensors.TorchRandom.Seeded(5)) rand(3).Dispose();
        Assert.Equal(expected, rand(5).data<float>().ToArray());
    }
}
