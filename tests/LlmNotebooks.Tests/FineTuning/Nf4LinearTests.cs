using LlmNotebooks.FineTuning;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Tests.FineTuning;

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
}
