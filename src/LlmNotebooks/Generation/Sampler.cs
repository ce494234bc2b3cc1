using LlmNotebooks.Tensors;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Generation;

/// <summary>
/// How the next token is chosen from the model's scores. <paramref name="Temperature"/> divides the logits before the
/// softmax: 0 means greedy (always the most likely token), below 1 sharpens the distribution, above 1 flattens it.
/// <paramref name="TopK"/> keeps only the k most likely tokens; <paramref name="TopP"/> keeps the smallest set of most
/// likely tokens whose probabilities add up to at least p (nucleus sampling). The rest get probability 0.
/// </summary>
public sealed record SamplingOptions(double Temperature = 1.0, int? TopK = null, double? TopP = null)
{
    public static SamplingOptions Greedy { get; } = new(0);

    public void Validate()
    {
        Guard.Finite(Temperature, nameof(Temperature), min: 0, hint: "0 means greedy.");
        if (TopK is <= 0) throw new ArgumentException($"TopK must be positive, got {TopK}.");
        if (TopP is { } p && !(p > 0 && p <= 1)) throw new ArgumentException($"TopP must be in (0, 1], got {p}.");
    }
}

/// <summary>
/// Text generation with a trained <see cref="Gpt"/>: repeatedly read the last BlockSize tokens, turn the scores for the
/// next token into probabilities (temperature, top-k, top-p), pick one, append it. A seed makes sampling repeatable.
/// </summary>
public static class Sampler
{
    /// <summary>
    /// The distribution over the next token after <paramref name="context"/>, shape (V), after temperature, top-k and
    /// top-p (greedy gives a one-hot vector). Only the last BlockSize tokens of the context are read.
    /// </summary>
    public static Tensor NextTokenProbabilities(Gpt model, IReadOnlyList<int> context, SamplingOptions? options = null)
    {
        options ??= new SamplingOptions();
        options.Validate();
        if (context.Count == 0) throw new ArgumentException("The context is empty: give at least one token (e.g. a prompt, or the end-of-text token).", nameof(context));
        using var scope = NewDisposeScope();
        using var eval = model.EvalScope();
        var window = context.Skip(Math.Max(0, context.Count - model.Config.BlockSize)).Select(t => (long)t).ToArray();
        var logits = model.forward(tensor(window, dtype: int64).unsqueeze(0))[0, -1].to(float64);   // (V)
        return Filter(logits, options).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Turns logits into the sampling distribution that <paramref name="options"/> describe: one position's scores (V), or
    /// one row per sequence (B, V), each row filtered on its own. Greedy gives a one-hot row on the largest score.
    /// </summary>
    /// <exception cref="ArgumentException">Logits that are not (V) or (B, V), hold NaN or ±∞, or overflow when divided by the temperature.</exception>
    public static Tensor Filter(Tensor logits, SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (logits.dim() is not (1 or 2) || logits.shape[^1] == 0 || logits.numel() == 0)
            throw new ArgumentException($"Filter takes the scores of one position, shape (V), or of one position per sequence, (B, V); got {ShapeGuard.Format(logits.shape)}. " +
                                        "For a sequence's scores (B, T, V), take the last position: logits[.., -1].", nameof(logits));
        using var scope = NewDisposeScope();
        long V = logits.shape[^1];
        var scores = logits.to(float64);
        if (!isfinite(scores).all().item<bool>())
            throw new ArgumentException("The logits hold NaN or ±∞, so no token can be chosen: the model's weights or its input are broken.", nameof(logits));
        if (options.Temperature == 0)
            return nn.functional.one_hot(scores.argmax(-1), V).to(float64).MoveToOuterDisposeScope();
        var scaled = scores / options.Temperature;
        if (!isfinite(scaled).all().item<bool>())
            throw new ArgumentException($"Temperature {Guard.Show(options.Temperature)} is so small that logits / temperature overflow (the largest |logit| is " +
                                        $"{scores.abs().max().item<double>():G4}). For the limit of a vanishing temperature use Temperature = 0 (greedy).", nameof(options));
        var probs = softmax(scaled, -1);
        var (sorted, order) = probs.sort(-1, descending: true);                // each row from most to least likely
        var keep = ones_like(sorted, dtype: @bool);
        if (options.TopK is int k && k < V) keep = keep.logical_and(arange(V, device: sorted.device) < k);   // the first k ranks of every row
        if (options.TopP is double p && p < 1)
        {
            var before = sorted.cumsum(-1) - sorted;                       // probability of the tokens ranked above
            keep = keep.logical_and(before < p);                            // keep until the nucleus reaches p
        }
        var kept = zeros_like(probs).scatter(-1, order, sorted * keep.to(float64));
        return (kept / kept.sum(-1, keepdim: true)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The one rule that turns scores into the next token, for every sequence of a batch: logits (B, V) → token ids (B),
    /// int64. Greedy (temperature 0) takes each row's largest score; otherwise one draw per row from <see cref="Filter"/>'s
    /// distribution, with <paramref name="generator"/> (a seeded one makes the draws repeatable).
    /// </summary>
    public static Tensor NextToken(Tensor logits, SamplingOptions options, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.dim() != 2)
            throw new ArgumentException($"NextToken takes one row of scores per sequence, (B, V); got {ShapeGuard.Format(logits.shape)}.", nameof(logits));
        using var scope = NewDisposeScope();
        var probs = Filter(logits, options);
        var next = options.Temperature == 0 ? probs.argmax(-1) : multinomial(probs, 1, generator: generator).squeeze(1);
        return next.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Appends up to <paramref name="maxNewTokens"/> sampled tokens to <paramref name="prompt"/> and returns only the new
    /// ones; stops early after <paramref name="stopToken"/> (not included). The window slides: past BlockSize tokens the
    /// model reads the last BlockSize. Runs on <see cref="BatchedGeneration"/> (the key/value cache, one sequence).
    /// </summary>
    public static IReadOnlyList<int> Generate(Gpt model, IReadOnlyList<int> prompt, int maxNewTokens, SamplingOptions? options = null, long seed = 0, int? stopToken = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        if (maxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), $"Expected ≥ 0 new tokens, got {maxNewTokens}.");
        options ??= new SamplingOptions();
        options.Validate();
        if (maxNewTokens == 0) return [];
        if (prompt.Count == 0) throw new ArgumentException("The context is empty: give at least one token (e.g. a prompt, or the end-of-text token).", "context");
        var completion = BatchedGeneration.Generate(model, [prompt], maxNewTokens, stopToken is int stop ? [stop] : [], options, seed, slideWindow: true)[0];
        return completion.Content;
    }

    /// <summary>
    /// Encodes <paramref name="prompt"/> as ordinary text (<see cref="ITokenizer.EncodeOrdinary"/>: a special token's
    /// spelling typed in it stays text), generates, and returns the prompt followed by the generated text.
    /// </summary>
    public static string Generate(Gpt model, ITokenizer tokenizer, string prompt, int maxNewTokens, SamplingOptions? options = null, long seed = 0, int? stopToken = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var ids = tokenizer.EncodeOrdinary(prompt);
        return prompt + tokenizer.Decode(Generate(model, ids, maxNewTokens, options, seed, stopToken));
    }

    /// <summary>The <paramref name="count"/> most likely next tokens after <paramref name="prompt"/> (encoded as ordinary text) with their probabilities (temperature 1, no filtering).</summary>
    public static IReadOnlyList<(int Token, string Text, double Probability)> TopNextTokens(Gpt model, ITokenizer tokenizer, string prompt, int count = 10)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (count < 0 || count > model.Config.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(count), $"Expected 0 ≤ count ≤ {model.Config.VocabSize} (the model's vocabulary), got {count}.");
        using var probs = NextTokenProbabilities(model, tokenizer.EncodeOrdinary(prompt));
        var (values, indices) = probs.topk(count);
        using (values) using (indices)
        {
            var p = values.data<double>().ToArray();
            var ids = indices.data<long>().ToArray();
            return ids.Select((id, i) => ((int)id, tokenizer.Decode([(int)id]), p[i])).ToList();
        }
    }
}
