using LlmNotebooks.FineTuning.LowRank;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>
/// The seed's prompt template, <c>&lt;s&gt;[INST] {instruction} [/INST] {output}&lt;/s&gt;</c>, and what a pretrained model
/// needs before it can learn it: the four markers (and a padding token) as special tokens of the tokenizer, and rows
/// for them in the model's token embedding.
/// <code>
/// var (model, tokenizer) = CourseModel.LoadOrTrain();
/// var chatTokenizer = InstructionTemplate.ExtendTokenizer(tokenizer);                 // ids 2048 … 2052 appended
/// var chatModel = InstructionTemplate.GrowVocabulary(model, chatTokenizer.VocabSize); // 5 new embedding rows
/// </code>
/// <para>The markers are special tokens so that the model sees each as one symbol that ordinary text can never
/// produce, and "&lt;/s&gt;" is a single token the model can predict to say "my answer ends here". Only the template
/// writes them: <see cref="Encode(BpeTokenizer, string, string)"/> and <see cref="EncodePrompt"/> put the marker ids in
/// place themselves and encode the instruction and the answer with <see cref="BpeTokenizer.EncodeOrdinary"/>, so a
/// "[/INST]" or "&lt;/s&gt;" that a user types stays text (the pieces "[", "/", "INST", "]" or whatever the merges make of
/// them) and cannot end a question or an answer early. <see cref="Format(string, string)"/> is the same sequence as a
/// string, for reading; encoding that string would turn typed markers into real ones.</para>
/// </summary>
public static class InstructionTemplate
{
    /// <summary>Start of a conversation (beginning of sequence).</summary>
    public const string Bos = "<s>";
    /// <summary>Opens the user's instruction.</summary>
    public const string InstStart = "[INST]";
    /// <summary>Closes the instruction: the answer starts after it.</summary>
    public const string InstEnd = "[/INST]";
    /// <summary>End of the answer: generation stops here.</summary>
    public const string Eos = "</s>";
    /// <summary>Fills short sequences up to the longest of a batch; never learned, never attended to by real tokens.</summary>
    public const string Pad = "<pad>";

    /// <summary>The template's special tokens, in the order <see cref="ExtendTokenizer"/> appends them.</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = [Bos, InstStart, InstEnd, Eos, Pad];

    /// <summary>
    /// The training text of one example, for reading: "&lt;s&gt;[INST] {instruction} [/INST] {output}&lt;/s&gt;". To get its ids
    /// use <see cref="Encode(BpeTokenizer, string, string)"/>, not the tokenizer on this string: that would read a marker
    /// typed inside the instruction or the answer as a real one.
    /// </summary>
    public static string Format(string instruction, string output) => $"{Bos}{InstStart} {instruction} {InstEnd} {output}{Eos}";

    /// <inheritdoc cref="Format(string, string)"/>
    public static string Format(InstructionExample example) => Format(example.Instruction, example.Output);

    /// <summary>What the model reads before answering, for reading: "&lt;s&gt;[INST] {instruction} [/INST]" (its ids: <see cref="EncodePrompt"/>).</summary>
    public static string FormatPrompt(string instruction) => $"{Bos}{InstStart} {instruction} {InstEnd}";

    /// <summary>
    /// The ids of one example, the sequence <see cref="Format(string, string)"/> spells: &lt;s&gt; [INST], the instruction,
    /// [/INST], the answer, &lt;/s&gt;. The five marker ids come from the template; the instruction (" {instruction} ") and
    /// the answer (" {output}") are encoded as ordinary text (<see cref="EncodeInstruction"/>, <see cref="EncodeAnswer"/>),
    /// so a marker's spelling typed in either is never a marker id. For text without such spellings the ids are exactly
    /// those of encoding the formatted string.
    /// </summary>
    /// <exception cref="ArgumentException">A tokenizer without the template's tokens, or text that is not valid UTF-16.</exception>
    public static int[] Encode(BpeTokenizer tokenizer, string instruction, string output)
    {
        var ids = Ids(tokenizer);
        return [ids.Bos, ids.InstStart, .. EncodeInstruction(tokenizer, instruction), ids.InstEnd, .. EncodeAnswer(tokenizer, output), ids.Eos];
    }

    /// <inheritdoc cref="Encode(BpeTokenizer, string, string)"/>
    public static int[] Encode(BpeTokenizer tokenizer, InstructionExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        return Encode(tokenizer, example.Instruction, example.Output);
    }

    /// <summary>
    /// The ids the model reads before answering: &lt;s&gt; [INST], the instruction as ordinary text, [/INST] (see
    /// <see cref="Encode(BpeTokenizer, string, string)"/>). The answer it generates starts after them.
    /// </summary>
    /// <exception cref="ArgumentException">A tokenizer without the template's tokens, or text that is not valid UTF-16.</exception>
    public static int[] EncodePrompt(BpeTokenizer tokenizer, string instruction)
    {
        var ids = Ids(tokenizer);
        return [ids.Bos, ids.InstStart, .. EncodeInstruction(tokenizer, instruction), ids.InstEnd];
    }

