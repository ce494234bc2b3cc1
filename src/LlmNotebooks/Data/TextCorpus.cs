using System.Text;

namespace LlmNotebooks.Data;

/// <summary>
/// Reads any local UTF-8 text as a corpus: one document per paragraph, paragraphs separated by a blank line (the format
/// of datasets/tinyworld/raw.txt, and the one to use for your own text). Errors say what was wrong and how to fix it.
/// Example: <c>TextCorpus.SplitDocuments("One.\n\nTwo\nlines.\n\n\n")</c> → ["One.", "Two\nlines."].
/// </summary>
public static class TextCorpus
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The whole file as a string. Strict: a byte sequence that is not UTF-8 is an error naming its byte offset (a
    /// lenient reader would silently turn it into U+FFFD, the very garbage the cleaner has to remove later).
    /// A UTF-8 byte-order mark is dropped; "\r\n" line ends become "\n".
    /// </summary>
    public static string ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new ArgumentException($"'{full}' is a folder; expected a text file (for the course's corpus: {Path.Combine(TinyWorld.DatasetFolder, "raw.txt")}).", nameof(path));
        if (!File.Exists(full))
            throw new FileNotFoundException($"No file at '{full}'. Check the path (relative paths start from {Directory.GetCurrentDirectory()}); " +
                                            "the course's own corpus is datasets/tinyworld/raw.txt (TinyWorld.LoadDataset() reads it).", full);
        var bytes = File.ReadAllBytes(full);
        if (bytes.Length == 0)
            throw new InvalidDataException($"'{full}' is empty; expected UTF-8 text with documents separated by blank lines.");
        int start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        string text;
        try
        {
            text = StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException e)
        {
            long offset = FirstInvalidByte(bytes, start);
            throw new InvalidDataException(
                $"'{full}' is not valid UTF-8: the first invalid byte is 0x{bytes[offset]:X2} at byte offset {offset}. " +
                $"Convert the file to UTF-8 first, e.g. `iconv -f cp1251 -t utf-8 \"{full}\" > converted.txt` (cp1251 for Russian Windows text; " +
                "latin1 or cp1252 for Western European).", e);
        }
        return text.Replace("\r\n", "\n");
    }

    /// <summary>The offset of the first byte that does not belong to a well-formed UTF-8 sequence.</summary>
    static long FirstInvalidByte(byte[] bytes, int start)
    {
        var span = bytes.AsSpan(start);
        int at = 0;
        while (at < span.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(span[at..], out _, out int consumed);
            if (status != System.Buffers.OperationStatus.Done) return start + at;
            at += consumed;
        }
        return start + span.Length - 1;
    }

    /// <summary>
    /// Splits text into documents at blank lines (lines that are empty or only whitespace); each document is trimmed
    /// and empty ones are dropped. Single line breaks stay inside a document.
    /// </summary>
    public static IReadOnlyList<string> SplitDocuments(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var docs = new List<string>();
        var current = new StringBuilder();
        foreach (var line in text.Replace("\r\n", "\n").Split('\n'))
        {
            if (line.Trim().Length == 0)
            {
                Flush();
                continue;
            }
            if (current.Length > 0) current.Append('\n');
            current.Append(line);
        }
        Flush();
        return docs;

        void Flush()
        {
            string doc = current.ToString().Trim();
            if (doc.Length > 0) docs.Add(doc);
            current.Clear();
        }
    }

    /// <summary><see cref="ReadFile"/>, then <see cref="SplitDocuments"/>.</summary>
    public static IReadOnlyList<string> ReadDocuments(string path) => SplitDocuments(ReadFile(path));
}
