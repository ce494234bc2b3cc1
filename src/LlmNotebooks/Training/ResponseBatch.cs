using LlmNotebooks.Tensors;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// Prompts and their responses as one padded batch, ready to be scored by a causal model. Row b holds prompt b, then
/// response b, then padding. A causal model reads left to right, so the padding after a sequence never changes the scores of
/// its real tokens, and <see cref="ResponseMask"/> says which predictions belong to the response: the only ones RLHF,
/// DPO and SFT learn from.
/// <code>
/// using var batch = ResponseBatch.Create([prompt], [answerWithEnd], padToken, model.Config.BlockSize);
/// var logp = SequenceLogProbs.Summed(model, batch);   // log π(answer | prompt)
/// </code>
/// </summary>
public sealed class ResponseBatch : IDisposable
{
    /// <summary>How many sequences the batch holds (B).</summary>
    public int Count { get; }
    /// <summary>(B, T) int64 token ids: prompt, response, padding; T is the longest prompt + response.</summary>
    public Tensor Tokens { get; }
    /// <summary>(B, T − 1) int64, a view of <see cref="Tokens"/> without the last column: what a causal model reads to score the batch.</summary>
    public Tensor Input { get; }
    /// <summary>(B, T − 1) int64, a view of <see cref="Tokens"/> without the first column: what each input position predicts, the next token.</summary>
    public Tensor Targets { get; }
    /// <summary>
    /// (B, T − 1) float32: 1 at position t when the token after it, Tokens[b, t + 1], is a response token, so that position's
    /// prediction is one of the response's; 0 for the prompt's and the padding's.
    /// </summary>
    public Tensor ResponseMask { get; }
    /// <summary>(B) int64: where each sequence's last real token sits (a reward model reads its score there).</summary>
    public Tensor LastIndex { get; }
    public IReadOnlyList<int> PromptLengths { get; }
    public IReadOnlyList<int> ResponseLengths { get; }

    ResponseBatch(Tensor tokens, Tensor mask, Tensor last, int[] promptLengths, int[] responseLengths)
    {
        Tokens = tokens; ResponseMask = mask; LastIndex = last;
        Input = tokens.narrow(1, 0, mask.shape[1]);
        Targets = tokens.narrow(1, tokens.shape[1] - mask.shape[1], mask.shape[1]);
        PromptLengths = promptLengths; ResponseLengths = responseLengths;
        Count = promptLengths.Length;
    }

    /// <summary>
    /// Packs prompt b + response b into row b. Responses must already end with the end token if it is to be scored (a model
    /// only learns to stop from examples that show it stopping).
    /// </summary>
    /// <exception cref="ArgumentException">Different numbers of prompts and responses, an empty prompt, a negative token id, or a
    /// prompt + response longer than <paramref name="blockSize"/> (the model could not read it).</exception>
    public static ResponseBatch Create(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<IReadOnlyList<int>> responses, int padToken, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(responses);
        if (prompts.Count != responses.Count)
            throw new ArgumentException($"Every prompt needs one response: got {prompts.Count} prompts and {responses.Count} responses.", nameof(responses));
        if (prompts.Count == 0) throw new ArgumentException("The batch is empty: give at least one prompt and its response.", nameof(prompts));
        if (padToken < 0) throw new ArgumentOutOfRangeException(nameof(padToken), $"The padding token must be a token id (≥ 0), got {padToken}.");
        int B = prompts.Count;
        var promptLengths = new int[B];
        var responseLengths = new int[B];
        for (int b = 0; b < B; b++)
        {
            var (p, r) = (prompts[b], responses[b]);
            if (p is null || p.Count == 0)
                throw new ArgumentException($"Prompt {b} is empty: a response's first token is predicted from the token before it, so give at least one " +
                                            "prompt token (for example a start-of-text token).", nameof(prompts));
            ArgumentNullException.ThrowIfNull(r, $"{nameof(responses)}[{b}]");
            if (p.Count + r.Count > blockSize)
                throw new ArgumentException($"Sequence {b} is {p.Count} prompt + {r.Count} response = {p.Count + r.Count} tokens, longer than the model's context " +
                                            $"window of {blockSize} tokens. Shorten the prompt or the response (or cap generation at {Math.Max(0, blockSize - p.Count)} new tokens).", nameof(responses));
            if (p.Concat(r).FirstOrDefault(t => t < 0, 0) is < 0 and var bad)
                throw new ArgumentException($"Sequence {b} holds the negative token id {bad}: token ids start at 0.", nameof(prompts));
            promptLengths[b] = p.Count;
            responseLengths[b] = r.Count;
        }
        int T = Enumerable.Range(0, B).Max(b => promptLengths[b] + responseLengths[b]);
        var ids = new long[B * T];
        var mask = new float[B * Math.Max(0, T - 1)];
        var last = new long[B];
        for (int b = 0; b < B; b++)
        {
            int n = 0;
            foreach (var t in prompts[b]) ids[b * T + n++] = t;
            foreach (var t in responses[b]) ids[b * T + n++] = t;
            for (int i = n; i < T; i++) ids[b * T + i] = padToken;
            for (int t = promptLengths[b] - 1; t < n - 1; t++) mask[b * (T - 1) + t] = 1;   // position t predicts token t + 1
            last[b] = n - 1;
        }
        return new ResponseBatch(tensor(ids, [B, T], int64), tensor(mask, [B, Math.Max(0, T - 1)], float32), tensor(last, int64), promptLengths, responseLengths);
    }

