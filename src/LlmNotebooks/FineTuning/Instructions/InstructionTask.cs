using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>
/// Supervised fine-tuning on instruction pairs for the <see cref="Trainer"/>: a <see cref="ResponseTask"/> over the
/// pairs encoded with the [INST] template by an <see cref="InstructionBatcher"/> (prompt = &lt;s&gt; [INST] instruction
/// [/INST], response = answer &lt;/s&gt;; or, without prompt masking, prompt = &lt;s&gt; alone). Batches, order, the masked
/// loss and validation are the ResponseTask's: the pairs are shuffled once per epoch with a seeded generator, each batch
/// is padded to its longest example, and the loss is the sum of −log p over the learned tokens, which the Trainer divides
/// by their count (at least 1), so a batch with nothing to learn gives 0, never NaN.
/// <para>The examples are encoded once, here: <see cref="InstructionBatcher.TruncatedExamples"/> counts the cut ones of
/// both lists.</para>
/// </summary>
public sealed class InstructionTask : ResponseTask
{
    public InstructionBatcher Batcher { get; }

    /// <param name="batcher">Tokenizer, context window and masking (see <see cref="InstructionBatcher"/>).</param>
    /// <param name="train">The training pairs.</param>
    /// <param name="validation">Held-out pairs for the validation loss, or null for none.</param>
    public InstructionTask(InstructionBatcher batcher, IReadOnlyList<InstructionExample> train, IReadOnlyList<InstructionExample>? validation = null)
        : base(Encode(batcher, train), validation is null ? null : Encode(batcher, validation), batcher.Ids.Pad)
    {
        Batcher = batcher;
    }

    static IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Response)> Encode(InstructionBatcher batcher, IReadOnlyList<InstructionExample> examples)
    {
        ArgumentNullException.ThrowIfNull(batcher);
        return batcher.EncodePairs(examples ?? throw new ArgumentNullException(nameof(examples)));
    }

    /// <summary>
    /// Refuses, with the fix, a model without rows for the template's tokens or with a shorter window than the batcher's,
    /// then everything <see cref="ResponseTask.Check"/> refuses.
    /// </summary>
    public override void Check(nn.Module model)
    {
        if (model is Gpt gpt)
        {
            var ids = Batcher.Ids;
            int highest = new[] { ids.Bos, ids.InstStart, ids.InstEnd, ids.Eos, ids.Pad }.Max();
            if (gpt.Config.VocabSize <= highest)
                throw new ArgumentException($"The model has {gpt.Config.VocabSize} token rows but the template's tokens go up to id {highest}: " +
                                            "grow it first with InstructionTemplate.GrowVocabulary(model, tokenizer.VocabSize).", nameof(model));
            if (Batcher.BlockSize > gpt.Config.BlockSize)
                throw new ArgumentException($"The batcher packs examples into {Batcher.BlockSize} tokens but the model reads at most {gpt.Config.BlockSize} (its BlockSize). " +
                                            $"Make the InstructionBatcher with blockSize ≤ {gpt.Config.BlockSize}.", nameof(model));
        }
        base.Check(model);
    }
}
