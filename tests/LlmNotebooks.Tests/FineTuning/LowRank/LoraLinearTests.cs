using LlmNotebooks.FineTuning.LowRank;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning.LowRank;

/// <summary>
/// LoraLinear on its own: every guard by its message, the initialisation and the forward pass against hand computations,
/// dropout in train mode only (with the layer's documented seeding), slices, merge and its errors.
/// </summary>
public class LoraLinearTests
{
    static Linear Base(long din, long dout, ScalarType dtype = ScalarType.Float32)
    {
        var l = nn.Linear(din, dout, dtype: dtype);
        using var _ = no_grad();
        l.weight!.copy_(arange(dout * din, dtype: dtype).reshape(dout, din) / 10.0);
        l.bias!.zero_();
        return l;
    }

    static void Set(Parameter p, double[,] values)
    {
        using var _ = no_grad();
        p.copy_(tensor(values, dtype: p.dtype));
    }

    sealed class ScaledIdentity(long features) : nn.Module<Tensor, Tensor>("scaled"), ILinearLayer
    {
        public long InFeatures => features;
        public long OutFeatures => features;
        public override Tensor forward(Tensor x) => x * 2;
    }

    [Fact]
    public void The_update_is_scaled_by_alpha_over_r_as_hand_computed()
    {
        using var scope = NewDisposeScope();
        var identity = nn.Linear(2, 2);
        using (no_grad()) { identity.weight!.copy_(eye(2)); identity.bias!.zero_(); }
        var lora = new LoraLinear(identity, rank: 2, alpha: 4);
        Assert.Equal(2.0, lora.Scale);
        Set(lora.Adapters[0].A, new double[,] { { 1, 0 }, { 0, 1 } });
        Set(lora.Adapters[0].B, new double[,] { { 1, 2 }, { 3, 4 } });
        // x = (1, −1): A·x = (1, −1), B·(A·x) = (−1, −1), times α/r = 2, plus the base's x: (1 − 2, −1 − 2).
        var y = lora.forward(tensor(new float[] { 1, -1 }).reshape(1, 2));
        Assert.Equal(new float[] { -1, -3 }, y.data<float>().ToArray());
        // ΔW = (α/r)·B·A = 2·B.
        Assert.Equal(new float[] { 2, 4, 6, 8 }, lora.DeltaWeight().data<float>().ToArray());
    }

    [Fact]
    public void A_starts_uniform_in_plus_minus_one_over_sqrt_d_in_from_the_seed_B_at_zero_and_the_base_is_frozen()
    {
        using var scope = NewDisposeScope();
        var lora = new LoraLinear(Base(64, 8), rank: 4, alpha: 8, seed: 11);
        var a = lora.Adapters[0].A;
        double bound = 1.0 / Math.Sqrt(64);   // 0.125
        var expected = rand(new long[] { 4, 64 }, generator: new Generator(11)) * (2 * bound) - bound;
        Assert.True(expected.allclose(a, rtol: 0, atol: 1e-7), "A = U(−1/√d_in, 1/√d_in) drawn from Generator(seed)");
        Assert.True(a.max().item<float>() <= bound && a.min().item<float>() >= -bound);
        Assert.True(a.max().item<float>() > bound / 2 && a.min().item<float>() < -bound / 2, "256 draws spread over the whole range");
        Assert.Equal(0, lora.Adapters[0].B.abs().sum().item<float>());
        Assert.All(lora.Base.parameters(), p => Assert.False(p.requires_grad));
        Assert.True(lora.Adapters[0].A.requires_grad && lora.Adapters[0].B.requires_grad);
        Assert.Equal("lora", lora.GetName());
    }

    [Fact]
    public void The_adapter_takes_the_base_s_dtype_and_its_names()
    {
        using var scope = NewDisposeScope();
        var lora = new LoraLinear(Base(3, 3, ScalarType.Float64), rank: 1, alpha: 1);
        var (slice, aName, a, bName, b) = lora.Adapters.Single();
        Assert.Equal("", slice);
        Assert.Equal("lora_A", aName);
        Assert.Equal("lora_B", bName);
        Assert.Equal(ScalarType.Float64, a.dtype);
        Assert.Equal(ScalarType.Float64, b.dtype);
        Assert.Equal(["base_layer.weight", "base_layer.bias", "lora_A", "lora_B"], lora.named_parameters().Select(p => p.name).OrderBy(n => n.StartsWith("lora", StringComparison.Ordinal)));
    }

