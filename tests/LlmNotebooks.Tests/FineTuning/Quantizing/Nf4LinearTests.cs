using LlmNotebooks.FineTuning;
using LlmNotebooks.FineTuning.Quantizing;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Tests.FineTuning.Quantizing;

public class Nf4LinearTests
{
    [Fact]
    public void Forward_equals_a_linear_layer_with_the_dequantized_weight()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        using var linear = Linear(128, 96);
        using var q = Nf4Linear.FromLinear(linear);
        Assert.Equal(128, q.InFeatures);
        Assert.Equal(96, q.OutFeatures);
        var x = randn(2, 5, 128);
        var expected = functional.linear(x, q.DequantizedWeight(), linear.bias);
        Assert.True(q.forward(x).allclose(expected, rtol: 0, atol: 1e-6));
        Assert.True(Quantization.RelativeRmse(linear.weight, q.DequantizedWeight()) < 0.12, "NF4 keeps the weight close");
        Assert.True(TensorAssert.Same(q.Bias!, linear.bias!), "the bias is kept exactly, in fp32");
    }

    [Fact]
    public void Nothing_is_trainable_but_gradients_flow_to_the_input()
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        using var linear = Linear(64, 32);
        using var q = Nf4Linear.FromLinear(linear);
        Assert.All(q.parameters(), p => Assert.False(p.requires_grad));
        var x = randn(3, 64).requires_grad_();
        q.forward(x).sum().backward();
        Assert.NotNull(x.grad);
        Assert.True(x.grad!.abs().sum().item<float>() > 0);
        Assert.IsAssignableFrom<Module<Tensor, Tensor>>(q);
    }

    [Fact]
    public void The_state_dict_holds_the_stored_form()
    {
        using var scope = NewDisposeScope();
        using var linear = Linear(64, 32);
        using var q = Nf4Linear.FromLinear(linear);
        var state = q.state_dict();
        Assert.Equal(["bias", "weight_codes", "weight_absmax_codes", "weight_absmax_scales", "weight_absmax_mean"], state.Keys.ToArray());   // parameters first, then buffers
        Assert.Equal(ScalarType.Byte, state["weight_codes"].dtype);
        Assert.Equal(1024, state["weight_codes"].numel());
        Assert.Equal(1024 + 32 + 4 + 4 + 4 * 32, q.StoredBytes);
        Assert.Equal(q.StoredBytes, Quantization.StoredBytes(q));
        using var plain = Nf4Linear.FromLinear(linear, doubleQuantize: false);
        Assert.Equal(["bias", "weight_codes", "weight_absmax"], plain.state_dict().Keys.ToArray());
    }

    [Fact]
    public void A_wrong_input_width_gets_a_clear_error_instead_of_an_abort()
    {
        using var scope = NewDisposeScope();
        using var q = Nf4Linear.FromLinear(Linear(64, 32));
        var e = Assert.Throws<ArgumentException>(() => q.forward(randn(2, 63)));
        Assert.Contains("last dimension is InFeatures = 64, got (2, 63)", e.Message);
    }

    [Fact]
    public void Quantizing_a_gpt_replaces_every_linear_by_name_and_keeps_its_outputs_close()
    {
        using var scope = NewDisposeScope();
        manual_seed(13);
        using var gpt = new Gpt(GptConfig.Tiny);
        var idx = randint(0, 11, [2, 8], generator: new Generator(1));
        Tensor before;
        using (no_grad()) before = gpt.forward(idx);
        var names = ModuleSurgery.LinearNames(gpt);
        Assert.Equal(8, names.Count);                                        // 2 blocks × (c_attn, c_proj, c_fc, c_proj)
        Assert.Contains("h.0.attn.c_attn", names);

        var report = Quantization.QuantizeLinears(gpt);
        Assert.Equal(names, report.Quantized);
        Assert.Empty(ModuleSurgery.LinearNames(gpt));
        Assert.Equal(names, gpt.named_modules().Where(m => m.module is Nf4Linear).Select(m => m.name));
        Assert.Equal(2 * (48 * 16 + 16 * 16 + 64 * 16 + 16 * 64), report.QuantizedParameters);
        Assert.Equal(report.BytesAfter, Quantization.StoredBytes(gpt));
        Assert.True(report.BytesAfter < report.BytesBefore);
        Assert.Contains("h.0.attn.c_attn.weight_codes", gpt.state_dict().Keys);

        Tensor after;
        using (no_grad()) after = gpt.forward(idx);
        Assert.True(Quantization.RelativeRmse(before, after) < 0.1, "4-bit weights change the logits only a little");
        Assert.False(TensorAssert.Same(after, before), "the quantized layers are the ones forward calls");
    }

    [Fact]
    public void Quantizing_chosen_layers_only_and_naming_one_that_does_not_exist()
    {
        using var scope = NewDisposeScope();
        using var gpt = new Gpt(GptConfig.Tiny);
        var report = Quantization.QuantizeLinears(gpt, ["h.1.mlp.c_fc"]);
        Assert.Equal(["h.1.mlp.c_fc"], report.Quantized);
        Assert.Equal(7, ModuleSurgery.LinearNames(gpt).Count);

        var e = Assert.Throws<ArgumentException>(() => Quantization.QuantizeLinears(gpt, ["h.0.attn.q_proj", "h.1.mlp.c_fc"]));
        Assert.Contains("Not Linear layers of this model: h.0.attn.q_proj, h.1.mlp.c_fc (some are already quantized)", e.Message);
        Assert.Contains("Its Linear layers are: h.0.attn.c_attn, h.0.attn.c_proj, h.0.mlp.c_fc", e.Message);
    }

    [Fact]
    public void A_bad_block_size_fails_before_any_layer_is_replaced()
    {
        using var scope = NewDisposeScope();
        using var gpt = new Gpt(GptConfig.Tiny);
        var e = Assert.Throws<ArgumentException>(() => Quantization.QuantizeLinears(gpt, blockSize: 512));
        Assert.Contains("h.0.attn.c_attn: A block size of 512 does not divide the 768 values of a weight of shape (48, 16)", e.Message);
        Assert.Equal(8, ModuleSurgery.LinearNames(gpt).Count);
    }

    sealed class Rigid : Module<Tensor, Tensor>
    {
        readonly Linear proj = Linear(64, 64);
        public Rigid() : base("rigid") => RegisterComponents();
        public override Tensor forward(Tensor x) => proj.forward(x);
    }

    [Fact]
    public void A_field_declared_as_linear_cannot_take_a_replacement_and_says_why()
    {
        using var scope = NewDisposeScope();
        using var model = new Rigid();
        var e = Assert.Throws<ArgumentException>(() => Quantization.QuantizeLinears(model));
        Assert.Contains("Rigid.proj is declared as Linear, which cannot hold a Nf4Linear. Declare the field as Module<Tensor, Tensor>", e.Message);
    }

    [Fact]
    public void The_constructor_refuses_a_missing_or_non_matrix_weight_and_a_bias_of_the_wrong_size()
    {
        using var scope = NewDisposeScope();
        Assert.Equal("weight", Assert.Throws<ArgumentNullException>(() => new Nf4Linear(null!)).ParamName);
        Assert.Equal("linear", Assert.Throws<ArgumentNullException>(() => Nf4Linear.FromLinear(null!)).ParamName);

        using (var vector = BlockQuantizer.Quantize(randn(64)))
        {
            var e = Assert.Throws<ArgumentException>(() => new Nf4Linear(vector));
            Assert.Equal("weight", e.ParamName);
            Assert.StartsWith("A linear layer's weight is 2-D (out, in); this one is (64).", e.Message);
        }
        using var weight = BlockQuantizer.Quantize(randn(32, 64));
        foreach (var (bias, shape) in new[] { (zeros(31), "(31)"), (zeros(32, 1), "(32, 1)"), (zeros(1, 32), "(1, 32)") })
        {
            var e = Assert.Throws<ArgumentException>(() => new Nf4Linear(weight, bias));
            Assert.Equal("bias", e.ParamName);
            Assert.StartsWith($"The bias must have OutFeatures = 32 values, got {shape}.", e.Message);
        }
    }

    [Fact]
    public void A_layer_without_a_bias_stores_and_computes_only_its_weight()
    {
        using var scope = NewDisposeScope();
        manual_seed(14);
        using var linear = Linear(64, 32, hasBias: false);
        using var q = Nf4Linear.FromLinear(linear);
        Assert.Null(q.Bias);
        Assert.Equal(1024 + 32 + 4 + 4, q.StoredBytes);                     // codes, 32 absmax codes, 1 group scale, the mean
        Assert.Equal(q.StoredBytes, Quantization.StoredBytes(q));
        var x = randn(3, 64);
        Assert.True(q.forward(x).allclose(x.matmul(q.DequantizedWeight().T), rtol: 0, atol: 1e-6));

        using var wrapped = new Nf4Linear(BlockQuantizer.Quantize(linear.weight));
        Assert.Null(wrapped.Bias);
        Assert.Equal(q.StoredBytes, wrapped.StoredBytes);
    }

    [Fact]
    public void A_linear_with_a_mismatched_bias_fails_to_convert_and_frees_the_quantized_weight()
    {
        using var scope = NewDisposeScope();
        using var linear = Linear(64, 32);
        linear.bias = Parameter(zeros(5));                                   // broken on purpose: 5 values for 32 outputs
        long Live() => DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        long before = Live();
        var e = Assert.Throws<ArgumentException>(() => Nf4Linear.FromLinear(linear));
        Assert.StartsWith("The bias must have OutFeatures = 32 values, got (5).", e.Message);
        Assert.Equal(before, Live());                                        // the four tensors of the quantized weight were disposed
    }

    [Fact]
    public void Disposing_the_weight_view_leaves_the_layer_working()
    {
        using var scope = NewDisposeScope();
        manual_seed(15);
        using var q = Nf4Linear.FromLinear(Linear(64, 32));
        var x = randn(2, 64);
        var before = q.forward(x);
        q.Weight.Dispose();                                                  // a view: it owns nothing
        Assert.False(q.state_dict()["weight_codes"].IsInvalid);
        Assert.True(TensorAssert.Same(q.forward(x), before));
    }

    [Fact]
    public void A_float64_input_gets_a_float64_output_with_the_weight_and_bias_cast_to_it()
    {
        using var scope = NewDisposeScope();
        manual_seed(16);
        using var linear = Linear(64, 32);
        using var q = Nf4Linear.FromLinear(linear);
        var x = randn(4, 64, dtype: float64);
        var y = q.forward(x);
        Assert.Equal(ScalarType.Float64, y.dtype);
        var expected = x.matmul(q.DequantizedWeight().to(float64).T) + q.Bias!.to(float64);
        Assert.True(y.allclose(expected, rtol: 0, atol: 1e-12));
        Assert.Equal(ScalarType.Float32, q.Bias!.dtype);                      // stored as it was
        using var noBias = Nf4Linear.FromLinear(Linear(64, 32, hasBias: false));
        Assert.Equal(ScalarType.Float64, noBias.forward(x).dtype);
    }

    [Fact]
    public void Converting_a_model_s_dtype_keeps_the_stored_form_and_forward_follows_the_input()
    {
        using var scope = NewDisposeScope();
        manual_seed(17);
        using var linear = Linear(64, 32);
        foreach (bool doubleQuantize in new[] { true, false })
        {
            var q = Nf4Linear.FromLinear(linear, doubleQuantize: doubleQuantize);
            using var model = Sequential(("q", q), ("head", Linear(32, 8)));
            var stored = q.state_dict().ToDictionary(p => p.Key, p => (p.Value.dtype, p.Value.clone()));
            var x = randn(4, 64, dtype: float64);
            var expected = model.forward(x.to(float32)).to(float64);

            model.to(float64);
            Assert.Equal(ScalarType.Float64, model.state_dict()["head.weight"].dtype);   // the rest of the model converts
            foreach (var (key, (dtype, value)) in stored)
            {
                Assert.Equal(dtype, q.state_dict()[key].dtype);
                Assert.True(TensorAssert.Same(q.state_dict()[key], value), $"{key} unchanged");
            }
            var y = model.forward(x);
            Assert.Equal(ScalarType.Float64, y.dtype);
            Assert.True(y.allclose(expected, rtol: 0, atol: 1e-5), $"double-quantized: {doubleQuantize}");

            model.half();
            Assert.Equal(stored.Count, q.state_dict().Count(p => p.Value.dtype == stored[p.Key].dtype));
            model.to(float32);
            Assert.True(model.forward(x.to(float32)).allclose(expected.to(float32), rtol: 0, atol: 1e-2), "back in fp32 (the head rounded to fp16 once)");
        }
    }

    [Fact]
    public void The_text_shows_the_widths_and_the_stored_weight()
    {
        using var scope = NewDisposeScope();
        using var q = Nf4Linear.FromLinear(Linear(64, 16));
        Assert.Equal("Nf4Linear(64 → 16, NF4 (16, 64), blocks of 64, scales double-quantized in groups of 256: 536 bytes (4.188 bits per value))",
                     InvariantCulture.Format(q.ToString));
    }
}
