namespace LlmNotebooks.FineTuning.Quantizing;

/// <summary>The rounding error of one 4-bit format on one tensor, for a table or a chart.</summary>
/// <param name="Format">The format's name (NF4, INT4, FP4).</param>
/// <param name="RelativeRmse">Root-mean-square error divided by the tensor's standard deviation (0 = exact).</param>
/// <param name="MaxAbsError">The largest |w − w'|.</param>
/// <param name="BitsPerParameter">Stored bits per value, scales included.</param>
/// <param name="StoredBytes">Bytes of the quantized tensor.</param>
public sealed record FormatError(string Format, double RelativeRmse, double MaxAbsError, double BitsPerParameter, long StoredBytes);
