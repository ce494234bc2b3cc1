using LlmNotebooks.Generation;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Generation;

/// <summary>
/// Every guard of the sampler, by its message: a deleted guard would still let libtorch throw something (or return
/// NaN), so only the course's own words show that the guard ran.
/// </summary>
public class SamplerGuardTests
{
    static string Refusal(SamplingOptions options) => Assert.Throws<ArgumentException>(options.Validate).Message;

    [Fact]
    public void Sampling_options_outside_their_ranges_are_refused_in_the_courses_words()
    {
        Assert.Equal("Temperature must be a finite number ≥ 0, got -1. 0 means greedy. (Parameter 'Temperature')", Refusal(new SamplingOptions(-1)));
        Assert.Equal("Temperature must be a finite number ≥ 0, got NaN. 0 means greedy. (Parameter 'Temperature')", Refusal(new SamplingOptions(double.NaN)));
        Assert.Equal("Temperature must be a finite number ≥ 0, got +∞. 0 means greedy. (Parameter 'Temperature')", Refusal(new SamplingOptions(double.PositiveInfinity)));
        Assert.Equal("TopK must be positive, got 0.", Refusal(new SamplingOptions(1, TopK: 0)));
        Assert.Equal("TopK must be positive, got -3.", Refusal(new SamplingOptions(1, TopK: -3)));
        Assert.Equal("TopP must be in (0, 1], got 0.", Refusal(new SamplingOptions(1, TopP: 0)));
        Assert.Equal("TopP must be in (0, 1], got 2.", Refusal(new SamplingOptions(1, TopP: 2)));
        Assert.Equal("TopP must be in (0, 1], got NaN.", Refusal(new SamplingOptions(1, TopP: double.NaN)));
        // The edges of the ranges are allowed.
        new SamplingOptions(0, TopK: 1, TopP: 1).Validate();
        new SamplingOptions(1e-3, TopK: 1, TopP: 1e-9).Validate();
    }

    [Fact]
    public void Filter_and_generation_check_the_options_they_are_given()
    {
        using var logits = tensor(new[] { 1.0, 2.0, 3.0 }, dtype: float64);
        Assert.Equal("TopK must be positive, got 0.", Assert.Throws<ArgumentException>(() => Sampler.Filter(logits, new SamplingOptions(1, TopK: 0))).Message);
        Assert.Equal("logits", Assert.Throws<ArgumentNullException>(() => Sampler.Filter(null!, new SamplingOptions())).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => Sampler.Filter(logits, null!)).ParamName);
        manual_seed(3);
        using var model = new Gpt(GptConfig.Tiny);
        Assert.Equal("TopP must be in (0, 1], got 2.",
            Assert.Throws<ArgumentException>(() => Sampler.Generate(model, [1, 2], 3, new SamplingOptions(1, TopP: 2))).Message);
        Assert.Equal("TopK must be positive, got 0.",
            Assert.Throws<ArgumentException>(() => Sampler.NextTokenProbabilities(model, [1, 2], new SamplingOptions(1, TopK: 0))).Message);
    }

    [Fact]
    public void An_empty_context_and_a_negative_length_are_refused_in_the_courses_words()
    {
        manual_seed(3);
        using var model = new Gpt(GptConfig.Tiny);
        var empty = Assert.Throws<ArgumentException>(() => Sampler.NextTokenProbabilities(model, []));
        Assert.Equal("The context is empty: give at least one token (e.g. a prompt, or the end-of-text token). (Parameter 'context')", empty.Message);
        Assert.Equal("The context is empty: give at least one token (e.g. a prompt, or the end-of-text token). (Parameter 'context')",
            Assert.Throws<ArgumentException>(() => Sampler.Generate(model, [], 1)).Message);
        var negative = Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.Generate(model, [1], -1));
        Assert.Equal("Expected ≥ 0 new tokens, got -1. (Parameter 'maxNewTokens')", negative.Message);
        Assert.Empty(Sampler.Generate(model, [], 0));                                  // nothing asked, nothing read
    }

    [Fact]
    public void Filter_names_the_shape_it_got()
    {
        using var scope = NewDisposeScope();
        Assert.Equal("Filter takes the scores of one position, shape (V), or of one position per sequence, (B, V); got (2, 3, 4). " +
                     "For a sequence's scores (B, T, V), take the last position: logits[.., -1]. (Parameter 'logits')",
            Assert.Throws<ArgumentException>(() => Sampler.Filter(zeros(2, 3, 4), new SamplingOptions())).Message);
        Assert.Equal("NextToken takes one row of scores per sequence, (B, V); got (3). (Parameter 'logits')",
            Assert.Throws<ArgumentException>(() => Sampler.NextToken(zeros(3), new SamplingOptions())).Message);
        Assert.Equal("The logits hold NaN or ±∞, so no token can be chosen: the model's weights or its input are broken. (Parameter 'logits')",
            Assert.Throws<ArgumentException>(() => Sampler.Filter(tensor(new[] { 1.0, double.PositiveInfinity }), SamplingOptions.Greedy)).Message);
        Assert.StartsWith("Temperature 1E-320 is so small that logits / temperature overflow (the largest |logit| is 3)",
            Assert.Throws<ArgumentException>(() => Sampler.Filter(tensor(new[] { 1.0, -3.0 }), new SamplingOptions(1e-320))).Message);
    }

    [Fact]
    public void The_edges_of_top_k_and_top_p_keep_what_they_promise()
    {
        using var scope = NewDisposeScope();
        // TopP = 1 keeps every token, even one whose probability is below one ulp of 1 (e^-50 ≈ 2e-22).
        var tiny = Sampler.Filter(tensor(new[] { 0.0, -50.0 }), new SamplingOptions(1, TopP: 1));
        Assert.True(tiny[1].item<double>() > 0);
        // The nucleus stops as soon as it reaches p: two tokens of 0.5 each and p = 0.5 keep only the first.
        var half = Sampler.Filter(tensor(new[] { 0.0, 0.0 }), new SamplingOptions(1, TopP: 0.5));
        Assert.Equal(1, half.gt(0).sum().item<long>());
        Assert.Equal(1.0, half.max().item<double>());
    }

    [Fact]
    public void TopNextTokens_names_a_missing_model_or_tokenizer()
    {
        manual_seed(3);
        using var model = new Gpt(GptConfig.Tiny with { VocabSize = 260 });
        var tokenizer = LlmNotebooks.Tokenization.BpeTokenizer.Train("abab", 260);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => Sampler.TopNextTokens(null!, tokenizer, "ab")).ParamName);
        Assert.Equal("tokenizer", Assert.Throws<ArgumentNullException>(() => Sampler.TopNextTokens(model, null!, "ab")).ParamName);
    }
}
