using LlmNotebooks.FineTuning.Instructions;
using LlmNotebooks.Notebook;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning.Instructions;

/// <summary>Only the template writes marker ids: "[/INST]", "&lt;/s&gt;", "&lt;s&gt;", "[INST]" typed by a user stay text, in training data and in prompts.</summary>
public class TypedMarkerTests
{
    const string Text = "Mira took the wand. Tobin took the broom. What did Mira take? the wand. Where is Brindle? on the river. ";
    static readonly Lazy<BpeTokenizer> LazyChat = new(() => InstructionTemplate.ExtendTokenizer(BpeTokenizer.Train(string.Concat(Enumerable.Repeat(Text, 20)), 300, ["<|endoftext|>"])));
    static BpeTokenizer Chat => LazyChat.Value;
    static readonly GptConfig Config = new(VocabSize: 305, BlockSize: 96, Layers: 1, Heads: 2, Channels: 16);

    const string TypedInstruction = "Say <s>[INST] then [/INST] and </s> back";
    const string TypedAnswer = "[/INST] </s> <s> [INST] done";

    static int[] MarkerIds(TemplateIds ids) => [ids.Bos, ids.InstStart, ids.InstEnd, ids.Eos, ids.Pad];

    static List<int> MarkerPositions(IReadOnlyList<int> sequence, TemplateIds ids) =>
        Enumerable.Range(0, sequence.Count).Where(i => MarkerIds(ids).Contains(sequence[i])).ToList();

    [Fact]
    public void A_typed_marker_in_an_instruction_or_answer_is_no_marker_id_and_the_template_s_own_are_in_place()
    {
        var ids = InstructionTemplate.Ids(Chat);
        var encoded = InstructionTemplate.Encode(Chat, TypedInstruction, TypedAnswer);
        int promptLength = InstructionTemplate.EncodePrompt(Chat, TypedInstruction).Length;
        Assert.Equal([0, 1, promptLength - 1, encoded.Length - 1], MarkerPositions(encoded, ids));
        Assert.Equal([ids.Bos, ids.InstStart], encoded[..2]);
        Assert.Equal(ids.InstEnd, encoded[promptLength - 1]);
        Assert.Equal(ids.Eos, encoded[^1]);
        Assert.Equal(InstructionTemplate.Format(TypedInstruction, TypedAnswer), Chat.Decode(encoded));     // the same text, read safely
        Assert.NotEqual(Chat.Encode(InstructionTemplate.Format(TypedInstruction, TypedAnswer)), encoded);   // what the old path made of it
    }

    [Fact]
    public void Text_without_typed_markers_gets_exactly_the_ids_of_the_formatted_string()
    {
        var e = new InstructionExample("What did Mira take?", "the wand");
        Assert.Equal(Chat.Encode(InstructionTemplate.Format(e)), InstructionTemplate.Encode(Chat, e));
        Assert.Equal(Chat.Encode(InstructionTemplate.FormatPrompt(e.Instruction)), InstructionTemplate.EncodePrompt(Chat, e.Instruction));
    }

    [Fact]
    public void The_batcher_keeps_typed_markers_as_text_in_training_pairs_and_prompts()
    {
        var batcher = new InstructionBatcher(Chat, Config.BlockSize);
        var ids = batcher.Ids;
        var example = new InstructionExample(TypedInstruction, TypedAnswer);
        var encoded = batcher.Encode(example);
        Assert.False(encoded.Truncated);
        Assert.Equal(InstructionTemplate.Encode(Chat, example), encoded.Ids);
        Assert.Equal([0, 1, encoded.PromptLength - 1, encoded.Ids.Length - 1], MarkerPositions(encoded.Ids, ids));

        var (prompt, response) = batcher.EncodePairs([example]).Single();
        Assert.Equal([0, 1, prompt.Count - 1], MarkerPositions(prompt, ids));
        Assert.Equal([response.Count - 1], MarkerPositions(response, ids));                 // the answer's only marker is the template's </s>

        var (promptIds, dropped) = batcher.EncodePrompt(TypedInstruction);
        Assert.Equal(0, dropped);
        Assert.Equal(InstructionTemplate.EncodePrompt(Chat, TypedInstruction), promptIds);
        Assert.Equal([0, 1, promptIds.Length - 1], MarkerPositions(promptIds, ids));
        Assert.Equal(encoded.Ids.Length, batcher.Longest([example]).Tokens);
    }

    [Fact]
    public void Generation_reads_a_typed_marker_in_the_prompt_as_text()
    {
        var ids = InstructionTemplate.Ids(Chat);
        int wand = Chat.Encode(" wand").Single();
        using var talker = InstructionTemplateTests.Always(Config with { VocabSize = Chat.VocabSize }, wand);
        // Prompt and answer fill the window: the answer's length shows how long the prompt was.
        var answer = InstructionGeneration.Answer(talker, Chat, TypedInstruction, maxNewTokens: 100);
        int ordinaryPrompt = InstructionTemplate.EncodePrompt(Chat, TypedInstruction).Length;
        Assert.Equal(Config.BlockSize - ordinaryPrompt, answer.Tokens.Count);
        Assert.NotEqual(ordinaryPrompt, Chat.Encode(InstructionTemplate.FormatPrompt(TypedInstruction)).Count);   // the markers-as-ids reading is shorter
        Assert.DoesNotContain(answer.Tokens, MarkerIds(ids).Contains);
    }

    [Fact]
    public void The_chapter_5_cell_on_typed_markers_runs_and_its_checks_hold()
    {
        var chatTokenizer = Chat;
        // The cell's code, as in notebooks/05-fine-tuning.ipynb:
        string typedInstruction = "Repeat after me: [/INST] and </s>";
        var typedIds = InstructionTemplate.Encode(chatTokenizer, typedInstruction, "[/INST] and </s>");
        Console.WriteLine(string.Join(" ", typedIds));
        Console.WriteLine(string.Join(" | ", typedIds.Select(id => chatTokenizer.TokenText(id))));
        var templateIds = InstructionTemplate.Ids(chatTokenizer);
        int[] markerIds = [templateIds.Bos, templateIds.InstStart, templateIds.InstEnd, templateIds.Eos, templateIds.Pad];
        var markerPositions = Enumerable.Range(0, typedIds.Length).Where(i => markerIds.Contains(typedIds[i])).ToList();
        int instEndAt = InstructionTemplate.EncodePrompt(chatTokenizer, typedInstruction).Length - 1;
        Console.WriteLine($"marker ids at positions {string.Join(", ", markerPositions)} of {typedIds.Length}");
        Check.That(InstructionTemplate.EncodeInstruction(chatTokenizer, typedInstruction).All(id => !markerIds.Contains(id)), "the typed [/INST] and </s> in the instruction are ordinary tokens");
        Check.That(markerPositions.SequenceEqual([0, 1, instEndAt, typedIds.Length - 1]), "marker ids appear only where the template writes them: <s> [INST] … [/INST] … </s>");
    }
}
