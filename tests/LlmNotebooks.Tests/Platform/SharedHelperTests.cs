using LlmNotebooks.Platform;
using LlmNotebooks.Tensors;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using LlmNotebooks.Recipe;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Platform;

/// <summary>The helpers that replaced several copies each: the checkout root, eval-mode scopes, the stable hashes.</summary>
public class SharedHelperTests
{
    [Fact]
    public void The_checkout_is_found_from_any_folder_inside_it_and_not_outside()
    {
        Assert.Equal(TestSetup.RepoRoot, Checkout.FindRoot(Path.Combine(TestSetup.RepoRoot, "src", "LlmNotebooks", "Training")));
        Assert.Equal(TestSetup.RepoRoot, Checkout.Root);
        Assert.Null(Checkout.FindRoot(Path.GetPathRoot(Path.GetTempPath())!));
        Assert.Null(Checkout.FindRoot(""));
        Assert.Equal(Path.Combine(TestSetup.RepoRoot, "artifacts", "models", "course-gpt"), CourseModel.Folder);
    }

    [Fact]
    public void An_eval_scope_turns_dropout_and_gradients_off_and_restores_both_even_after_an_exception()
    {
        manual_seed(3);
        using var model = new Gpt(GptConfig.Tiny with { Dropout = 0.5 });
        model.train();
        Assert.Throws<InvalidOperationException>((Action)(() =>
        {
            using (model.EvalScope())
            {
                Assert.False(model.training);
                Assert.False(is_grad_enabled());
                throw new InvalidOperationException("inside");
            }
        }));
        Assert.True(model.training);
        Assert.True(is_grad_enabled());
        model.eval();
        using (model.EvalScope()) { }
        Assert.False(model.training);                                    // a model that was in eval mode stays there
    }

    [Fact]
    public void The_stable_hashes_did_not_change_when_they_were_made_one()
    {
        // Pinned values (FNV-1a over the token ids, computed independently): checkpoints store these fingerprints.
        var counting = Enumerable.Range(0, 33).Select(i => i % 11).ToArray();
        Assert.EndsWith("fnv 16ce0f749a5337e6", new TokenBatches(counting, 8).Fingerprint);
        Assert.EndsWith("fnv 988cc5afd8cb65dd", new TokenBatches(Enumerable.Range(0, 1000).ToArray(), 8).Fingerprint);
    }

    [Fact]
    public void A_stream_seed_is_fixed_by_its_three_numbers_and_changes_with_each_of_them()
    {
        // Pinned values (SplitMix64 written out independently, in Python): a changed formula would change every run.
        Assert.Equal(-2152535657050944081, unchecked((long)Hashes.SplitMix64(Hashes.SplitMix64Increment)));   // SplitMix64's first output from state 0
        Assert.Equal(1877665708317513960, Hashes.StreamSeed(1234, 0, 0));
        Assert.Equal(-7298666816575203848, Hashes.StreamSeed(1234, 0, 1));
        Assert.Equal(-8867202898377109521, Hashes.StreamSeed(1234, 1, 0));
        Assert.Equal(-6411193824288604561, Hashes.StreamSeed(0, 0, 0));
        Assert.Equal(-7814586287401288431, Hashes.StreamSeed(-1, 5, 7));
        Assert.Equal(Hashes.StreamSeed(Defaults.Seed, 3, 99), Hashes.StreamSeed(Defaults.Seed, 3, 99));

        // Every (seed, stream, index) of a grid gets its own value, including the pairs a hand-made seed·prime + step
        // mixes up (seed, step + prime) and (seed + 1, step).
        var seeds = new[] { 0L, 1, 2, 1234, 1235, -1, long.MaxValue, long.MinValue };
        var all = (from seed in seeds from stream in Enumerable.Range(0, 8) from index in Enumerable.Range(0, 7_930)
                   select Hashes.StreamSeed(seed, stream, index)).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.NotEqual(Hashes.StreamSeed(1234, 0, 7_919), Hashes.StreamSeed(1235, 0, 0));

        // Neighbouring indices give unrelated seeds: about half of the 64 bits differ, and every bit is set about half the time.
        var steps = Enumerable.Range(0, 4096).Select(i => Hashes.StreamSeed(Defaults.Seed, 0, i)).ToArray();
        double flipped = steps.Zip(steps.Skip(1), (a, b) => (double)System.Numerics.BitOperations.PopCount((ulong)(a ^ b))).Average();
        Assert.InRange(flipped, 30, 34);
        for (int bit = 0; bit < 64; bit++)
            Assert.InRange(steps.Count(s => ((ulong)s >> bit & 1) == 1) / (double)steps.Length, 0.45, 0.55);
    }
}
