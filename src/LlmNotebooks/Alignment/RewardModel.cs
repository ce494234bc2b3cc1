using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Alignment;

/// <summary>
/// Stage 2 of RLHF: a reward model. A <see cref="Gpt"/> trunk reads prompt + response, and a linear head turns the
/// trunk's vector at the last real token (<see cref="ResponseBatch.LastIndex"/>) into one number, the reward. Causal
/// attention means that vector has read the whole sequence. It is trained on preference pairs with the Bradley–Terry
/// loss −log σ(r_chosen − r_rejected): only differences of rewards are learned, so the scale and zero of r are arbitrary.
/// The trunk usually starts as a copy of the SFT model (it already "understands" answers), as in InstructGPT.
/// <code>
/// using var rm = new RewardModel(sft.Copy());
/// var history = rm.Fit(trainPairs, padToken, steps: 150);   // through the Trainer: a PreferenceTask
/// rm.Accuracy(heldOutPairs, padToken)   // fraction of pairs where r_chosen &gt; r_rejected
/// </code>
/// </summary>
public sealed class RewardModel : Module<Tensor, Tensor, Tensor>
{
    readonly Gpt trunk;
    readonly Linear head;

    /// <summary>The trunk's context window: the longest prompt + response this model can score.</summary>
    public int BlockSize => trunk.Config.BlockSize;

    /// <param name="trunk">The transformer that reads the sequence; this reward model owns and trains it (pass a copy).</param>
    /// <param name="name">The module name (the prefix of its state-dict keys).</param>
    public RewardModel(Gpt trunk, string name = "reward_model") : base(name)
    {
        this.trunk = trunk ?? throw new ArgumentNullException(nameof(trunk));
        head = Linear(trunk.Config.Channels, 1);
        RegisterComponents();
        using (no_grad()) { head.weight!.normal_(0, 0.02); head.bias!.zero_(); }
    }