    public void Dispose()
    {
        Input.Dispose();
        Targets.Dispose();
        Tokens.Dispose();
        ResponseMask.Dispose();
        LastIndex.Dispose();
    }
}

/// <summary>
/// How likely a model finds a response: log π(y | x) = Σₜ log π(yₜ | x, y₍&lt;ₜ₎), the sum of the log-probabilities of the
/// response's tokens, each given everything before it. One forward pass scores every token at once (teacher forcing).
/// Policy gradients, PPO's ratio, DPO and KL penalties are all built from these numbers.
/// </summary>
public static class SequenceLogProbs
{
    /// <summary>
    /// (B, T − 1) float32: at position t, log π(Tokens[b, t + 1] | Tokens[b, ≤ t]) where that token is a response token, 0
    /// elsewhere. Differentiable: gradients flow to the model unless the caller is in no_grad.
    /// </summary>
    public static Tensor PerToken(Gpt model, ResponseBatch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        long T = batch.Tokens.shape[1];
        if (T < 2) return zeros(batch.Count, 0).MoveToOuterDisposeScope();
        RequireVocabulary(batch, model.Config.VocabSize);
        var logits = model.forward(batch.Input);                                           // (B, T−1, V): position t predicts token t+1
        var targets = batch.Targets.unsqueeze(-1);                                         // (B, T−1, 1)
        var logp = nn.functional.log_softmax(logits, -1).gather(-1, targets).squeeze(-1); // (B, T−1)
        return (logp.to(float32) * batch.ResponseMask).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Throws when a token of the batch is outside [0, <paramref name="vocabSize"/>), naming its row and position: the model
    /// checks what it reads, but the last token of each row is only a target, and gathering its log-probability would fail
    /// with an index error that names neither.
    /// </summary>
    static void RequireVocabulary(ResponseBatch batch, long vocabSize)
    {
        using var _ = no_grad();
        var bad = batch.Tokens.lt(0).logical_or(batch.Tokens.ge(vocabSize));
        if (!bad.any().item<bool>()) return;
        var first = bad.nonzero()[0];
        long b = first[0].item<long>(), t = first[1].item<long>(), id = batch.Tokens[b, t].item<long>();
        string where = t < batch.PromptLengths[(int)b] ? $"position {t} of its prompt"
            : t < batch.PromptLengths[(int)b] + batch.ResponseLengths[(int)b] ? $"position {t - batch.PromptLengths[(int)b]} of its response (position {t} of the row)"
            : $"position {t}, in the padding (the padding token)";
        throw new ArgumentException($"Row {b} of the batch holds token id {id} at {where}, outside the model's vocabulary [0, {vocabSize}) (valid ids are 0 to {vocabSize - 1}). " +
                                    "Was it encoded with another tokenizer?", nameof(batch));
    }

    /// <summary>(B): log π(response | prompt) of every row, the sum of <see cref="PerToken"/> over the response.</summary>
    public static Tensor Summed(Gpt model, ResponseBatch batch)
    {
        using var perToken = PerToken(model, batch);
        return perToken.sum(1);
    }
}
