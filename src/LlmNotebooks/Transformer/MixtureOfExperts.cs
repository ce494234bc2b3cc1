using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>
/// A mixture-of-experts feed-forward layer: several <see cref="FeedForward"/> experts and a router that sends each
/// token to its top-k experts, mixing their outputs by the router's (renormalised) probabilities. Only k experts run
/// per token, so the layer holds E experts' parameters but spends k experts' compute.
/// A load-balancing loss (Switch Transformer: E · Σₑ fₑ·Pₑ, fₑ = share of tokens whose first choice is e, Pₑ = mean
/// router probability of e) keeps the router from sending everything to one expert; add <see cref="AuxLoss"/>
/// times a small weight to the training loss.
/// </summary>
public sealed class MixtureOfExperts : Module<Tensor, Tensor>
{
    readonly Linear router;
    readonly ModuleList<FeedForward> experts;
    readonly int _topK;

    /// <summary>The load-balancing loss of the last forward pass (1.0 when perfectly balanced).</summary>
    public Tensor? AuxLoss { get; private set; }

    /// <summary>How many tokens chose each expert first, in the last forward pass.</summary>
    public long[] LastExpertCounts { get; private set; } = [];

    public int Experts => experts.Count;
    public int TopK => _topK;

    public MixtureOfExperts(long channels, long hidden, int experts, int topK, double dropout = 0.0, string name = "moe") : base(name)
    {
        if (experts < 2 || topK < 1 || topK > experts)
            throw new ArgumentException($"Need at least 2 experts and 1 ≤ topK ≤ experts; got {experts} experts, topK {topK}.");
        _topK = topK;
        router = Linear(channels, experts, hasBias: false);
        this.experts = ModuleList(Enumerable.Range(0, experts).Select(e => new FeedForward(channels, hidden, dropout, name: $"expert{e}")).ToArray());
        RegisterComponents();
    }

    /// <summary>(B, T, C) → (B, T, C).</summary>
    public override Tensor forward(Tensor x)
    {
        var shape = x.shape;
        long C = shape[^1];
        var tokens = x.reshape(-1, C);                                        // (N, C)
        var probs = router.forward(tokens).softmax(-1);                       // (N, E)
        var (topP, topE) = probs.topk(_topK, dim: -1);                        // (N, k) each
        topP = topP / topP.sum(-1, keepdim: true);                            // renormalise over the chosen k
        var output = zeros_like(tokens);
        for (int e = 0; e < experts.Count; e++)
        {
            var chosen = topE.eq(e);                                          // (N, k): where expert e was chosen
            var rows = chosen.any(-1).nonzero().squeeze(1);                   // tokens routed to e
            if (rows.numel() == 0) continue;
            var weight = (topP * chosen).sum(-1).index_select(0, rows).unsqueeze(1);   // (n, 1)
            output = output.index_add(0, rows, experts[e].forward(tokens.index_select(0, rows)) * weight, 1);
        }
        // Load balancing: fraction of first choices f and mean probability P per expert.
        long E = experts.Count;
        var first = topE[.., 0];
        var f = functional.one_hot(first, E).to(probs.dtype).mean(new long[] { 0 });
        var P = probs.mean(new long[] { 0 });
        AuxLoss = (f * P).sum() * E;
        LastExpertCounts = functional.one_hot(first, E).sum(new long[] { 0 }).cpu().data<long>().ToArray();
        return output.reshape(shape);
    }
}
