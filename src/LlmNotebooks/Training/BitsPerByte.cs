using LlmNotebooks.Tensors;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// Bits per byte: a language model's loss measured per byte of text instead of per token. A loss in nats per token
/// depends on the tokenizer (a character model predicts more, easier tokens than a BPE model), so two models with
/// different tokenizers cannot be compared by it. Summing the nats over the targets and dividing by the UTF-8 bytes those
/// targets spell gives a measure of the text alone: bits per byte = Σ nats / (Σ bytes · ln 2). Targets that spell no text
/// (special tokens such as &lt;|endoftext|&gt;) count in neither sum, as nanochat counts them.
/// </summary>
public static class BitsPerByte
{
    /// <summary>
    /// The UTF-8 bytes each token id spells: a byte-level BPE's own byte sequences (0 for its special tokens); for any other
    /// tokenizer, the bytes of the decoded token (right for <see cref="CharTokenizer"/>, whose tokens are whole characters).
    /// </summary>
    public static int[] TokenBytes(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (tokenizer is BpeTokenizer bpe)
        {
            var special = bpe.SpecialTokens.Values.ToHashSet();
            return Enumerable.Range(0, bpe.VocabSize).Select(id => special.Contains(id) ? 0 : bpe.TokenBytes(id).Count).ToArray();
        }
        return Enumerable.Range(0, tokenizer.VocabSize).Select(id => System.Text.Encoding.UTF8.GetByteCount(tokenizer.Decode([id]))).ToArray();
    }

    /// <summary>Σ nats / (Σ bytes · ln 2) from the two sums.</summary>
    public static double FromSums(double nats, long bytes)
    {
        if (bytes <= 0) throw new ArgumentException($"Bits per byte needs targets that spell at least one byte, got {bytes}.", nameof(bytes));
        if (!double.IsFinite(nats) || nats < 0) throw new ArgumentException($"The summed loss must be a finite number ≥ 0 (nats), got {nats}.", nameof(nats));
        return nats / (bytes * Math.Log(2));
    }

    /// <summary>
    /// Bits per byte of <paramref name="model"/> on the same fixed windows <see cref="LanguageModelingTask.EvaluateLoss"/> reads
    /// (<paramref name="batches"/> batches spread evenly over <paramref name="data"/>), with <paramref name="tokenBytes"/> from
    /// <see cref="TokenBytes"/> of the tokenizer that made the data. Eval mode, no gradients.
    /// </summary>
    public static double Evaluate(Gpt model, TokenBatches data, IReadOnlyList<int> tokenBytes, int batchSize = 16, int batches = 8)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(tokenBytes);
        data.RequireVocabulary(model.Config.VocabSize);
        if (tokenBytes.Count < model.Config.VocabSize)
            throw new ArgumentException($"tokenBytes has {tokenBytes.Count} entries but the model has {model.Config.VocabSize} token ids: build it with BitsPerByte.TokenBytes(tokenizer).", nameof(tokenBytes));
        int negative = Enumerable.Range(0, tokenBytes.Count).FirstOrDefault(id => tokenBytes[id] < 0, -1);
        if (negative >= 0)
            throw new ArgumentException($"tokenBytes[{negative}] is {tokenBytes[negative]}: a token spells 0 or more bytes. Build the table with BitsPerByte.TokenBytes(tokenizer).", nameof(tokenBytes));
        using var eval = model.EvalScope();
        using var bytesOf = tensor(tokenBytes.Select(b => (long)b).ToArray(), dtype: int64);
        double nats = 0;
        long bytes = 0;
        for (int i = 0; i < batches; i++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = data.Evenly(batchSize, i, batches);
            var logits = model.forward(x);
            var perToken = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), y.reshape(-1), reduction: nn.Reduction.None);
            var spelled = bytesOf[y.reshape(-1)];
            nats += perToken.masked_select(spelled.gt(0)).sum().item<float>();
            bytes += spelled.sum().item<long>();
        }
        return FromSums(nats, bytes);
    }
}
