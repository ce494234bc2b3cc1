using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LlmNotebooks.Generation;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>
/// Asking a fine-tuned model: the prompt "&lt;s&gt;[INST] {instruction} [/INST]", then greedy decoding (always the most
/// likely next token) until the model writes &lt;/s&gt; or <c>maxNewTokens</c> tokens have come out (or prompt and answer
/// fill the 64-token window: the model cannot read further back, and the prompt is never cut to make room while
/// answering). Runs on the course's one generation loop, <see cref="BatchedGeneration"/>: many instructions are answered
/// in one batch.
/// </summary>
public static class InstructionGeneration
{
    /// <summary>Greedy answer to one instruction; the model is switched to eval mode for it and back afterwards.</summary>
    /// <exception cref="ArgumentException">A tokenizer without the template's tokens, or one larger than the model's vocabulary.</exception>
    public static GeneratedAnswer Answer(Gpt model, BpeTokenizer tokenizer, string instruction, int maxNewTokens = 32)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        return Answer(model, tokenizer, [instruction], maxNewTokens)[0];
    }

    /// <summary>Greedy answers to many instructions, in their order, decoded together in batches (see <see cref="Answer(Gpt, BpeTokenizer, string, int)"/>).</summary>
    public static IReadOnlyList<GeneratedAnswer> Answer(Gpt model, BpeTokenizer tokenizer, IReadOnlyList<string> instructions, int maxNewTokens = 32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(instructions);
        if (maxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), $"Expected at least 1 new token, got {maxNewTokens}.");
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"The tokenizer has {tokenizer.VocabSize} tokens but the model only {model.Config.VocabSize} rows: grow the model with InstructionTemplate.GrowVocabulary(model, tokenizer.VocabSize).", nameof(tokenizer));
        var batcher = new InstructionBatcher(tokenizer, model.Config.BlockSize);
        var prompts = instructions.Select((instruction, i) => batcher.EncodePrompt(instruction ?? throw new ArgumentException($"Instruction {i} is null.", nameof(instructions)),
                                                                                   roomForAnswer: 1)).ToList();   // cut only a prompt that would not fit at all
        var completions = BatchedGeneration.Generate(model, prompts.Select(p => (IReadOnlyList<int>)p.Ids).ToList(), maxNewTokens, [batcher.Ids.Eos]);
        return completions.Select((c, i) =>
        {
            var text = tokenizer.Decode(c.Content);
            return new GeneratedAnswer(text.StartsWith(' ') ? text[1..] : text, c.Finished, c.Content, prompts[i].Dropped);
        }).ToList();
    }

    /// <summary>
    /// The comparison form of an answer: Unicode NFC, lower case (invariant culture, so Cyrillic too), runs of white space
    /// made one space, trimmed, and one final "." removed. "  The Wand. " and "the wand" are equal; "wand" is not.
    /// </summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = Regex.Replace(text.Normalize(NormalizationForm.FormC).ToLowerInvariant(), @"\s+", " ").Trim();
        return s.EndsWith('.') ? s[..^1].TrimEnd() : s;
    }

    /// <summary>Answers every example greedily (in batches) and scores exact match against its output (see <see cref="Normalize"/>).</summary>
    public static ExactMatchReport ExactMatch(Gpt model, BpeTokenizer tokenizer, IReadOnlyList<InstructionExample> examples, int maxNewTokens = 32)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var answers = Answer(model, tokenizer, examples.Select(e => e.Instruction).ToList(), maxNewTokens);
        var items = examples.Zip(answers, (e, a) => new ExactMatchItem(e, a.Text, Normalize(a.Text) == Normalize(e.Output))).ToList();
        return new ExactMatchReport(items.Count(i => i.Correct), items.Count, items);
    }
}