    /// <summary>The instruction's part of the sequence, " {instruction} " (the spaces around it belong to the template), as ordinary text: never a special id.</summary>
    public static IReadOnlyList<int> EncodeInstruction(BpeTokenizer tokenizer, string instruction)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(instruction);
        return tokenizer.EncodeOrdinary($" {instruction} ");
    }

    /// <summary>The answer's part of the sequence, " {output}", as ordinary text: never a special id (the template adds &lt;/s&gt;).</summary>
    public static IReadOnlyList<int> EncodeAnswer(BpeTokenizer tokenizer, string output)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(output);
        return tokenizer.EncodeOrdinary($" {output}");
    }

    /// <summary>
    /// The tokenizer with the template's tokens added as special tokens after its own ids (see
    /// <see cref="BpeTokenizer.WithSpecialTokens"/>): every pretrained id keeps its meaning.
    /// </summary>
    public static BpeTokenizer ExtendTokenizer(BpeTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return tokenizer.WithSpecialTokens(SpecialTokens);
    }

    /// <summary>The ids of the template's tokens in a tokenizer extended by <see cref="ExtendTokenizer"/>.</summary>
    /// <exception cref="ArgumentException">The tokenizer lacks them.</exception>
    public static TemplateIds Ids(BpeTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var missing = SpecialTokens.Where(t => !tokenizer.SpecialTokens.ContainsKey(t)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"The tokenizer has no special token{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)}. " +
                                        "Extend it first: tokenizer = InstructionTemplate.ExtendTokenizer(tokenizer), and grow the model to its VocabSize.", nameof(tokenizer));
        var t = tokenizer.SpecialTokens;
        return new TemplateIds(t[Bos], t[InstStart], t[InstEnd], t[Eos], t[Pad]);
    }

    /// <summary>
    /// A copy of <paramref name="model"/> whose token embedding (and so, tied to it, its output layer) has
    /// <paramref name="vocabSize"/> rows: the old rows unchanged, every other weight copied, the model's config with the
    /// new VocabSize. The original model is not changed. Torch's global random generator is left as it was.
    /// <para><b>How new rows start.</b> Each new row is the mean of the existing rows plus Gaussian noise with, per
    /// dimension, <paramref name="noiseScale"/> times the existing rows' standard deviation (drawn from this call's
    /// own generator, seeded by <paramref name="seed"/>). Why the mean: the output layer is the same matrix, so a new
    /// token's score is h·e_new. With e_new = mean of the old rows, that score is the average of the old scores, and
    /// exp(average) ≤ average of exp (Jensen): a new token can take at most about 1/V of the probability, so the
    /// pretrained model's predictions barely change, and an embedding of a random size would not give that guarantee.
    /// Why the noise: five rows that are all exactly the mean are the same vector, so the model could not tell
    /// [INST] from [/INST] or &lt;/s&gt;, and their scores would always tie — which matters most when the embeddings stay
    /// frozen, as in LoRA. Noise of the size of the existing rows' spread (the default, 1) makes each new token look
    /// like a typical existing one, centred on the mean (Hewitt 2021, "Initializing new word embeddings"); it trades the
    /// strict 1/V bound for tokens that can be told apart. noiseScale 0 gives the plain mean.</para>
    /// </summary>
    /// <exception cref="ArgumentException">A smaller vocabulary, a model with adapters, or a negative noise scale.</exception>
    public static Gpt GrowVocabulary(Gpt model, int vocabSize, double noiseScale = 1.0, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        int old = model.Config.VocabSize;
        if (vocabSize < old)
            throw new ArgumentException($"The model already has {old} token rows; expected at least that many, got {vocabSize}. Pass the extended tokenizer's VocabSize.", nameof(vocabSize));
        if (!double.IsFinite(noiseScale) || noiseScale < 0)
            throw new ArgumentOutOfRangeException(nameof(noiseScale), $"The noise scale must be 0 (plain mean) or more (1: the spread of the existing rows); got {noiseScale}.");
        if (model.named_modules().Any(m => m.module is LoraLinear))
            throw new ArgumentException("Grow the vocabulary before applying LoRA: this model has adapters (its weights are named differently).", nameof(model));

        var state = torch.random.get_rng_state();
        Gpt grown;
        try { grown = new Gpt(model.Config with { VocabSize = vocabSize }); }   // its random initialisation is overwritten below
        finally { torch.random.set_rng_state(state); }

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var source = model.state_dict();
        foreach (var (name, target) in grown.state_dict())
        {
            var from = source[name];
            if (name != "wte.weight") { target.copy_(from); continue; }
            target.narrow(0, 0, old).copy_(from);
            if (vocabSize == old) continue;
            var mean = from.mean([0L], keepdim: true);                                   // (1, C)
            var std = from.std([0L], keepdim: true);                                      // (1, C)
            using var g = new Generator(seed);
            var noise = randn(new long[] { vocabSize - old, from.shape[1] }, dtype: from.dtype, generator: g);
            target.narrow(0, old, vocabSize - old).copy_(mean + noise * std * noiseScale);
        }
        grown.train(model.training);
        return grown;
    }
}
