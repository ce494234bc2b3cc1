using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Transformer;

public class EncoderDecoderTransformerTests
{
    static readonly EncoderDecoderConfig Small = new(SourceVocab: 13, TargetVocab: 20, MaxSource: 6, MaxTarget: 8, Layers: 1, Heads: 2, Channels: 16, FeedForwardHidden: 32);

    [Theory]
    [InlineData(PositionKind.Sinusoidal, true, true, 0)]
    [InlineData(PositionKind.Learned, true, true, 0)]
    [InlineData(PositionKind.None, false, false, 0)]
    [InlineData(PositionKind.Sinusoidal, true, true, 4)]
    public void Every_variant_gives_logits_of_shape_B_T_V(PositionKind positions, bool residual, bool layerNorm, int experts)
    {
        using var scope = NewDisposeScope();
        using var model = new EncoderDecoderTransformer(Small with { Positions = positions, Residual = residual, LayerNorm = layerNorm, Experts = experts });
        var src = tensor(new long[,] { { 1, 3, 4, 0 }, { 2, 5, 6, 7 } });
        var tgt = tensor(new long[,] { { 1, 5, 6 }, { 1, 8, 0 } });
        Assert.Equal(new long[] { 2, 3, 20 }, model.Forward(src, tgt).shape);
        var (logits, auxLoss) = model.ForwardWithAuxLoss(src, tgt);
        Assert.True(logits.allclose(model.Forward(src, tgt)));
        float aux = auxLoss.item<float>();
        if (experts > 0) Assert.True(aux > 0); else Assert.Equal(0f, aux);
    }

    [Fact]
    public void The_decoder_never_sees_later_target_tokens()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var model = new EncoderDecoderTransformer(Small);
        var src = tensor(new long[,] { { 1, 3, 4, 5 } });
        var a = model.Forward(src, tensor(new long[,] { { 1, 5, 6, 7 } }));
        var b = model.Forward(src, tensor(new long[,] { { 1, 5, 9, 7 } }));
        Assert.True(a[0, ..2].allclose(b[0, ..2]));
        Assert.False(a[0, 2].allclose(b[0, 2]));
    }

    [Fact]
    public void Padding_in_the_source_does_not_change_the_output()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        using var model = new EncoderDecoderTransformer(Small with { Positions = PositionKind.Learned });
        var tgt = tensor(new long[,] { { 1, 5, 6 } });
        var shortSrc = model.Forward(tensor(new long[,] { { 1, 3, 4 } }), tgt);
        var padded = model.Forward(tensor(new long[,] { { 1, 3, 4, 0, 0 } }), tgt);
        Assert.True(shortSrc.allclose(padded, atol: 1e-5));
    }

    [Fact]
    public void Greedy_decoding_stops_at_the_length_limit_and_returns_ids()
    {
        using var scope = NewDisposeScope();
        using var model = new EncoderDecoderTransformer(Small);
        var result = model.GreedyDecode(tensor(new long[,] { { 1, 3, 4 }, { 2, 3, 0 } }), bos: 1, eos: 2);
        Assert.Equal(2, result.Length);
        Assert.All(result, r => Assert.True(r.Length <= Small.MaxTarget - 1));
        Assert.All(result, r => Assert.DoesNotContain(2L, r));
    }

    [Fact]
    public void Out_of_range_inputs_get_clear_errors()
    {
        using var scope = NewDisposeScope();
        using var model = new EncoderDecoderTransformer(Small);
        Assert.Contains("the longest source this model handles is 6", Assert.Throws<ArgumentException>(() => model.Encode(zeros(1, 7, dtype: int64) + 1)).Message);
        Assert.Contains("Token id 13 in source is outside the vocabulary [0, 12]", Assert.Throws<ArgumentException>(() => model.Encode(tensor(new long[,] { { 1, 13 } }))).Message);
        Assert.Contains("at least one token", Assert.Throws<ArgumentException>(() => model.Encode(zeros(1, 0, dtype: int64))).Message);
    }

    [Fact]
    public void Encoding_embedded_vectors_equals_encoding_their_tokens()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var model = new EncoderDecoderTransformer(Small);
        var src = tensor(new long[,] { { 1, 3, 4, 0 } });
        var viaTokens = model.Encode(src);
        var viaEmbeddings = model.EncodeEmbedded(model.EmbedSource(src), EncoderDecoderTransformer.KeyMask(src));
        Assert.True(viaTokens.allclose(viaEmbeddings, atol: 1e-6));
        Assert.Contains("(B, S, C)", Assert.Throws<ArgumentException>(() => model.EncodeEmbedded(zeros(1, 3, 8))).Message);
    }
}
