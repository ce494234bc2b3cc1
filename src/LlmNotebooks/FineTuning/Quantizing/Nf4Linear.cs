using LlmNotebooks.FineTuning.LowRank;
using LlmNotebooks.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.FineTuning.Quantizing;

/// <summary>
/// A frozen Linear layer whose weight is stored in 4 bits (NF4 by default, as QLoRA's base model): about 4.13 bits per
/// weight instead of 32. Each forward pass dequantizes the weight, multiplies, and frees the full-precision copy again,
/// so only the 4-bit form stays in memory; the bias stays in fp32. Nothing here is trained — a LoRA adapter beside it is.
/// <code>
/// var q = Nf4Linear.FromLinear(linear);          // quantize once
/// var y = q.forward(x);                          // = x · W'ᵀ + b, W' the dequantized weight
/// Console.WriteLine(q.Weight);                   // c_attn of GPT-2 small: NF4 (2304, 768), blocks of 64, …: 912,820 bytes (4.127 bits per value)
/// </code>
/// Its state dict holds the stored form: weight_codes (uint8), the scales (weight_absmax, or weight_absmax_codes,
/// weight_absmax_scales and weight_absmax_mean when double-quantized) and bias. Converting the model's dtype leaves them
/// as they are.
/// </summary>
public sealed class Nf4Linear : Module<Tensor, Tensor>, ILinearLayer
{
    // Field names become state-dict keys.
    readonly Tensor weight_codes;
    readonly Tensor? weight_absmax, weight_absmax_codes, weight_absmax_scales, weight_absmax_mean;
    readonly Parameter? bias;
    readonly long[] _shape;
    readonly int _scaleBlockSize;

    /// <summary>The width of the input vectors (the weight's second dimension, as in nn.Linear).</summary>
    public long InFeatures { get; }
    /// <summary>The width of the output vectors (the weight's first dimension).</summary>
    public long OutFeatures { get; }
    /// <summary>The 4-bit format of the weight (NF4 unless chosen otherwise for a comparison).</summary>
    public FourBitFormat Format { get; }
    /// <summary>Values per absmax scale (64 in QLoRA).</summary>
    public int BlockSize { get; }

    /// <summary>
    /// Wraps an already quantized weight of shape (OutFeatures, InFeatures) and an optional bias of OutFeatures values
    /// (copied into a frozen fp32 parameter). The module takes ownership of the weight's tensors.
    /// </summary>
    public Nf4Linear(QuantizedTensor weight, Tensor? bias = null, string name = "nf4_linear") : base(name)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Shape.Length != 2)
            throw new ArgumentException($"A linear layer's weight is 2-D (out, in); this one is {ShapeGuard.Format(weight.Shape)}.", nameof(weight));
        OutFeatures = weight.Shape[0];
        InFeatures = weight.Shape[1];
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != OutFeatures))
            throw new ArgumentException($"The bias must have OutFeatures = {OutFeatures} values, got {ShapeGuard.Format(bias.shape)}.", nameof(bias));
        Format = weight.Format;
        BlockSize = weight.BlockSize;
        _shape = weight.Shape;
        _scaleBlockSize = weight.ScaleBlockSize;
        weight_codes = weight.Codes;
        weight_absmax = weight.Absmax;
        weight_absmax_codes = weight.AbsmaxCodes;
        weight_absmax_scales = weight.AbsmaxGroupScales;
        weight_absmax_mean = weight.AbsmaxMean;
        if (bias is not null) this.bias = new Parameter(bias.detach().to(ScalarType.Float32).clone(), requires_grad: false);
        RegisterComponents();
    }

    /// <summary>
    /// Quantizes a Linear layer's weight (see <see cref="BlockQuantizer.Quantize"/>) and keeps its bias in fp32.
    /// The source layer is left as it was (dispose it yourself if it is no longer needed).
    /// </summary>
    public static Nf4Linear FromLinear(Linear linear, FourBitFormat? format = null, int blockSize = BlockQuantizer.DefaultBlockSize,
                                       bool doubleQuantize = true, int scaleBlockSize = BlockQuantizer.DefaultScaleBlockSize, string name = "nf4_linear")
    {
        ArgumentNullException.ThrowIfNull(linear);
        using var _ = no_grad();
        var weight = BlockQuantizer.Quantize(linear.weight, format, blockSize, doubleQuantize, scaleBlockSize, name: $"{name}.weight");
        try { return new Nf4Linear(weight, linear.bias, name); }
        catch { weight.Dispose(); throw; }
    }

    /// <summary>The stored weight, as a view on this module's tensors (do not dispose it; the module owns them).</summary>
    public QuantizedTensor Weight =>
        new(Format, _shape, BlockSize, weight_codes, weight_absmax, weight_absmax_codes, weight_absmax_scales, weight_absmax_mean, _scaleBlockSize, ownsTensors: false);

    /// <summary>The frozen fp32 bias, or null.</summary>
    public Parameter? Bias => bias;

    /// <summary>The weight as forward uses it: float32, (OutFeatures, InFeatures). The caller disposes it.</summary>
    public Tensor DequantizedWeight() => Weight.Dequantize();

    /// <summary>Bytes of the stored layer: the quantized weight plus 4 per bias value.</summary>
    public long StoredBytes => Weight.StoredBytes + (bias is null ? 0 : 4 * bias.numel());

    /// <summary>(…, InFeatures) → (…, OutFeatures), in the input's dtype (weight and bias are cast to it for the call).</summary>
    /// <exception cref="ArgumentException">The last dimension is not InFeatures, or the input is not floating point (int64 would compute zeros).</exception>
    public override Tensor forward(Tensor x)
    {
        if (x.dim() == 0 || x.shape[^1] != InFeatures)
            throw new ArgumentException($"{GetName()} expects inputs whose last dimension is InFeatures = {InFeatures}, got {ShapeGuard.Format(x.shape)}.", nameof(x));
        if (!is_floating_point(x.dtype))
            throw new ArgumentException($"{GetName()} computes in floating point, but its input is {x.dtype}: a linear layer of integers would round its " +
                                        "4-bit weights (all below 1 in size) to 0. Convert the input first (x.to(float32)); token ids go through an Embedding, not a linear layer.", nameof(x));
        using var scope = NewDisposeScope();
        var w = DequantizedWeight();                           // (out, in): lives only for this call
        if (w.dtype != x.dtype) w = w.to(x.dtype);
        var b = bias is not null && bias.dtype != x.dtype ? bias.to(x.dtype) : bias;   // linear needs one dtype for all three
        var y = functional.linear(x, w, b);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <c>model.to(float64)</c> or <c>.half()</c> leaves this layer as it is: its stored form is a fixed format (uint8 codes,
    /// fp32 scales and bias), and forward computes in whatever dtype its input has. Moving to a device still moves it.
    /// </summary>
    protected override nn.Module _to(ScalarType dtype, bool non_blocking) => this;

    /// <inheritdoc cref="_to(ScalarType, bool)"/>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => _to(device.type, device.index, non_blocking);

    public override string ToString() => $"Nf4Linear({InFeatures} → {OutFeatures}, {Weight})";
}