    [Fact]
    public void Dropout_applies_only_in_train_mode_with_masks_from_the_layer_s_seed_and_the_step_seed()
    {
        using var scope = NewDisposeScope();
        const ulong seed = 21;
        const double p = 0.5;
        var lora = new LoraLinear(Base(6, 3), rank: 2, alpha: 2, dropout: p, seed: seed);
        using (no_grad()) lora.Adapters[0].B.copy_(ones(3, 2));
        var x = randn(new long[] { 4, 6 }, generator: new Generator(3));
        Tensor Adapted(Tensor h) => lora.Base.forward(x) + nn.functional.linear(nn.functional.linear(h, lora.Adapters[0].A), lora.Adapters[0].B) * 1.0;

        lora.eval();
        Assert.True(Adapted(x).allclose(lora.forward(x), rtol: 0, atol: 1e-6), "eval: no dropout");

        lora.train();
        lora.SeedStep(5);
        var g = new Generator(0);
        g.manual_seed(Hashes.StreamSeed((long)seed, Hashes.DropoutStream, 5));   // the documented per-step seed
        var keep = rand(x.shape, generator: g).ge(p).to_type(ScalarType.Float32);
        var expected = Adapted(x * keep / (1 - p));
        var y = lora.forward(x);
        Assert.True(expected.allclose(y, rtol: 0, atol: 1e-5), $"train: inverted dropout with keep/(1 − p); max diff {(expected - y).abs().max().item<float>()}");
        Assert.False(Adapted(x).allclose(y, rtol: 0, atol: 1e-3), "train mode drops inputs");
        lora.SeedStep(5);
        Assert.True(y.allclose(lora.forward(x), rtol: 0, atol: 0), "the same step seed repeats the mask");
    }