    /// <summary>Tokens (B, T) and each row's last real position (B) → rewards (B).</summary>
    /// <exception cref="ArgumentException">lastIndex is not one int64 position per row, or a position outside [0, T) (named, with its row).</exception>
    public override Tensor forward(Tensor tokens, Tensor lastIndex)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(lastIndex);
        if (tokens.dim() != 2)
            throw new ArgumentException($"Expected tokens of shape (B, T), got {Tensors.ShapeGuard.Format(tokens.shape)}.", nameof(tokens));
        if (lastIndex.dtype != int64 || lastIndex.dim() != 1 || lastIndex.shape[0] != tokens.shape[0])
            throw new ArgumentException($"Expected lastIndex as one int64 position per row, shape ({tokens.shape[0]}), got {lastIndex.dtype} {Tensors.ShapeGuard.Format(lastIndex.shape)}. " +
                                        "ResponseBatch.LastIndex is one.", nameof(lastIndex));
        long T = tokens.shape[1];
        using (no_grad())
        {
            var positions = lastIndex.cpu().data<long>().ToArray();
            for (int b = 0; b < positions.Length; b++)
                if (positions[b] < 0 || positions[b] >= T)
                    throw new ArgumentException($"lastIndex[{b}] is {positions[b]}, outside the positions [0, {T}) of the batch's rows (T = {T}): the reward is read at " +
                                                "each row's last real token, so it must lie in the row. Take it from ResponseBatch.LastIndex.", nameof(lastIndex));
        }
        var hidden = trunk.Hidden(tokens);                                                        // (B, T, C)
        var last = hidden[TensorIndex.Tensor(arange(hidden.shape[0], dtype: int64, device: hidden.device)), TensorIndex.Tensor(lastIndex)];   // (B, C)
        return head.forward(last).squeeze(-1);                                                   // (B)
    }

    /// <summary>The rewards (B) of a batch; differentiable (call inside no_grad to only score).</summary>
    public Tensor Scores(ResponseBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return forward(batch.Tokens, batch.LastIndex);
    }

    /// <summary>
    /// The rewards of (prompt, response) pairs, in eval mode without gradients, in batches of <paramref name="batchSize"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A prompt + response longer than <see cref="BlockSize"/>.</exception>
    public double[] Score(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<IReadOnlyList<int>> responses, int padToken, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(responses);
        if (prompts.Count != responses.Count) throw new ArgumentException($"Expected one response per prompt, got {prompts.Count} prompts and {responses.Count} responses.", nameof(responses));
        RequireFits(prompts, responses);
        bool wasTraining = training;
        eval();
        try
        {
            using var _ = no_grad();
            var scores = new double[prompts.Count];
            for (int start = 0; start < prompts.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batchSize, prompts.Count - start);
                using var batch = ResponseBatch.Create(prompts.Skip(start).Take(n).ToList(), responses.Skip(start).Take(n).ToList(), padToken, BlockSize);
                var s = Scores(batch).data<float>().ToArray();
                for (int i = 0; i < n; i++) scores[start + i] = s[i];
            }
            return scores;
        }
        finally { if (wasTraining) train(); }
    }

    /// <summary>The reward of one prompt + response (for a reward function of a policy optimiser).</summary>
    public double Score(IReadOnlyList<int> prompt, IReadOnlyList<int> response, int padToken) => Score([prompt], [response], padToken)[0];

    /// <summary>The rewards of each pair's chosen and rejected responses.</summary>
    public (double[] Chosen, double[] Rejected) Score(IReadOnlyList<PairTokens> pairs, int padToken)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var prompts = pairs.Select(p => p.Prompt).ToList();
        return (Score(prompts, pairs.Select(p => p.Chosen).ToList(), padToken), Score(prompts, pairs.Select(p => p.Rejected).ToList(), padToken));
    }

    /// <summary>Pair accuracy: the fraction of pairs whose chosen response gets the higher reward (a tie counts as wrong).</summary>
    public double Accuracy(IReadOnlyList<PairTokens> pairs, int padToken)
    {
        if (pairs is null || pairs.Count == 0) throw new ArgumentException("Pass at least one pair to measure accuracy on.", nameof(pairs));
        var (c, r) = Score(pairs, padToken);
        return c.Zip(r).Count(p => p.First > p.Second) / (double)pairs.Count;
    }

    /// <summary>The Bradley–Terry loss −log σ(r_c − r_r), averaged over the batch: P(chosen ≻ rejected) = σ(r_c − r_r).</summary>
    public static Tensor BradleyTerryLoss(Tensor chosen, Tensor rejected)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        if (!chosen.shape.SequenceEqual(rejected.shape))
            throw new ArgumentException($"Expected one chosen and one rejected reward per pair, got shapes ({string.Join(", ", chosen.shape)}) and ({string.Join(", ", rejected.shape)}).", nameof(rejected));
        return -functional.logsigmoid(chosen - rejected).mean();
    }

    /// <summary>
    /// Trains on <paramref name="pairs"/> with the Bradley–Terry loss through the <see cref="Trainer"/> (a
    /// <see cref="PreferenceTask"/>, with <see cref="PreferenceTask.Options"/>): <paramref name="steps"/> AdamW steps on
    /// batches of <paramref name="batchSize"/> pairs at a constant learning rate, the gradient norm clipped at 1, the pairs
    /// read in seeded shuffled epochs. Each batch is one forward pass over chosen and rejected responses together. Returns,
    /// per step, the loss and the batch's pair accuracy. Calling it again continues training from the current weights with
    /// a new optimizer (the feedback loop's extra round). The model's train/eval mode is restored afterwards.
    /// For a schedule, validation pairs, checkpoints or resume, run the task with a Trainer of your own.
    /// </summary>
    /// <param name="pairs">The preference pairs to learn from (each response with its end token).</param>
    /// <param name="padToken">The id that fills rows shorter than the batch's longest.</param>
    /// <param name="steps">Optimizer steps.</param>
    /// <param name="batchSize">Pairs per step.</param>
    /// <param name="learningRate">AdamW's learning rate, the same at every step.</param>
    /// <param name="seed">Seeds the order of the pairs; null keeps <see cref="TrainerOptions.Seed"/>'s default.</param>
    public IReadOnlyList<PreferenceStep> Fit(IReadOnlyList<PairTokens> pairs, int padToken, int steps, int batchSize = 32, double learningRate = 3e-4, long? seed = null)
    {
        var task = new PreferenceTask(pairs, null, padToken);
        var options = PreferenceTask.Options(steps, batchSize, learningRate);
        using var trainer = new Trainer(this, task, seed is long s ? options with { Seed = s } : options);
        trainer.Run();
        return task.History;
    }

    /// <summary>The trunk's vocabulary size (the token ids this model can read).</summary>
    internal int VocabSize => trunk.Config.VocabSize;

    void RequireFits(IReadOnlyList<IReadOnlyList<int>> prompts, IReadOnlyList<IReadOnlyList<int>> responses)
    {
        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i] is not null && responses[i] is not null && PreferencePairs.OutOfVocabulary(prompts[i], responses[i], VocabSize) is { } bad)
                throw new ArgumentException($"Sequence {i} holds token id {bad.Id} at {bad.Where}, outside the reward model's vocabulary [0, {VocabSize}) " +
                                            $"(valid ids are 0 to {VocabSize - 1}). Was it encoded with another tokenizer?", nameof(responses));
            if (prompts[i].Count + responses[i].Count > BlockSize)
                throw new ArgumentException($"Sequence {i} is {prompts[i].Count} prompt + {responses[i].Count} response = {prompts[i].Count + responses[i].Count} tokens, " +
                                            $"longer than the reward model's context window of {BlockSize} tokens. Shorten the response (fewer new tokens when sampling), " +
                                            "or build the reward model on a trunk with a larger BlockSize.", nameof(responses));
        }
    }
}
