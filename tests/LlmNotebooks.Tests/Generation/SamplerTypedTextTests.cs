using LlmNotebooks.Generation;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Generation;

/// <summary>The Sampler's text API reads a prompt as ordinary text: a special token's spelling typed in it is not the special id.</summary>
public class SamplerTypedTextTests
{
    static readonly Lazy<BpeTokenizer> Tokenizer = new(() => BpeTokenizer.Train(string.Concat(Enumerable.Repeat("the cat sat on the mat. <|endoftext|>", 30)), 280, ["<|endoftext|>"]));

    static Gpt RandomModel()
    {
        manual_seed(7);
        var model = new Gpt(new GptConfig(VocabSize: 280, BlockSize: 32, Layers: 1, Heads: 2, Channels: 16));
        using (no_grad()) foreach (var p in model.parameters()) if (p.dim() >= 2) p.mul_(8);
        return model;
    }

    [Fact]
    public void Generate_and_top_next_tokens_encode_the_prompt_as_ordinary_text()
    {
        var tokenizer = Tokenizer.Value;
        using var model = RandomModel();
        const string prompt = "the cat<|endoftext|>";
        var ordinary = tokenizer.EncodeOrdinary(prompt);
        Assert.DoesNotContain(tokenizer.SpecialTokens["<|endoftext|>"], ordinary);

        string text = Sampler.Generate(model, tokenizer, prompt, 5, SamplingOptions.Greedy);
        Assert.Equal(prompt + tokenizer.Decode(Sampler.Generate(model, ordinary, 5, SamplingOptions.Greedy)), text);

        var top = Sampler.TopNextTokens(model, tokenizer, prompt, 3);
        using var expected = Sampler.NextTokenProbabilities(model, ordinary);
        using var asSpecial = Sampler.NextTokenProbabilities(model, tokenizer.Encode(prompt));
        Assert.Equal(expected.topk(3).indexes.data<long>().Select(i => (int)i), top.Select(t => t.Token));
        Assert.Equal(expected[top[0].Token].item<double>(), top[0].Probability, 12);
        Assert.NotEqual(asSpecial[top[0].Token].item<double>(), top[0].Probability, 6);    // the special-id reading would differ
    }
}
