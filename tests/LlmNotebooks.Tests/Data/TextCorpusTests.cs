using System.Text;
using LlmNotebooks.Data;

namespace LlmNotebooks.Tests.Data;

public sealed class TextCorpusTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "textcorpus-" + Guid.NewGuid().ToString("N"));

    public TextCorpusTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Documents_are_split_at_blank_lines_trimmed_and_empty_ones_dropped()
    {
        var docs = TextCorpus.SplitDocuments("  One.  \n\nTwo\nlines.\r\n\r\n \t \n\n\nКошка.\n");
        Assert.Equal(["One.", "Two\nlines.", "Кошка."], docs);
        Assert.Empty(TextCorpus.SplitDocuments("\n\n  \n"));
    }

    [Fact]
    public void A_utf8_file_is_read_and_its_byte_order_mark_dropped()
    {
        string path = Write("bom.txt", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("Привет, world.\r\n\r\nSecond.")]);
        Assert.Equal("Привет, world.\n\nSecond.", TextCorpus.ReadFile(path));
        Assert.Equal(["Привет, world.", "Second."], TextCorpus.ReadDocuments(path));
    }

    [Fact]
    public void A_missing_file_names_the_full_path_and_the_course_corpus()
    {
        var e = Assert.Throws<FileNotFoundException>(() => TextCorpus.ReadFile(Path.Combine(_dir, "nope.txt")));
        Assert.Contains(Path.Combine(_dir, "nope.txt"), e.Message);
        Assert.Contains("datasets/tinyworld", e.Message);
    }

    [Fact]
    public void An_empty_file_is_refused()
    {
        var e = Assert.Throws<InvalidDataException>(() => TextCorpus.ReadFile(Write("empty.txt", [])));
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void A_folder_is_refused() =>
        Assert.Contains("folder", Assert.Throws<ArgumentException>(() => TextCorpus.ReadFile(_dir)).Message);

    [Fact]
    public void Windows_1251_text_is_refused_with_the_offset_of_the_first_bad_byte_and_a_fix()
    {
        // "ok " then "Мир" in Windows-1251 (0xCC 0xE8 0xF0): not UTF-8 from byte 3 on.
        var e = Assert.Throws<InvalidDataException>(() => TextCorpus.ReadFile(Write("cp1251.txt", [(byte)'o', (byte)'k', (byte)' ', 0xCC, 0xE8, 0xF0])));
        Assert.Contains("byte offset 3", e.Message);
        Assert.Contains("0xCC", e.Message);
        Assert.Contains("iconv -f cp1251 -t utf-8", e.Message);
    }
}
