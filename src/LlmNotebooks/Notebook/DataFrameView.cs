using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Data.Analysis;

namespace LlmNotebooks.Notebook;

/// <summary>How a <see cref="DataFrame"/> looks in a notebook: an HTML table with column names and types, or aligned plain text.</summary>
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

    /// <summary>
    /// The table as plain text (for consoles, logs and text-only notebook views): a header, a rule, then one line per
    /// row, every column padded to its widest cell and separated from the next by two spaces; numbers are right-aligned,
    /// text left-aligned. Long tables are cut after <see cref="MaxRows"/> rows, like the HTML view.
    /// </summary>
    public static string ToText(DataFrame df)
    {
        int shown = (int)Math.Min(df.Rows.Count, MaxRows);
        // Column 0 is the row number; then one column per DataFrame column.
        var header = new List<string> { "" };
        var numeric = new List<bool> { true };
        var cells = Enumerable.Range(0, shown).Select(r => new List<string> { r.ToString(CultureInfo.InvariantCulture) }).ToList();
        foreach (var c in df.Columns)
        {
            header.Add(c.Name);
            numeric.Add(IsNumeric(c.DataType));
            for (int r = 0; r < shown; r++) cells[r].Add(OneLine(Cell(c[r])));
        }
        var widths = header.Select((h, k) => cells.Select(row => Width(row[k])).Prepend(Width(h)).Max()).ToArray();

        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> row)
        {
            var parts = row.Select((text, k) => numeric[k] ? Pad(text, widths[k], left: true) : Pad(text, widths[k], left: false));
            sb.Append(string.Join("  ", parts).TrimEnd()).Append('\n');
        }
        Line(header);
        Line(widths.Select(w => new string('-', w)).ToList());
        foreach (var row in cells) Line(row);
        if (df.Rows.Count > shown) sb.Append($"… {df.Rows.Count - shown} more rows ({df.Rows.Count} in all)\n");
        return sb.ToString();
    }

    static bool IsNumeric(Type t) => Type.GetTypeCode(Nullable.GetUnderlyingType(t) ?? t) is
        TypeCode.Byte or TypeCode.SByte or TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32 or
        TypeCode.Int64 or TypeCode.UInt64 or TypeCode.Single or TypeCode.Double or TypeCode.Decimal;

    /// <summary>Width as the eye counts it: text elements, so that a letter with a combining accent counts once.</summary>
    static int Width(string s) => new StringInfo(s).LengthInTextElements;

    static string Pad(string s, int width, bool left)
    {
        string fill = new(' ', Math.Max(0, width - Width(s)));
        return left ? fill + s : s + fill;
    }

    static string OneLine(string s) => s.Replace("\r\n", " ").Replace('\n', ' ').Replace('\r', ' ').Replace('\t', ' ');

    static string Cell(object? v) => v switch
    {
        null => "",
        double d => d.ToString("G6", System.Globalization.CultureInfo.InvariantCulture),
        float f => f.ToString("G6", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
