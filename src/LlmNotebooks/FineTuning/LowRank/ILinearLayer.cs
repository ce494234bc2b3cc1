namespace LlmNotebooks.FineTuning.LowRank;

/// <summary>
/// A layer that maps vectors of <see cref="InFeatures"/> numbers to <see cref="OutFeatures"/> numbers, the way a Linear
/// does, but is not necessarily one (a quantized 4-bit layer, for instance). <see cref="LoraLinear"/> reads the sizes
/// from here when its base layer is not a plain <see cref="TorchSharp.Modules.Linear"/>.
/// </summary>
public interface ILinearLayer
{
    long InFeatures { get; }
    long OutFeatures { get; }
}
