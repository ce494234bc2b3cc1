using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Training;

public class BitsPerByteTests
{
    [Fact]
    public void ABytePairTokenizersTokensSpellTheTextsBytesAndSpecialTokensSpellNone()
    {
        const string text = "Кот спит. The cat sleeps on the mat; кошка тоже спит.<|endoftext|>Ещё один документ.";
        var bpe = BpeTokenizer.Train(text + text, 300, ["<|endoftext|>"]);
        var bytes = BitsPerByte.TokenBytes(bpe);
        var ids = bpe.Encode(text);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text.Replace("<|endoftext|>", "")), ids.Sum(id => bytes[id]));
        Assert.Equal(0, bytes[bpe.SpecialTokens["<|endoftext|>"]]);
        var chars = CharTokenizer.Train("aбв");
        Assert.Equal(new[] { 1, 2, 2 }, chars.Encode("aбв").Select(id => BitsPerByte.TokenBytes(chars)[id]));
    }

    [Fact]
    public void AUniformModelCostsLog2VBitsPerTokenSpreadOverTheBytesItsTargetsSpell()
    {
        var chars = CharTokenizer.Train("abcабв");                       // three 1-byte and three 2-byte characters
        var config = new GptConfig(VocabSize: chars.VocabSize, BlockSize: 4, Layers: 1, Heads: 1, Channels: 8);
        using var model = new Gpt(config);
        using (no_grad()) foreach (var p in model.parameters()) p.zero_();          // logits 0: every token 1/V
        var ids = chars.Encode("aбaбaбaбaбaбaбaб");
        var data = new TokenBatches(ids, 4);
        double bpb = BitsPerByte.Evaluate(model, data, BitsPerByte.TokenBytes(chars), batchSize: 2, batches: 2);
        // Each window's 4 targets alternate a (1 byte) and б (2 bytes): 6 bytes for 4 · log2 V bits.
        Assert.Equal(4 * Math.Log2(chars.VocabSize) / 6, bpb, 4);
        Assert.Contains("TokenBytes", Assert.Throws<ArgumentException>(() => BitsPerByte.Evaluate(model, data, [1, 1])).Message);
        Assert.Throws<ArgumentException>(() => BitsPerByte.FromSums(1, 0));
        Assert.Throws<ArgumentException>(() => BitsPerByte.FromSums(double.NaN, 6));
        var negative = BitsPerByte.TokenBytes(chars); negative[2] = -1;
        Assert.Contains("tokenBytes[2]", Assert.Throws<ArgumentException>(() => BitsPerByte.Evaluate(model, data, negative)).Message);
        using (no_grad()) model.parameters().First().fill_(double.NaN);                 // a broken model: its loss is NaN
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => BitsPerByte.Evaluate(model, data, BitsPerByte.TokenBytes(chars), batchSize: 2, batches: 2)).Message);
    }
}
