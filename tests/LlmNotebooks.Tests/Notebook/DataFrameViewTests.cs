using LlmNotebooks.Notebook;
using Microsoft.Data.Analysis;

namespace LlmNotebooks.Tests.Notebook;

public class DataFrameViewTests
{
    static DataFrame Removed() => new(
        new StringDataFrameColumn("kind", ["ExactDuplicate", "NearDuplicate", "Spam"]),
        new StringDataFrameColumn("lang", ["en", "ru", "en"]),
        new Int32DataFrameColumn("count", [12, 3, 140]),
        new DoubleDataFrameColumn("share", [0.25, 0.0625, 1.5]));

    [Fact]
    public void Text_columns_are_padded_separated_and_numbers_right_aligned()
    {
        var lines = DataFrameView.ToText(Removed()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
        [
            "   kind            lang  count   share",
            "-  --------------  ----  -----  ------",
            "0  ExactDuplicate  en       12    0.25",
            "1  NearDuplicate   ru        3  0.0625",
            "2  Spam            en      140     1.5",
        ], lines);
        Assert.DoesNotContain("ExactDuplicateen", DataFrameView.ToText(Removed()));
    }

    [Fact]
    public void Text_cuts_long_tables_like_the_html_view()
    {
        var df = new DataFrame(new Int32DataFrameColumn("n", Enumerable.Range(0, 30)));
        var lines = DataFrameView.ToText(df).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2 + DataFrameView.MaxRows + 1, lines.Length);
        Assert.Equal("… 5 more rows (30 in all)", lines[^1]);
        Assert.Equal("24  24", lines[^2]);
    }

    [Fact]
    public void Text_keeps_each_row_on_one_line_and_counts_accented_letters_once()
    {
        var df = new DataFrame(new StringDataFrameColumn("output ŷ", ["a\nb", "y\u0302"]), new Int32DataFrameColumn("x", [1, 2]));
        var lines = DataFrameView.ToText(df).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal("0  a b       1", lines[2]);
        Assert.Equal("1  y\u0302         2", lines[3]);   // "ŷ" written as y + combining circumflex is one column wide
    }
}
