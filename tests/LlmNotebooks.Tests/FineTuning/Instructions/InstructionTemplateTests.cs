using LlmNotebooks.FineTuning.Instructions;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning.Instructions;

public class InstructionTemplateTests
{
    const string Text = "Mira took the wand. Tobin took the broom. What did Mira take? the wand. Where is Brindle? on the river. ";
    static readonly BpeTokenizer Base = BpeTokenizer.Train(string.Concat(Enumerable.Repeat(Text, 20)), 300, ["<|endoftext|>"]);
    static readonly BpeTokenizer Chat = InstructionTemplate.ExtendTokenizer(Base);
    static readonly GptConfig Config = new(VocabSize: Base.VocabSize, BlockSize: 24, Layers: 1, Heads: 2, Channels: 16);

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void Template_tokens_are_appended_special_tokens_that_never_split()
    {
        Assert.Equal(Base.VocabSize + 5, Chat.VocabSize);
        var ids = InstructionTemplate.Ids(Chat);
        Assert.Equal([Base.VocabSize, Base.VocabSize + 1, Base.VocabSize + 2, Base.VocabSize + 3, Base.VocabSize + 4], new[] { ids.Bos, ids.InstStart, ids.InstEnd, ids.Eos, ids.Pad });
        Assert.Equal(Base.SpecialTokens["<|endoftext|>"], Chat.SpecialTokens["<|endoftext|>"]);
        Assert.Equal(Base.Encode(Text), Chat.Encode(Text));                     // pretrained ids keep their meaning
        string formatted = InstructionTemplate.Format("What did Mira take?", "the wand");
        Assert.Equal("<s>[INST] What did Mira take? [/INST] the wand</s>", formatted);
        var encoded = Chat.Encode(formatted);
        Assert.Equal(ids.Bos, encoded[0]);
        Assert.Equal(ids.InstStart, encoded[1]);
        Assert.Equal(ids.Eos, encoded[^1]);
        Assert.Single(encoded, ids.InstEnd);
        Assert.Equal(formatted, Chat.Decode(encoded));
        Assert.Equal(Chat.VocabSize, Chat.WithSpecialTokens(InstructionTemplate.SpecialTokens).VocabSize);   // adding twice adds nothing
        Assert.Contains("ExtendTokenizer", Assert.Throws<ArgumentException>(() => InstructionTemplate.Ids(Base)).Message);
    }

    [Fact]
    public void Growing_the_vocabulary_keeps_the_old_model_and_starts_new_rows_near_the_mean()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var model = new Gpt(Config);
        model.eval();
        var tokens = tensor(Base.Encode("Mira took the wand.").Select(i => (long)i).ToArray()).unsqueeze(0);
        var before = model.forward(tokens);
        manual_seed(11);
        var grown = InstructionTemplate.GrowVocabulary(model, Chat.VocabSize, seed: 1);
        var afterGrow = rand(2);
        manual_seed(11);
        Assert.True(Same(afterGrow, rand(2)), "GrowVocabulary must leave torch's global generator as it was");
        Assert.Equal(Chat.VocabSize, grown.Config.VocabSize);
        Assert.False(grown.training);
        var after = grown.forward(tokens);
        Assert.True(Same(before, after.narrow(2, 0, Base.VocabSize)), "old tokens score exactly as before");
        Assert.Equal(Base.VocabSize, model.Config.VocabSize);

