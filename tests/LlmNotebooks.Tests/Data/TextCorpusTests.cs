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

    public static TheoryData<string, byte[], string> NotText()
    {
        const string text = "Mira took the wand.\n\nМир.";
        return new()
        {
            { "UTF-16 LE, no BOM", Encoding.Unicode.GetBytes(text), "UTF-16 (little-endian, without" },
            { "UTF-16 BE, no BOM", Encoding.BigEndianUnicode.GetBytes(text), "UTF-16 (big-endian, without" },
            { "UTF-16 LE, BOM", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(text)], "UTF-16 (little-endian, with a" },
            { "UTF-16 BE, BOM", [0xFE, 0xFF, .. Encoding.BigEndianUnicode.GetBytes(text)], "UTF-16 (big-endian, with a" },
            { "UTF-32 LE, BOM", [0xFF, 0xFE, 0, 0, .. Encoding.UTF32.GetBytes(text)], "UTF-32 (little-endian, with a" },
            { "UTF-32 LE, no BOM", Encoding.UTF32.GetBytes(text), "UTF-32 (little-endian, without" },
            { "Russian UTF-16 LE, no BOM", Encoding.Unicode.GetBytes("Гарри Поттер взял волшебную палочку."), "UTF-16 (little-endian, without" },
            { "a control character", Encoding.UTF8.GetBytes("Text\u0004 more."), "U+0004" },
            { "zero bytes", new byte[64], "NUL" },
            { "a NUL inside text", [.. Encoding.UTF8.GetBytes("Some text "), 0, .. Encoding.UTF8.GetBytes(" and more.")], "NUL" },
            { "only blank lines", Encoding.UTF8.GetBytes("\n\n  \r\n\t\n"), "no text" },
            { "only a BOM", [0xEF, 0xBB, 0xBF], "no text" },
        };
    }

    [Theory]
    [MemberData(nameof(NotText))]
    public void Files_that_are_not_UTF8_text_are_refused_saying_what_they_look_like(string kind, byte[] bytes, string expected)
    {
        string path = Write("not-text.txt", bytes);
        var e = Assert.Throws<InvalidDataException>(() => TextCorpus.ReadDocuments(path));
        Assert.True(e.Message.Contains(expected), $"{kind}: {e.Message}");
        Assert.DoesNotContain("cp1251", e.Message);
    }

    [Fact]
    public void The_folder_error_does_not_need_the_checkout()
    {
        var e = Assert.Throws<ArgumentException>(() => TextCorpus.ReadFile(_dir));
        Assert.Contains("is a folder", e.Message);
        Assert.DoesNotContain(TinyWorld.DatasetFolder, e.Message);       // no lookup of the checkout (which fails outside it)
    }
}
