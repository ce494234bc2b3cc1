using System.Net;
using System.Text;
using Microsoft.Data.Analysis;

namespace LlmNotebooks.Notebook;

/// <summary>How a <see cref="DataFrame"/> looks in a notebook: an HTML table with column names and types.</summary>
public static class DataFrameView
{
    /// <summary>Rows shown before truncating.</summary>
    public const int MaxRows = 25;

    public static string ToHtml(DataFrame df)
    {
        var sb = new StringBuilder("<table style=\"border-collapse:collapse\"><thead><tr><th></th>");
        foreach (var c in df.Columns)
            sb.Append("<th style=\"padding:0 8px\">").Append(WebUtility.HtmlEncode(c.Name))
              .Append("<br><span style=\"font-weight:normal;color:#888;font-size:smaller\">")
              .Append(WebUtility.HtmlEncode(c.DataType.Name)).Append("</span></th>");
        sb.Append("</tr></thead><tbody>");
        long shown = Math.Min(df.Rows.Count, MaxRows);
        for (long r = 0; r < shown; r++)
        {
            sb.Append("<tr><th style=\"color:#888\">").Append(r).Append("</th>");
            foreach (var c in df.Columns)
                sb.Append("<td style=\"padding:0 8px;text-align:right\">").Append(WebUtility.HtmlEncode(Cell(c[r]))).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");
        if (df.Rows.Count > shown) sb.Append($"<div style=\"color:#888\">… {df.Rows.Count - shown} more rows ({df.Rows.Count} in all)</div>");
        return sb.ToString();
    }

    public static string ToText(DataFrame df) => df.ToString();

    static string Cell(object? v) => v switch
    {
        null => "",
        double d => d.ToString("G6", System.Globalization.CultureInfo.InvariantCulture),
        float f => f.ToString("G6", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
