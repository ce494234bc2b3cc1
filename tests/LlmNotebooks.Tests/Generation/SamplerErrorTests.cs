using System.Buffers.Binary;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using LlmNotebooks.Generation;
using LlmNotebooks.Serialization;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Generation;

/// <summary>Where libtorch would answer with a bare message (or NaN), the library says what was wrong.</summary>
public class SamplerErrorTests
{
    [Fact]
    public void A_temperature_so_small_that_the_logits_overflow_points_at_greedy()
    {
        using var logits = tensor(new[] { 1.0, 3.0, 2.0 }, dtype: float64);
        var e = Assert.Throws<ArgumentException>(() => Sampler.Filter(logits, new SamplingOptions(1e-320)));
        Assert.Contains("Temperature = 0", e.Message);
        using var tiny = Sampler.Filter(logits, new SamplingOptions(1e-300));   // still finite: all mass on the largest
        Assert.Equal(1.0, tiny[1].item<double>(), 12);
    }

    [Fact]
    public void Logits_that_are_not_one_finite_vector_are_refused()
    {
        using var scope = NewDisposeScope();
        Assert.Contains("shape (V)", Assert.Throws<ArgumentException>(() => Sampler.Filter(zeros(2, 3, 1), new SamplingOptions())).Message);
        Assert.Contains("shape (V)", Assert.Throws<ArgumentException>(() => Sampler.Filter(zeros(2, 0), new SamplingOptions())).Message);
        Assert.Contains("shape (V)", Assert.Throws<ArgumentException>(() => Sampler.Filter(zeros(0), new SamplingOptions())).Message);
        Assert.Contains("shape (V)", Assert.Throws<ArgumentException>(() => Sampler.Filter(tensor(1.0), SamplingOptions.Greedy)).Message);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => Sampler.Filter(tensor(new[] { 1.0, double.NaN }), new SamplingOptions())).Message);
    }

    [Fact]
    public void TopNextTokens_counts_outside_the_vocabulary_are_refused()
    {
        manual_seed(1);
        using var model = new Gpt(GptConfig.Tiny with { VocabSize = 260 });
        var tokenizer = BpeTokenizer.Train("abab abab cdcd", 260);
        Assert.Equal(3, Sampler.TopNextTokens(model, tokenizer, "ab", 3).Count);
        Assert.Equal(260, Sampler.TopNextTokens(model, tokenizer, "ab", 260).Count);
        Assert.Empty(Sampler.TopNextTokens(model, tokenizer, "ab", 0));
        foreach (int count in new[] { -1, 261 })
            Assert.Contains("vocabulary", Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.TopNextTokens(model, tokenizer, "ab", count)).Message);
    }

    [Fact]
    public void An_over_large_safetensors_header_names_the_cap()
    {
        string path = Path.Combine(Path.GetTempPath(), $"llmnb-header-{Guid.NewGuid():N}.safetensors");
        try
        {
            var bytes = new byte[64];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, SafetensorsFile.MaxHeaderBytes + 1);
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.ReadMetadata(path));
            Assert.Contains("more than the 100,000,000", e.Message);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
            File.WriteAllBytes(path, bytes);
            Assert.Contains("does not fit the file", Assert.Throws<InvalidDataException>(() => SafetensorsFile.ReadMetadata(path)).Message);
        }
        finally { File.Delete(path); }
    }
}