    [Fact]
    public void A_slice_that_ends_before_the_last_output_leaves_the_rest_to_the_base()
    {
        using var scope = NewDisposeScope();
        var lora = new LoraLinear(Base(4, 6), rank: 1, alpha: 1, slices: [new LoraSlice("a", 2, 2)]);
        Assert.Equal(1 * (4 + 2), lora.AdapterParameterCount);   // r·(d_in + slice length), not r·(d_in + d_out)
        Set(lora.Adapters[0].A, new double[,] { { 1, 1, 1, 1 } });
        Set(lora.Adapters[0].B, new double[,] { { 1 }, { 2 } });
        var x = ones(1, 4);
        var delta = lora.forward(x) - lora.Base.forward(x);
        Assert.True(tensor(new float[] { 0, 0, 4, 8, 0, 0 }).reshape(1, 6).allclose(delta, rtol: 0, atol: 1e-5), "A·x = 4, times B in outputs 2 and 3");
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0 }, lora.DeltaWeight().data<float>().ToArray());
        Assert.Equal("a", lora.Adapters[0].Slice);
        Assert.Equal("lora_A_a", lora.Adapters[0].AName);
        Assert.Equal("lora_B_a", lora.Adapters[0].BName);
    }

    [Fact]
    public void Rank_alpha_and_dropout_out_of_range_are_refused_by_name()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LoraLinear(Base(4, 3), rank: 0, alpha: 1));
        Assert.Equal("rank", e.ParamName);
        Assert.StartsWith("The LoRA rank r must be between 1 and min(d_in, d_out) = 3 for this 4 → 3 layer; got 0. Typical values are 4, 8 or 16.", e.Message);
        Assert.Contains("got 4.", Assert.Throws<ArgumentOutOfRangeException>(() => new LoraLinear(Base(4, 3), rank: 4, alpha: 1)).Message);
        Assert.Equal(3, new LoraLinear(Base(4, 3), rank: 3, alpha: 1).Rank);   // r = min(d_in, d_out) is allowed

        // With slices, the smallest slice bounds r.
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new LoraLinear(Base(8, 8), rank: 3, alpha: 1, slices: [new LoraSlice("a", 0, 2), new LoraSlice("b", 2, 6)]));
        Assert.StartsWith("The LoRA rank r must be between 1 and min(d_in, d_out) = 2 for this 8 → 8 layer (d_out of its smallest slice); got 3. Typical values are 4, 8 or 16.", e.Message);

        foreach (var alpha in new[] { 0.0, -1.0, double.NaN, double.PositiveInfinity })
        {
            e = Assert.Throws<ArgumentOutOfRangeException>(() => new LoraLinear(Base(4, 3), rank: 1, alpha: alpha));
            Assert.Equal("alpha", e.ParamName);
            Assert.StartsWith("LoRA's α must be a positive number (the update is scaled by α / r; α = r or 2r are common); got ", e.Message);
        }
        foreach (var dropout in new[] { -0.1, 1.0, 1.5, double.NaN })
        {
            e = Assert.Throws<ArgumentOutOfRangeException>(() => new LoraLinear(Base(4, 3), rank: 1, alpha: 1, dropout: dropout));
            Assert.Equal("dropout", e.ParamName);
            Assert.StartsWith("LoRA dropout must be a probability in [0, 1) (0 turns it off; 0.05 or 0.1 are common); got ", e.Message);
        }
    }

    [Fact]
    public void Bases_without_sizes_or_with_conflicting_sizes_are_refused()
    {
        using var scope = NewDisposeScope();
        Assert.Equal("baseLayer", Assert.Throws<ArgumentNullException>(() => new LoraLinear(null!, 1, 1)).ParamName);
        var wrapped = new LoraLinear(Base(4, 3), 1, 1);
        var e = Assert.Throws<ArgumentException>(() => new LoraLinear(wrapped, 1, 1));
        Assert.Equal("baseLayer", e.ParamName);
        Assert.StartsWith("This layer already has a LoRA adapter; adapt its Base, or unmerge and remove the adapter first.", e.Message);

        Assert.Equal(4, new LoraLinear(Base(4, 3), 1, 1, inFeatures: 4, outFeatures: 3).InFeatures);   // the same sizes are fine
        Assert.Equal("The base layer maps 4 → 3 features, but inFeatures = 5, outFeatures =  were given. Leave them out to use the layer's own sizes.",
                     Assert.Throws<ArgumentException>(() => new LoraLinear(Base(4, 3), 1, 1, inFeatures: 5)).Message);
        Assert.Equal("The base layer maps 4 → 3 features, but inFeatures = , outFeatures = 2 were given. Leave them out to use the layer's own sizes.",
                     Assert.Throws<ArgumentException>(() => new LoraLinear(Base(4, 3), 1, 1, outFeatures: 2)).Message);
        Assert.Equal("inFeatures and outFeatures must be positive; got 0 and 3.",
                     Assert.Throws<ArgumentException>(() => new LoraLinear(nn.Identity(), 1, 1, inFeatures: 0, outFeatures: 3)).Message);
        Assert.Equal("inFeatures and outFeatures must be positive; got 3 and 0.",
                     Assert.Throws<ArgumentException>(() => new LoraLinear(nn.Identity(), 1, 1, inFeatures: 3, outFeatures: 0)).Message);
    }

    [Fact]
    public void Slices_need_names_of_letters_and_digits_and_distinct_ranges_inside_the_outputs()
    {
        using var scope = NewDisposeScope();
        ArgumentException Bad(params LoraSlice[] slices) => Assert.Throws<ArgumentException>(() => new LoraLinear(Base(4, 6), 1, 1, slices: slices));
        foreach (var name in new[] { "", " ", "q-", "q 1" })
        {
            var e = Bad(new LoraSlice(name, 0, 2));
            Assert.Equal("slices", e.ParamName);
            Assert.StartsWith($"A LoRA slice needs a short name of letters and digits (such as \"q\"); got \"{name}\".", e.Message);
        }
        string Fit(string slice, long end) => $"LoRA slices must be non-empty, non-overlapping ranges inside the 6 outputs; slice {slice} does not fit (the previous slice ends at {end}).";
        Assert.StartsWith(Fit("LoraSlice { Name = a, Start = 0, Length = 0 }", 0), Bad(new LoraSlice("a", 0, 0)).Message);
        Assert.StartsWith(Fit("LoraSlice { Name = b, Start = 2, Length = 2 }", 3), Bad(new LoraSlice("a", 0, 3), new LoraSlice("b", 2, 2)).Message);
        Assert.StartsWith(Fit("LoraSlice { Name = b, Start = 3, Length = 2 }", 4), Bad(new LoraSlice("a", 2, 2), new LoraSlice("b", 3, 2)).Message);
        Assert.StartsWith(Fit("LoraSlice { Name = a, Start = 4, Length = 4 }", 0), Bad(new LoraSlice("a", 4, 4)).Message);
        Assert.StartsWith("Two LoRA slices are named \"a\".", Bad(new LoraSlice("a", 0, 2), new LoraSlice("a", 2, 2)).Message);

        // Three distinct slices that tile the outputs are fine, given in any order.
        var lora = new LoraLinear(Base(4, 6), 1, 1, slices: [new LoraSlice("c", 4, 2), new LoraSlice("a", 0, 2), new LoraSlice("b", 2, 2)]);
        Assert.Equal(["a", "b", "c"], lora.Slices.Select(s => s.Name));
        Assert.Equal(3 * (4 + 2), lora.AdapterParameterCount);
    }

    [Fact]
    public void Merge_and_unmerge_refuse_the_wrong_state_and_bases_that_cannot_merge()
    {
        using var scope = NewDisposeScope();
        var lora = new LoraLinear(Base(4, 3), 1, 1);
        Assert.Equal("This adapter is not merged; there is nothing to unmerge.", Assert.Throws<InvalidOperationException>(lora.Unmerge).Message);
        lora.Merge();
        Assert.Equal("This adapter is already merged into its base weight; call Unmerge() first.", Assert.Throws<InvalidOperationException>(lora.Merge).Message);
        lora.Unmerge();

        var quantized = new LoraLinear(new ScaledIdentity(4), 1, 1);
        Assert.Equal("Only a Linear base can take a merged adapter; this base is a ScaledIdentity. Keep the adapter separate, or dequantize the base into a Linear first.",
                     Assert.Throws<NotSupportedException>(quantized.Merge).Message);

        // A base whose weight was swapped for another shape after wrapping.
        var linear = Base(4, 3);
        var swapped = new LoraLinear(linear, 1, 1);
        linear.weight = new Parameter(zeros(5, 5), requires_grad: false);
        Assert.Equal("The base weight is (5, 5) but the adapter's update is (3, 4).", Assert.Throws<InvalidOperationException>(swapped.Merge).Message);
    }
}
