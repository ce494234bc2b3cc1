using System.Globalization;
using System.Net;
using System.Text;
using LlmNotebooks.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Notebook;

/// <summary>
/// How a tensor looks in a notebook: a header with shape, dtype and device, then its values as a table.
/// Large tensors are truncated (first and last rows and columns, "…" between); tensors of rank 3 or more are shown
/// as their leading 2-D slices.
/// </summary>
public static class TensorView
{
    /// <summary>Rows (and columns) shown before truncating with "…".</summary>
    public const int MaxRows = 10, MaxColumns = 10, MaxSlices = 4;

    /// <summary>One line: "Tensor (2, 3, 4) float32 cpu".</summary>
    public static string Header(Tensor t) => $"Tensor {ShapeGuard.Format(t.shape)} {t.dtype.ToString().ToLowerInvariant()} {t.device}";

    /// <summary>An HTML table of the tensor's values, headed by its shape and dtype.</summary>
    public static string ToHtml(Tensor t)
    {
        using var scope = NewDisposeScope();
        var sb = new StringBuilder();
        sb.Append("<div class=\"llm-tensor\"><div style=\"font-family:monospace;color:#555\">")
          .Append(WebUtility.HtmlEncode(Header(t))).Append("</div>");
        var cpu = t.detach().cpu();
        switch (t.dim())
        {
            case 0: sb.Append("<pre>").Append(Value(cpu)).Append("</pre>"); break;
            case 1: Table(sb, cpu.unsqueeze(0), rowLabels: false); break;
            case 2: Table(sb, cpu, rowLabels: true); break;
            default:
                var leading = cpu.reshape(-1, cpu.shape[^2], cpu.shape[^1]);
                long[] lead = cpu.shape[..^2];
                long count = leading.shape[0];
                foreach (long i in Indices(count, MaxSlices))
                {
                    if (i < 0) { sb.Append("<div>…</div>"); continue; }
                    sb.Append("<div style=\"font-family:monospace\">[").Append(string.Join(", ", Unravel(i, lead))).Append(", :, :]</div>");
                    Table(sb, leading[i], rowLabels: true);
                }
                break;
        }
        return sb.Append("</div>").ToString();
    }

    /// <summary>Plain text for consoles: the header, then TorchSharp's numpy-style rendering.</summary>
    public static string ToText(Tensor t) => Header(t) + Environment.NewLine + t.ToString(TorchSharp.TensorStringStyle.Numpy);

    static void Table(StringBuilder sb, Tensor m, bool rowLabels)
    {
        sb.Append("<table style=\"font-family:monospace;border-collapse:collapse\">");
        sb.Append("<tr>");
        if (rowLabels) sb.Append("<th></th>");
        foreach (long j in Indices(m.shape[1], MaxColumns)) sb.Append("<th style=\"color:#888\">").Append(j < 0 ? "…" : j).Append("</th>");
        sb.Append("</tr>");
        foreach (long i in Indices(m.shape[0], MaxRows))
        {
            sb.Append("<tr>");
            if (rowLabels) sb.Append("<th style=\"color:#888\">").Append(i < 0 ? "⋮" : i).Append("</th>");
            foreach (long j in Indices(m.shape[1], MaxColumns))
                sb.Append("<td style=\"text-align:right;padding:0 6px\">")
                  .Append(i < 0 || j < 0 ? "…" : WebUtility.HtmlEncode(Value(m[i, j]))).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</table>");
    }

    /// <summary>0..n-1, or the first and last few with -1 standing for the gap.</summary>
    static IEnumerable<long> Indices(long n, int max)
    {
        if (n <= max) { for (long i = 0; i < n; i++) yield return i; yield break; }
        int head = max / 2, tail = max - head - 1;
        for (long i = 0; i < head; i++) yield return i;
        yield return -1;
        for (long i = n - tail; i < n; i++) yield return i;
    }

    static IEnumerable<long> Unravel(long flat, long[] shape)
    {
        var idx = new long[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--) { idx[d] = flat % shape[d]; flat /= shape[d]; }
        return idx;
    }

    static string Value(Tensor scalar) => scalar.dtype switch
    {
        ScalarType.Bool => scalar.item<bool>() ? "true" : "false",
        ScalarType.Int8 or ScalarType.Int16 or ScalarType.Int32 or ScalarType.Int64 or ScalarType.Byte
            => scalar.to(int64).item<long>().ToString(CultureInfo.InvariantCulture),
        _ => scalar.to(float64).item<double>().ToString("G5", CultureInfo.InvariantCulture),
    };
}
