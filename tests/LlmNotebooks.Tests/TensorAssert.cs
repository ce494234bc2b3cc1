using static TorchSharp.torch;

namespace LlmNotebooks.Tests;

static class TensorAssert
{
    /// <summary>Same shape, same dtype, every element equal (TorchSharp's Tensor.equal is the element-wise eq).</summary>
    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();
}