        var wte = grown.state_dict()["wte.weight"];
        var old = wte.narrow(0, 0, Base.VocabSize);
        var added = wte.narrow(0, Base.VocabSize, 5);
        var mean = old.mean([0L]);
        Assert.True((added - mean).abs().max().item<float>() > 0, "noise makes the new tokens distinct");
        Assert.True((added - mean).norm().item<float>() / 5 < 3 * (old - mean).norm().item<float>() / Base.VocabSize * 5, "new rows stay inside the spread of the old ones");
        var plain = InstructionTemplate.GrowVocabulary(model, Chat.VocabSize, noiseScale: 0);
        var plainAdded = plain.state_dict()["wte.weight"].narrow(0, Base.VocabSize, 5);
        Assert.True(plainAdded.sub(mean).abs().max().item<float>() < 1e-6, "noise 0: every new row is the mean");
        // A mean row scores at most like an average old token, so the new tokens take little probability at first.
        var p = nn.functional.softmax(plain.forward(tokens), -1);
        Assert.True(p.narrow(2, Base.VocabSize, 5).sum(-1).max().item<float>() <= 5.0 / Base.VocabSize + 1e-6);
        Assert.Throws<ArgumentException>(() => InstructionTemplate.GrowVocabulary(model, Base.VocabSize - 1));
        Assert.ThrowsAny<ArgumentException>(() => InstructionTemplate.GrowVocabulary(model, Chat.VocabSize, noiseScale: double.NaN));
    }

    static readonly InstructionExample Short = new("What did Mira take?", "the wand");
    static readonly InstructionExample Longer = new("Mira took the wand. Tobin took the broom. What did Tobin take?", "the broom");

    [Fact]
    public void Labels_are_the_next_tokens_masked_on_the_prompt_and_the_padding()
    {
        var batcher = new InstructionBatcher(Chat, Config.BlockSize);
        var ids = batcher.Ids;
        var a = batcher.Encode(Short);
        using var batch = batcher.Build([Short, Longer]);
        var b = batcher.Encode(Longer);
        long T = Math.Max(a.Ids.Length, b.Ids.Length) - 1;
        Assert.Equal(new[] { 2L, T }, batch.Input.shape);
        Assert.Equal(new[] { 2L, T }, batch.ResponseMask.shape);
        // What chapter 5's cell reads: the tokens of row 0, and the mask written as −100 labels.
        var input = batch.Input[0].data<long>().ToArray();
        var labels = MaskedCrossEntropy.Labels(batch.Targets, batch.ResponseMask)[0].data<long>().ToArray();
        Assert.Equal(a.Ids.Select(i => (long)i), batch.Tokens[0].data<long>().Take(a.Ids.Length));
        Assert.Equal(a.Ids[..^1].Select(i => (long)i), input.Take(a.Ids.Length - 1));
        Assert.All(batch.Tokens[0].data<long>().Skip(a.Ids.Length), i => Assert.Equal(ids.Pad, i));          // right padding
        Assert.All(labels.Take(a.PromptLength - 1), l => Assert.Equal(MaskedCrossEntropy.IgnoreIndex, l)); // prompt masked
        Assert.Equal(a.Ids[a.PromptLength], labels[a.PromptLength - 1]);                                   // after [/INST]: the first answer token
        Assert.Equal(ids.Eos, labels[a.Ids.Length - 2]);                                                    // the answer ends with </s>
        Assert.All(labels.Skip(a.Ids.Length - 1), l => Assert.Equal(MaskedCrossEntropy.IgnoreIndex, l));  // padding masked
        Assert.Equal(a.Ids.Length - a.PromptLength + b.Ids.Length - b.PromptLength, batch.ResponseLengths.Sum());
        Assert.Equal(labels.Count(l => l != MaskedCrossEntropy.IgnoreIndex), a.Ids.Length - a.PromptLength);

        var full = new InstructionBatcher(Chat, Config.BlockSize, maskPrompt: false);
        using var unmasked = full.Build([Short, Longer]);
        var ul = MaskedCrossEntropy.Labels(unmasked.Targets, unmasked.ResponseMask)[0].data<long>().ToArray();
        Assert.Equal(a.Ids[1..].Select(i => (long)i), ul.Take(a.Ids.Length - 1));                          // every next token, prompt included
        Assert.All(ul.Skip(a.Ids.Length - 1), l => Assert.Equal(MaskedCrossEntropy.IgnoreIndex, l));
        Assert.Equal(a.Ids.Length - 1 + b.Ids.Length - 1, unmasked.ResponseLengths.Sum());
        Assert.Equal([(IReadOnlyList<int>)a.Ids[..1], a.Ids[1..]], full.EncodePairs([Short]).Select(p => new[] { p.Prompt, p.Response }).Single());
        Assert.Equal([(IReadOnlyList<int>)a.Ids[..a.PromptLength], a.Ids[a.PromptLength..]], batcher.EncodePairs([Short]).Select(p => new[] { p.Prompt, p.Response }).Single());
    }

    [Fact]
    public void The_chapter_5_loss_cell_checks_a_hand_written_masked_mean_against_the_library()
    {
        using var scope = NewDisposeScope();
        var batcher = new InstructionBatcher(Chat, Config.BlockSize);
        using var one = batcher.Build([Short]);
        var logits = randn(one.Input.shape[0], one.Input.shape[1], Chat.VocabSize);
        var byHand = -(logits.log_softmax(-1).gather(-1, one.Targets.unsqueeze(-1)).squeeze(-1) * one.ResponseMask).sum() / one.ResponseMask.sum();
        LlmNotebooks.Notebook.Check.AllClose(MaskedCrossEntropy.Mean(logits, one.Targets, one.ResponseMask), byHand, 1e-5, "the masked mean");
        Assert.Equal(0f, MaskedCrossEntropy.Mean(logits, one.Targets, zeros_like(one.ResponseMask)).item<float>());
    }

    [Fact]
    public void Too_long_instructions_are_cut_from_the_left_and_counted_and_too_long_answers_refused()
    {
        var batcher = new InstructionBatcher(Chat, Config.BlockSize);
        var ids = batcher.Ids;
        var rambling = new InstructionExample(string.Concat(Enumerable.Repeat("Mira took the wand. ", 10)) + "What did Mira take?", "the wand");
        var e = batcher.Encode(rambling);
        Assert.True(e.Truncated);
        Assert.Equal(Config.BlockSize + 1, e.Ids.Length);                       // exactly fills the window (the last </s> is never read)
        Assert.Equal([ids.Bos, ids.InstStart], e.Ids[..2]);
        Assert.Equal(Chat.Encode(" What did Mira take? [/INST] the wand</s>"), e.Ids[^Chat.Encode(" What did Mira take? [/INST] the wand</s>").Count..]);
        using (var batch = batcher.Build([Short, rambling, rambling]))
            Assert.Equal(Config.BlockSize, batch.Input.shape[1]);                 // BlockSize + 1 ids: the model reads BlockSize
        Assert.Equal(2, batcher.TruncatedExamples);
        Assert.Equal(2L * e.DroppedPromptTokens, batcher.DroppedTokens);
        var essay = new InstructionExample("Why?", string.Concat(Enumerable.Repeat("the wand and the broom ", 10)));
        Assert.Contains("Shorten the answer", Assert.Throws<ArgumentException>(() => batcher.Encode(essay)).Message);
        Assert.False(batcher.Encode(Short).Truncated);
    }

    static Gpt Always(int token) => Always(Config with { VocabSize = Chat.VocabSize }, token);

    /// <summary>A model of <paramref name="config"/> that always predicts <paramref name="token"/>: the final LayerNorm outputs a constant direction, and only that token's embedding row points along it.</summary>
    internal static Gpt Always(GptConfig config, int token)
    {
        var model = new Gpt(config);
        using var _ = no_grad();
        var state = model.state_dict();
        state["ln_f.weight"].zero_();
        state["ln_f.bias"].zero_();
        state["ln_f.bias"][0] = 1;
        state["wte.weight"].select(1, 0).zero_();
        state["wte.weight"][token, 0] = 10;
        return model;
    }

    [Fact]
    public void Greedy_answers_stop_at_the_end_token_or_the_limit_and_exact_match_normalises()
    {
        var ids = InstructionTemplate.Ids(Chat);
        using (var stops = Always(ids.Eos))
        {
            var answer = InstructionGeneration.Answer(stops, Chat, "What did Mira take?");
            Assert.True(answer.Finished);
            Assert.Equal("", answer.Text);
        }
        int wand = Chat.Encode(" wand").Single();
        using var talker = Always(wand);
        var rambles = InstructionGeneration.Answer(talker, Chat, "What did Mira take?", maxNewTokens: 3);
        Assert.False(rambles.Finished);
        Assert.Equal([wand, wand, wand], rambles.Tokens);
        Assert.Equal("wand wand wand", rambles.Text);
        var windowFull = InstructionGeneration.Answer(talker, Chat, "What did Mira take?", maxNewTokens: 100);
        Assert.Equal(Config.BlockSize - Chat.Encode(InstructionTemplate.FormatPrompt("What did Mira take?")).Count, windowFull.Tokens.Count);   // prompt + answer fill the window
        Assert.True(talker.training, "the model's mode is restored");

        Assert.Equal("the wand", InstructionGeneration.Normalize("  The\tWand. "));
        Assert.Equal("волшебную палочку", InstructionGeneration.Normalize("Волшебную  палочку."));
        Assert.NotEqual(InstructionGeneration.Normalize("wand"), InstructionGeneration.Normalize("the wand"));
        var report = InstructionGeneration.ExactMatch(talker, Chat, [new("What did Mira take?", "Wand wand."), new("Who?", "Mira")], maxNewTokens: 2);
        Assert.Equal(1, report.Correct);
        Assert.Equal(0.5, report.Score);
        Assert.Equal("exact match 1/2 = 50.0%", report.ToString());
        Assert.Contains("GrowVocabulary", Assert.Throws<ArgumentException>(() => InstructionGeneration.Answer(new Gpt(Config), Chat, "Hi")).Message);
    }
}
