using LlmNotebooks.Training;
using LlmNotebooks.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.FineTuning.LowRank;

/// <summary>
/// LoRA (Hu et al. 2021, "Low-Rank Adaptation"): a frozen layer W plus a trainable low-rank detour,
/// <code>
/// y = base(x) + (α / r) · B · A · dropout(x)        A: r × d_in,  B: d_out × r,  r ≪ min(d_in, d_out)
/// </code>
/// Instead of learning a full d_out × d_in change ΔW, it learns ΔW = (α/r)·B·A, which has rank at most r and costs
/// r·(d_in + d_out) numbers: for GPT-2's c_attn (768 → 2304) at r = 8 that is 24,576 instead of 1,769,472.
/// <list type="bullet">
/// <item>A starts random (Kaiming-uniform, bound 1/√d_in, as PyTorch initialises a Linear) and B starts at zero, so
/// B·A = 0: the adapted model starts exactly equal to the base model, and training moves it away from there. (Both
/// zero would never move: the gradient of B is proportional to A and the gradient of A to B.)</item>
/// <item>α/r keeps the size of the update comparable when you try another r: with α fixed, doubling r halves each
/// direction's weight. Common choices are α = r or α = 2r.</item>
/// <item>Dropout (on the adapter's input only) regularises the small adapter; it uses this layer's own seeded
/// generator, so runs repeat exactly and torch's global generator is left alone.</item>
/// <item>With <see cref="Slices"/>, each slice of the outputs gets its own A and B and the others get nothing: on a
/// fused q,k,v layer, slices q and v adapt exactly what the seed's "target q_proj and v_proj" adapts in a model with
/// separate projections, at r·(d_in + C) per slice.</item>
/// <item><see cref="Merge"/> adds ΔW into the base weight (no extra cost at inference); <see cref="Unmerge"/> takes it
/// out again.</item>
/// </list>
/// Example: <c>var lora = new LoraLinear(Linear(128, 384), rank: 8, alpha: 16);</c> — usually made for you by
/// <see cref="Lora.Apply"/>.
/// </summary>
public sealed class LoraLinear : Module<Tensor, Tensor>, IStepSeeded
{
    readonly Module<Tensor, Tensor> base_layer;
    readonly string[] _parts, _aNames, _bNames;
    readonly Generator? _dropoutGenerator;
    readonly ulong _seed;

    /// <summary>The frozen layer being adapted.</summary>
    public Module<Tensor, Tensor> Base => base_layer;
    public long InFeatures { get; }
    public long OutFeatures { get; }
    /// <summary>r: the rank of the update B·A.</summary>
    public int Rank { get; }
    /// <summary>α: the update is scaled by α / r.</summary>
    public double Alpha { get; }
    /// <summary>α / r.</summary>
    public double Scale => Alpha / Rank;
    /// <summary>Dropout probability on the adapter's input during training (0: none).</summary>
    public double Dropout { get; }
    /// <summary>The adapted output ranges; empty when the whole layer is adapted.</summary>
    public IReadOnlyList<LoraSlice> Slices { get; }
    /// <summary>True after <see cref="Merge"/>: the update lives in the base weight and forward skips the detour.</summary>
    public bool Merged { get; private set; }
    /// <summary>False turns the adapter off (forward = base only), e.g. to compare with the base model without a second copy.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Numbers the adapter trains: r·(d_in + d_out) for the whole layer, Σ r·(d_in + slice length) for slices.</summary>
    public long AdapterParameterCount => Slices.Count == 0 ? Rank * (InFeatures + OutFeatures) : Slices.Sum(s => Rank * (InFeatures + s.Length));

    /// <summary>
    /// Wraps <paramref name="baseLayer"/> (its parameters are frozen here). Sizes come from a <see cref="TorchSharp.Modules.Linear"/>'s
    /// weight, from <see cref="ILinearLayer"/>, or from <paramref name="inFeatures"/> / <paramref name="outFeatures"/>.
    /// <paramref name="seed"/> seeds A's initialisation and the dropout masks (this layer's own generators).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown sizes, rank, α, dropout or slices out of range; the message says the allowed values.</exception>
    public LoraLinear(Module<Tensor, Tensor> baseLayer, int rank, double alpha, double dropout = 0.0, IReadOnlyList<LoraSlice>? slices = null,
                      ulong seed = 0, long? inFeatures = null, long? outFeatures = null, string name = "lora") : base(name)
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        if (baseLayer is LoraLinear) throw new ArgumentException("This layer already has a LoRA adapter; adapt its Base, or unmerge and remove the adapter first.", nameof(baseLayer));
        (InFeatures, OutFeatures) = Sizes(baseLayer, inFeatures, outFeatures);
        Slices = CheckSlices(slices ?? [], OutFeatures);
        long smallest = Math.Min(InFeatures, Slices.Count == 0 ? OutFeatures : Slices.Min(s => s.Length));
        if (rank <= 0 || rank > smallest)
            throw new ArgumentOutOfRangeException(nameof(rank), $"The LoRA rank r must be between 1 and min(d_in, d_out) = {smallest} for this {InFeatures} → {OutFeatures} layer" +
                                                                $"{(Slices.Count > 0 ? " (d_out of its smallest slice)" : "")}; got {rank}. Typical values are 4, 8 or 16.");
        if (!double.IsFinite(alpha) || alpha <= 0)
            throw new ArgumentOutOfRangeException(nameof(alpha), $"LoRA's α must be a positive number (the update is scaled by α / r; α = r or 2r are common); got {alpha}.");
        if (double.IsNaN(dropout) || dropout < 0 || dropout >= 1)
            throw new ArgumentOutOfRangeException(nameof(dropout), $"LoRA dropout must be a probability in [0, 1) (0 turns it off; 0.05 or 0.1 are common); got {dropout}.");
        Rank = rank;
        Alpha = alpha;
        Dropout = dropout;

