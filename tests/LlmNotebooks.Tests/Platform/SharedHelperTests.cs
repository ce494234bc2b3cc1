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
}
