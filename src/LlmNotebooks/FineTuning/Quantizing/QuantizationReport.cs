namespace LlmNotebooks.FineTuning.Quantizing;

/// <summary>What <see cref="Quantization.QuantizeLinears"/> did: which layers it replaced, and the model's stored size before and after.</summary>
/// <param name="Quantized">The dotted names of the layers now stored in 4 bits.</param>
/// <param name="QuantizedParameters">How many weights those layers hold (their biases stay fp32 and are not counted here).</param>
/// <param name="BytesBefore">The model's state dict in bytes before (<see cref="Quantization.StoredBytes"/>).</param>
/// <param name="BytesAfter">The same after quantization.</param>
public sealed record QuantizationReport(IReadOnlyList<string> Quantized, long QuantizedParameters, long BytesBefore, long BytesAfter)
{
    /// <summary>How many times smaller the model became.</summary>
    public double Ratio => (double)BytesBefore / BytesAfter;

    public override string ToString() =>
        $"{Quantized.Count} layers ({QuantizedParameters:N0} weights) quantized: {BytesBefore:N0} → {BytesAfter:N0} bytes ({Ratio:F2}× smaller)";
}
