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
    /// A UTF-8 byte-order mark is dropped; "\r\n" line ends become "\n". UTF-16 and UTF-32 (with or without a
    /// byte-order mark), binary files (NUL characters) and files with no text at all (only blank lines) are refused
    /// with what they look like and how to convert them.
    /// </summary>
    public static string ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new ArgumentException($"'{full}' is a folder; expected a text file (the course's own corpus is datasets/tinyworld/raw.txt in the checkout).", nameof(path));
        if (!File.Exists(full))
            throw new FileNotFoundException($"No file at '{full}'. Check the path (relative paths start from {Directory.GetCurrentDirectory()}); " +
                                            "the course's own corpus is datasets/tinyworld/raw.txt (TinyWorld.LoadDataset() reads it).", full);
        var bytes = File.ReadAllBytes(full);
        if (bytes.Length == 0)
            throw new InvalidDataException($"'{full}' is empty; expected UTF-8 text with documents separated by blank lines.");
        if (WideEncoding(bytes) is { } wide)
            throw new InvalidDataException($"'{full}' is {wide}, not UTF-8. Convert it first, e.g. `iconv -f {(wide.StartsWith("UTF-32") ? "utf-32" : "utf-16")} -t utf-8 \"{full}\" > converted.txt`.");
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
        int control = text.AsSpan().IndexOfAnyInRange('\0', '\b');
        if (control >= 0)
            throw new InvalidDataException($"'{full}' holds the control character U+{(int)text[control]:X4}{(text[control] == 0 ? " (NUL)" : "")} at character {control}: " +
                                           "it is a binary file, or text in an encoding other than UTF-8. Expected UTF-8 text with documents separated by blank lines.");
        if (string.IsNullOrWhiteSpace(text))
            throw new InvalidDataException($"'{full}' holds no text, only {(text.Length == 0 ? "a byte-order mark" : "blank lines and spaces")}; expected UTF-8 text with documents separated by blank lines.");
        return text.Replace("\r\n", "\n");
    }

    /// <summary>
    /// "UTF-16 (little-endian, with a byte-order mark)" and the like when the bytes are UTF-16 or UTF-32: a byte-order
    /// mark, or, without one, zero bytes at every other (or every fourth) position of the first bytes. Null otherwise.
    /// </summary>
    static string? WideEncoding(byte[] b)
    {
        if (b is [0xFF, 0xFE, 0, 0, ..]) return "UTF-32 (little-endian, with a byte-order mark)";
        if (b is [0, 0, 0xFE, 0xFF, ..]) return "UTF-32 (big-endian, with a byte-order mark)";
        if (b is [0xFF, 0xFE, ..]) return "UTF-16 (little-endian, with a byte-order mark)";
        if (b is [0xFE, 0xFF, ..]) return "UTF-16 (big-endian, with a byte-order mark)";
        // Without a mark: in UTF-16 the high byte of every Latin, Cyrillic, Greek, Hebrew or Arabic character is 0x00–0x08,
        // bytes that never occur in text; in UTF-32 three bytes of four are.
        int n = Math.Min(b.Length, 4096) & ~3;
        if (n < 4) return null;
        int Low(int phase, int step) { int z = 0; for (int i = phase; i < n; i += step) if (b[i] < 0x09) z++; return z; }
        bool Mostly(int low, int of) => low * 10 >= of * 7;
        bool Rarely(int low, int of) => low * 10 < of;
        if (Mostly(Low(2, 4) + Low(3, 4), n / 2) && Rarely(Low(0, 4), n / 4)) return "UTF-32 (little-endian, without a byte-order mark)";
        if (Mostly(Low(1, 2), n / 2) && Rarely(Low(0, 2), n / 2)) return "UTF-16 (little-endian, without a byte-order mark)";
        if (Mostly(Low(0, 2), n / 2) && Rarely(Low(1, 2), n / 2)) return "UTF-16 (big-endian, without a byte-order mark)";
        return null;
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

    /// <summary><see cref="ReadFile"/>, then <see cref="SplitDocuments"/> (at least one document, or an error).</summary>
    public static IReadOnlyList<string> ReadDocuments(string path) => SplitDocuments(ReadFile(path));
}
