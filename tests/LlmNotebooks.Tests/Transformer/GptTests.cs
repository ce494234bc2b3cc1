using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using LlmNotebooks.Serialization;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Transformer;

public class GptTests
{
    static Tensor Tokens(long b, long t, int vocab, int seed = 0)
    {
        var g = new Generator((ulong)seed + 1);
        return randint(0, vocab, new[] { b, t }, generator: g);
    }

    [Fact]
    public void Logits_have_shape_B_T_V()
    {
        using var scope = NewDisposeScope();
        using var gpt = new Gpt(GptConfig.Tiny);
        Assert.Equal(new long[] { 3, 8, 11 }, gpt.forward(Tokens(3, 8, 11)).shape);
        Assert.Equal(new long[] { 1, 1, 11 }, gpt.forward(Tokens(1, 1, 11)).shape);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Parameter_count_matches_the_formula(bool baby)
    {
        var config = baby ? GptConfig.Baby : GptConfig.Tiny;
        foreach (var c in new[] { config, config with { Bias = false } })
        {
            using var gpt = new Gpt(c);
            Assert.Equal(c.ParameterCount(), gpt.parameters().Sum(p => p.numel()));
        }
        Assert.InRange(GptConfig.Baby.ParameterCount(), 800_000, 820_000);
        Assert.Equal(124_439_808, GptConfig.Gpt2Small.ParameterCount());   // GPT-2 small, tied embeddings
    }

    [Fact]
    public void Changing_a_future_token_never_changes_earlier_outputs()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var gpt = new Gpt(GptConfig.Tiny);
        var idx = Tokens(1, 8, 11, seed: 3);
        var changed = idx.clone();
        changed[0, 5] = (idx[0, 5] + 1) % 11;
        var a = gpt.forward(idx);
        var b = gpt.forward(changed);
        Assert.True(a[0, ..5].allclose(b[0, ..5]), "positions 0-4 must not see position 5");
        Assert.False(a[0, 5].allclose(b[0, 5]));
    }

    [Fact]
    public void Too_long_sequences_and_unknown_tokens_get_clear_errors()
    {
        using var scope = NewDisposeScope();
        using var gpt = new Gpt(GptConfig.Tiny);
        var e = Assert.Throws<ArgumentException>(() => gpt.forward(Tokens(1, 9, 11)));
        Assert.Contains("9 tokens but the context window (BlockSize) is 8", e.Message);
        e = Assert.Throws<ArgumentException>(() => gpt.forward(tensor(new long[] { 1, 2, 11 }).unsqueeze(0)));
        Assert.Contains("Token id 11 in sequence is outside the vocabulary [0, 10]", e.Message);
        e = Assert.Throws<ArgumentException>(() => gpt.forward(tensor(new[] { 1, 2 }).unsqueeze(0)));
        Assert.Contains("int64", e.Message);
    }

    [Fact]
    public void Save_and_load_round_trip_bit_exactly()
    {
        string dir = Directory.CreateTempSubdirectory("llmnb-ckpt-").FullName;
        try
        {
            string path = Path.Combine(dir, "gpt.safetensors");
            manual_seed(5);
            using var a = new Gpt(GptConfig.Tiny);
            Checkpoint.Save(a, path);
            manual_seed(6);
            using var b = new Gpt(GptConfig.Tiny);
            Checkpoint.Load(b, path);
            foreach (var (name, p) in a.state_dict())
                Assert.True(p.equal(b.state_dict()[name]).all().item<bool>(), $"{name} differs after loading");
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Loading_a_missing_corrupt_or_mismatched_checkpoint_is_refused_clearly()
    {
        string dir = Directory.CreateTempSubdirectory("llmnb-ckpt-").FullName;
        try
        {
            using var gpt = new Gpt(GptConfig.Tiny);
            Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(gpt, Path.Combine(dir, "none.safetensors")));

            string corrupt = Path.Combine(dir, "corrupt.safetensors");
            File.WriteAllBytes(corrupt, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
            Assert.Contains("not a safetensors file", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(gpt, corrupt)).Message);

            string wider = Path.Combine(dir, "wider.safetensors");
            using (var other = new Gpt(GptConfig.Tiny with { Channels = 32 })) Checkpoint.Save(other, wider);
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(gpt, wider));
            Assert.Contains("(11, 32) in the file but", e.Message);

            string deeper = Path.Combine(dir, "deeper.safetensors");
            using (var other = new Gpt(GptConfig.Tiny with { Layers = 3 })) Checkpoint.Save(other, deeper);
            Assert.Contains("unexpected [h.2.", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(gpt, deeper)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void No_tensor_leaks_over_200_training_steps()
    {
        manual_seed(7);
        using var gpt = new Gpt(GptConfig.Tiny);
        using var optimizer = optim.AdamW(gpt.parameters(), lr: 1e-3);
        long Live() => DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        void Step(int i)
        {
            using var scope = NewDisposeScope();
            var x = Tokens(4, 8, 11, seed: i);
            optimizer.zero_grad();
            var logits = gpt.forward(x[.., ..7]);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, 11), x[.., 1..].reshape(-1));
            loss.backward();
            optimizer.step();
        }
        for (int i = 0; i < 5; i++) Step(i);
        long before = Live();
        for (int i = 0; i < 200; i++) Step(i);
        Assert.Equal(before, Live());
    }
}
