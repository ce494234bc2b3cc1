using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmNotebooks.Platform;

namespace LlmNotebooks.Data;

public static partial class TinyWorld
{
    static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);
    static readonly string[] DatasetFiles = ["raw.txt", "labels.tsv"];
    const string LabelsHeader = "id\tlabel\tlanguage\tsource_id\tnats";

    /// <summary>&lt;repo root&gt;/datasets/tinyworld (the root as <see cref="Checkout.Root"/> finds it).</summary>
    public static string DatasetFolder => Path.Combine(Checkout.Root, "datasets", "tinyworld");

    /// <summary>raw.txt: the documents in order, each followed by one blank line.</summary>
    internal static string RawText(IReadOnlyList<CorpusDocument> docs)
    {
        var sb = new StringBuilder();
        foreach (var d in docs)
        {
            if (d.Text != d.Text.Trim() || d.Text.Contains("\n\n") || d.Text.Contains('\r') || TextCorpus.SplitDocuments(d.Text).Count != 1)
                throw new InvalidOperationException($"Document {d.Id} would not survive the blank-line format (it has a blank line or surrounding whitespace); this is a generator bug.");
            sb.Append(d.Text).Append("\n\n");
        }
        return sb.ToString();
    }

    /// <summary>labels.tsv: a header, then id, label, language, source id (or empty), nats with 6 decimals.</summary>
    internal static string LabelsText(IReadOnlyList<CorpusDocument> docs)
    {
        var sb = new StringBuilder(LabelsHeader).Append('\n');
        foreach (var d in docs)
            sb.Append(CultureInfo.InvariantCulture, $"{d.Id}\t{d.Label}\t{d.Language}\t{d.SourceId?.ToString(CultureInfo.InvariantCulture)}\t{d.Nats.ToString("F6", CultureInfo.InvariantCulture)}\n");
        return sb.ToString();
    }

    static string Sha256(byte[] bytes) => Hashes.Sha256Hex(bytes);

    /// <summary>manifest.json, written by hand so its bytes never depend on a serializer's version.</summary>
    internal static string ManifestText(ulong seed, IReadOnlyList<(string Name, byte[] Bytes)> files)
    {
        var sb = new StringBuilder("{\n");
        sb.Append("  \"generator\": \"TinyWorld\",\n");
        sb.Append(CultureInfo.InvariantCulture, $"  \"generatorVersion\": {GeneratorVersion},\n");
        sb.Append(CultureInfo.InvariantCulture, $"  \"seed\": {seed},\n");
        sb.Append("  \"files\": [\n");
        for (int i = 0; i < files.Count; i++)
            sb.Append(CultureInfo.InvariantCulture, $"    {{ \"name\": \"{files[i].Name}\", \"bytes\": {files[i].Bytes.Length}, \"sha256\": \"{Sha256(files[i].Bytes)}\" }}{(i + 1 < files.Count ? "," : "")}\n");
        sb.Append("  ]\n}\n");
        return sb.ToString();
    }

    /// <summary>
    /// The bytes of raw.txt, labels.tsv and manifest.json for a seed: exactly what <see cref="WriteDataset"/> writes,
    /// without touching the disk (the tests compare them with the committed files).
    /// </summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> DatasetFileBytes(ulong seed = DefaultSeed)
    {
        var docs = Generate(seed);
        var files = new List<(string Name, byte[] Bytes)>
        {
            ("raw.txt", Utf8NoBom.GetBytes(RawText(docs))),
            ("labels.tsv", Utf8NoBom.GetBytes(LabelsText(docs))),
        };
        files.Add(("manifest.json", Utf8NoBom.GetBytes(ManifestText(seed, files))));
        return files;
    }

    /// <summary>
    /// Generates the corpus and writes raw.txt, labels.tsv and manifest.json into <paramref name="folder"/>. Each file
    /// is written to a temporary file and then moved into place, so a crash never leaves a half-written file; the
    /// manifest goes last. Regenerate the committed copy with
    /// <c>TinyWorld.WriteDataset(TinyWorld.DatasetFolder)</c> (see datasets/tinyworld/README.md).
    /// </summary>
    public static void WriteDataset(string folder, ulong seed = DefaultSeed)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Directory.CreateDirectory(folder);
        foreach (var (name, bytes) in DatasetFileBytes(seed))
        {
            AtomicFile.Write(Path.Combine(folder, name), bytes);
        }
    }

    /// <summary>
    /// Reads raw.txt and labels.tsv from <paramref name="folder"/> (default: <see cref="DatasetFolder"/>), after checking
    /// each against the SHA-256 in manifest.json; a changed or damaged file is an error that names it.
    /// </summary>
    public static IReadOnlyList<CorpusDocument> LoadDataset(string? folder = null)
    {
        folder = Path.GetFullPath(folder ?? DatasetFolder);
        string regenerate = $"Regenerate it with TinyWorld.WriteDataset(\"{folder}\") (seed in the manifest; see datasets/tinyworld/README.md), or restore it with `git checkout -- datasets/tinyworld`.";
        string manifestPath = Path.Combine(folder, "manifest.json");
        if (!File.Exists(manifestPath))
            throw new FileNotFoundException($"No manifest.json in '{folder}'. {regenerate}", manifestPath);
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
        foreach (var entry in manifest.RootElement.GetProperty("files").EnumerateArray())
        {
            string name = entry.GetProperty("name").GetString()!, path = Path.Combine(folder, name);
            if (!File.Exists(path)) throw new FileNotFoundException($"'{path}' is listed in manifest.json but missing. {regenerate}", path);
            var bytes = File.ReadAllBytes(path);
            string expected = entry.GetProperty("sha256").GetString()!, actual = Sha256(bytes);
            if (actual != expected)
                throw new InvalidDataException($"'{path}' does not match manifest.json: SHA-256 {actual}, expected {expected} " +
                                               $"({bytes.Length} bytes, expected {entry.GetProperty("bytes").GetInt64()}). The file was changed or damaged. {regenerate}");
        }
        var texts = TextCorpus.ReadDocuments(Path.Combine(folder, "raw.txt"));
        var rows = File.ReadAllText(Path.Combine(folder, "labels.tsv"), Utf8NoBom).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (rows.Length == 0 || rows[0] != LabelsHeader || rows.Length - 1 != texts.Count)
            throw new InvalidDataException($"labels.tsv in '{folder}' does not fit raw.txt ({rows.Length - 1} label rows, {texts.Count} documents). {regenerate}");
        var docs = new List<CorpusDocument>(texts.Count);
        for (int i = 0; i < texts.Count; i++)
        {
            var f = rows[i + 1].Split('\t');
            docs.Add(new CorpusDocument(int.Parse(f[0], CultureInfo.InvariantCulture), texts[i], Enum.Parse<DocumentLabel>(f[1]), f[2],
                f[3].Length == 0 ? null : int.Parse(f[3], CultureInfo.InvariantCulture), double.Parse(f[4], CultureInfo.InvariantCulture)));
        }
        return docs;
    }
}