        base_layer = baseLayer;
        foreach (var p in baseLayer.parameters()) p.requires_grad = false;
        register_module("base_layer", baseLayer);

        var device = baseLayer.parameters().FirstOrDefault()?.device ?? CPU;
        var dtype = baseLayer.parameters().FirstOrDefault()?.dtype ?? float32;
        var parts = Slices.Count == 0 ? [("", OutFeatures)] : Slices.Select(s => ("_" + s.Name, s.Length)).ToArray();
        _parts = Slices.Count == 0 ? [""] : Slices.Select(s => s.Name).ToArray();
        _aNames = parts.Select(p => "lora_A" + p.Item1).ToArray();
        _bNames = parts.Select(p => "lora_B" + p.Item1).ToArray();
        using var init = new Generator(seed);
        double bound = 1.0 / Math.Sqrt(InFeatures);   // kaiming_uniform_(a = √5) on a (r, d_in) matrix, as nn.Linear and peft do
        for (int i = 0; i < parts.Length; i++)
        {
            Tensor a, b;
            using (no_grad())
            {
                if (device.type == DeviceType.META)
                {   // a model built on the meta device has shapes but no storage: nothing to initialise
                    a = empty(new long[] { rank, InFeatures }, dtype, device);
                    b = empty(new long[] { parts[i].Item2, rank }, dtype, device);
                }
                else
                {
                    a = (rand(new long[] { rank, InFeatures }, dtype: dtype, generator: init) * (2 * bound) - bound).to(device);
                    b = zeros(new long[] { parts[i].Item2, rank }, dtype, device);
                }
            }
            register_parameter(_aNames[i], new Parameter(a, requires_grad: true));
            register_parameter(_bNames[i], new Parameter(b, requires_grad: true));
        }
        _seed = seed;
        if (dropout > 0) _dropoutGenerator = new Generator(unchecked((ulong)Hashes.StreamSeed((long)seed, Hashes.DropoutStream, 0)));
    }

    static (long In, long Out) Sizes(Module<Tensor, Tensor> layer, long? inFeatures, long? outFeatures)
    {
        (long, long)? known = layer switch
        {
            Linear l => (l.weight!.shape[1], l.weight.shape[0]),
            ILinearLayer s => (s.InFeatures, s.OutFeatures),
            _ => null,
        };
        if (known is { } k)
        {
            if ((inFeatures is { } i && i != k.Item1) || (outFeatures is { } o && o != k.Item2))
                throw new ArgumentException($"The base layer maps {k.Item1} → {k.Item2} features, but inFeatures = {inFeatures}, outFeatures = {outFeatures} were given. Leave them out to use the layer's own sizes.");
            return k;
        }
        if (inFeatures is not { } din || outFeatures is not { } dout)
            throw new ArgumentException($"A {layer.GetType().Name} is neither a Linear nor an ILinearLayer, so LoRA cannot tell its sizes: pass inFeatures and outFeatures (d_in and d_out of the layer).");
        if (din <= 0 || dout <= 0) throw new ArgumentException($"inFeatures and outFeatures must be positive; got {din} and {dout}.");
        return (din, dout);
    }

    static IReadOnlyList<LoraSlice> CheckSlices(IReadOnlyList<LoraSlice> slices, long outFeatures)
    {
        var sorted = slices.OrderBy(s => s.Start).ToList();
        long end = 0;
        foreach (var s in sorted)
        {
            if (string.IsNullOrWhiteSpace(s.Name) || !s.Name.All(char.IsAsciiLetterOrDigit))
                throw new ArgumentException($"A LoRA slice needs a short name of letters and digits (such as \"q\"); got \"{s.Name}\".", nameof(slices));
            if (s.Length <= 0 || s.Start < end || s.Start + s.Length > outFeatures)
                throw new ArgumentException($"LoRA slices must be non-empty, non-overlapping ranges inside the {outFeatures} outputs; slice {s} does not fit " +
                                            $"(the previous slice ends at {end}).", nameof(slices));
            if (sorted.Count(t => t.Name == s.Name) > 1) throw new ArgumentException($"Two LoRA slices are named \"{s.Name}\".", nameof(slices));
            end = s.Start + s.Length;
        }
        return sorted;
    }

    /// <summary>
    /// The adapter's matrices: one (A: r × d_in, B: d_out × r) pair for the whole layer (Slice ""), or one pair per slice
    /// (Slice "q", "v"). Their parameter names are lora_A / lora_B, or lora_A_q, lora_B_q, ….
    /// </summary>
    public IReadOnlyList<(string Slice, string AName, Parameter A, string BName, Parameter B)> Adapters =>
        _parts.Select((part, i) => (part, _aNames[i], Param(_aNames[i]), _bNames[i], Param(_bNames[i]))).ToList();

    // Read through the registry rather than a field, so a module.to(…) that swaps the parameters is followed.
    Parameter Param(string name) => _internal_params[name];

    /// <summary>(…, d_in) → (…, d_out): base(x) plus, unless merged or disabled, (α/r)·B·A·dropout(x) in the adapted outputs.</summary>
    public override Tensor forward(Tensor x)
    {
        if (x.dim() == 0 || x.shape[^1] != InFeatures)
            throw new ArgumentException($"LoraLinear: expected inputs (…, {InFeatures}), got {ShapeGuard.Format(x.shape)}.", nameof(x));
        var y = base_layer.forward(x);
        if (Merged || !Enabled) return y;
        var h = training && Dropout > 0 ? DropoutOf(x) : x;
        if (Slices.Count == 0) return y + Delta(h, 0);
        var pieces = new List<Tensor>();
        long at = 0;
        long[] lead = x.shape[..^1];
        for (int i = 0; i < Slices.Count; i++)
        {
            if (Slices[i].Start > at) pieces.Add(zeros([.. lead, Slices[i].Start - at], y.dtype, y.device));
            pieces.Add(Delta(h, i));
            at = Slices[i].Start + Slices[i].Length;
        }
        if (at < OutFeatures) pieces.Add(zeros([.. lead, OutFeatures - at], y.dtype, y.device));
        return y + cat(pieces, -1);
    }

    Tensor Delta(Tensor h, int i) => functional.linear(functional.linear(h, Param(_aNames[i])), Param(_bNames[i])).mul(Scale);

    /// <summary>
    /// Re-seeds the dropout masks for one training step from this layer's seed and the step's seed; the
    /// <see cref="Trainer"/> calls it before every step, so a resumed run draws the same masks as an uninterrupted one.
    /// </summary>
    public void SeedStep(long stepSeed) =>
        _dropoutGenerator?.manual_seed(Hashes.StreamSeed(unchecked((long)_seed), Hashes.DropoutStream, stepSeed));

    Tensor DropoutOf(Tensor x)
    {
        if (_dropoutGenerator is null || x.device.type != DeviceType.CPU) return functional.dropout(x, Dropout, training: true);
        var keep = rand(x.shape, dtype: x.dtype, generator: _dropoutGenerator).ge_(Dropout);   // 1 with probability 1 − p
        return x * keep / (1 - Dropout);
    }

    /// <summary>ΔW for the whole layer (d_out × d_in), zero outside the slices: what <see cref="Merge"/> adds.</summary>
    public Tensor DeltaWeight()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var delta = zeros(new long[] { OutFeatures, InFeatures }, Param(_aNames[0]).dtype, Param(_aNames[0]).device);
        for (int i = 0; i < _aNames.Length; i++)
        {
            var part = torch.mm(Param(_bNames[i]), Param(_aNames[i])).mul(Scale);
            if (Slices.Count == 0) delta.add_(part);
            else delta.narrow(0, Slices[i].Start, Slices[i].Length).add_(part);
        }
        return delta.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// W ← W + (α/r)·B·A in the base Linear's weight; forward then runs the base alone and gives the same outputs
    /// (up to rounding). Only a plain <see cref="TorchSharp.Modules.Linear"/> base can be merged: a quantized weight would have to be
    /// dequantized first.
    /// </summary>
    public void Merge()
    {
        if (Merged) throw new InvalidOperationException("This adapter is already merged into its base weight; call Unmerge() first.");
        AddToBase(+1);
        Merged = true;
    }

    /// <summary>W ← W − (α/r)·B·A: the base weight as it was before <see cref="Merge"/> (up to float rounding, about 1e-7).</summary>
    public void Unmerge()
    {
        if (!Merged) throw new InvalidOperationException("This adapter is not merged; there is nothing to unmerge.");
        AddToBase(-1);
        Merged = false;
    }

    void AddToBase(int sign)
    {
        if (base_layer is not Linear linear)
            throw new NotSupportedException($"Only a Linear base can take a merged adapter; this base is a {base_layer.GetType().Name}. " +
                                            "Keep the adapter separate, or dequantize the base into a Linear first.");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var delta = DeltaWeight();
        if (!delta.shape.SequenceEqual(linear.weight!.shape))
            throw new InvalidOperationException($"The base weight is {ShapeGuard.Format(linear.weight.shape)} but the adapter's update is {ShapeGuard.Format(delta.shape)}.");
        linear.weight.add_(delta, alpha: sign);
    }
}
