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
/// router probability of e) keeps the router from sending everything to one expert: <see cref="Route"/> returns it
/// with the output, to add times a small weight to the training loss. The layer keeps no tensor between calls.
/// </summary>
public sealed class MixtureOfExperts : Module<Tensor, Tensor>
{
    readonly Linear router;
    readonly ModuleList<FeedForward> experts;
    readonly int _topK;

    /// <summary>
    /// Count the tokens that choose each expert first, in every forward pass, into <see cref="LastExpertCounts"/>
    /// (off by default: counting copies to the host on every pass).
    /// </summary>
    public bool KeepExpertCounts { get; set; }

    /// <summary>How many tokens chose each expert first, in the last forward pass with <see cref="KeepExpertCounts"/> on.</summary>
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

    /// <summary>(B, T, C) → (B, T, C), without the load-balancing loss (see <see cref="Route"/>).</summary>
    public override Tensor forward(Tensor x) => Run(x, withAuxLoss: false).Output;

    /// <summary>
    /// (B, T, C) → the output (B, T, C) and the load-balancing loss of this pass (a scalar, 1.0 when perfectly
    /// balanced, E when every token picks the same expert). Both belong to the caller's dispose scope.
    /// </summary>
    public (Tensor Output, Tensor AuxLoss) Route(Tensor x)
    {
        var (output, aux) = Run(x, withAuxLoss: true);
        return (output, aux!);
    }

    (Tensor Output, Tensor? AuxLoss) Run(Tensor x, bool withAuxLoss)
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
        long E = experts.Count;
        var first = topE[.., 0];
        if (KeepExpertCounts)
        {
            using var counts = functional.one_hot(first, E).sum(new long[] { 0 });
            LastExpertCounts = counts.cpu().data<long>().ToArray();
        }
        if (!withAuxLoss) return (output.reshape(shape), null);
        // Load balancing: fraction of first choices f and mean probability P per expert.
        var f = functional.one_hot(first, E).to(probs.dtype).mean(new long[] { 0 });
        var P = probs.mean(new long[] { 0 });
        return (output.reshape(shape), (f * P).sum() * E);
    }
}

/// <summary>Runs a block's feed-forward part; a mixture of experts also hands its load-balancing loss to the collector, when there is one.</summary>
static class FeedForwardWithAuxLoss
{
    public static Tensor Apply(Module<Tensor, Tensor> ffn, Tensor h, List<Tensor>? auxLosses)
    {
        if (auxLosses is null || ffn is not MixtureOfExperts moe) return ffn.forward(h);
        var (output, aux) = moe.Route(h);
        auxLosses.Add(aux);
        return output;
    }
}
