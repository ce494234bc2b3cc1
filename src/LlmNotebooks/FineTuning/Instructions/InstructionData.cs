using LlmNotebooks.Platform;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmNotebooks.Data;

namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>
/// Instruction data for chapter 5 in the JSON Lines shape that most fine-tuning recipes use: one object per line,
/// <c>{"instruction": "...", "output": "..."}</c>, UTF-8. <see cref="Load"/> reads such a file (the course's or your
/// own); <see cref="LoadDataset"/> reads the committed course set in datasets/instructions after checking its hashes;
/// <see cref="Generate"/> makes it (see InstructionData.Generator.cs for what is in it).
/// </summary>
public static partial class InstructionData
{
    /// <summary>Bump when a change to the generator changes its output (the committed files then need regenerating).</summary>
    public const int GeneratorVersion = 1;
    public const ulong DefaultSeed = 20_240_505;
    public const string TrainFile = "train.jsonl", HeldOutFile = "heldout.jsonl", ManifestFile = "manifest.json";

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>&lt;repo root&gt;/datasets/instructions (found like <see cref="TinyWorld.DatasetFolder"/>).</summary>
    public static string DatasetFolder => Path.Combine(Path.GetDirectoryName(TinyWorld.DatasetFolder)!, "instructions");

    /// <summary>
    /// Reads a JSON Lines file of <c>{"instruction": ..., "output": ...}</c> objects. Blank lines are skipped, a UTF-8
    /// byte-order mark and Windows line ends are accepted, other fields are ignored — except a non-empty "input" (the
    /// Alpaca shape), which this template has no place for: join it into the instruction first.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at the path.</exception>
    /// <exception cref="InvalidDataException">An empty file, bytes that are not UTF-8, a line that is not a JSON object,
    /// or a missing / empty / non-string field; the message gives the line number and what to fix.</exception>
    public static IReadOnlyList<InstructionExample> Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"No instruction file at {Path.GetFullPath(path)}.", path);
        return Parse(File.ReadAllBytes(path), Path.GetFullPath(path));
    }

    /// <summary>The examples in UTF-8 bytes of JSON Lines (what <see cref="Load"/> does after reading the file); <paramref name="source"/> names it in errors.</summary>
    public static IReadOnlyList<InstructionExample> Parse(ReadOnlySpan<byte> bytes, string source = "the data")
    {
        const string shape = "one JSON object per line, such as {\"instruction\": \"Write 21 in words.\", \"output\": \"twenty-one\"}";
        if (bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
        var examples = new List<InstructionExample>();
        int lineNumber = 0;
        while (bytes.Length > 0 || lineNumber == 0)
        {
            lineNumber++;
            int end = bytes.IndexOf((byte)'\n');
            var line = end < 0 ? bytes : bytes[..end];
            bytes = end < 0 ? [] : bytes[(end + 1)..];
            if (line.EndsWith("\r"u8)) line = line[..^1];
            string text;
            try { text = StrictUtf8.GetString(line); }
            catch (DecoderFallbackException e)
            {
                throw new InvalidDataException($"{source}, line {lineNumber}: bytes that are not UTF-8 (at byte {e.Index} of the line). " +
                                               "Save the file as UTF-8 (in most editors: \"Save with encoding\" → UTF-8).");
            }
            if (string.IsNullOrWhiteSpace(text)) { if (end < 0) break; continue; }
            JsonDocument doc;
            try { doc = JsonDocument.Parse(text); }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{source}, line {lineNumber}: not valid JSON ({e.Message}). Expected {shape}.");
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"{source}, line {lineNumber}: a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object. Expected {shape}.");
                string Field(string name)
                {
                    if (!root.TryGetProperty(name, out var v))
                        throw new InvalidDataException($"{source}, line {lineNumber}: missing the field \"{name}\". Every line needs \"instruction\" and \"output\" (strings).");
                    if (v.ValueKind != JsonValueKind.String)
                        throw new InvalidDataException($"{source}, line {lineNumber}: \"{name}\" must be a string, got a {v.ValueKind.ToString().ToLowerInvariant()}.");
                    string s = v.GetString()!;
                    if (string.IsNullOrWhiteSpace(s))
                        throw new InvalidDataException($"{source}, line {lineNumber}: \"{name}\" is empty. Give every example a question and an answer, or delete the line.");
                    return s;
                }
                if (root.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.String && input.GetString()!.Trim().Length > 0)
                    throw new InvalidDataException($"{source}, line {lineNumber}: has a non-empty \"input\" field (the Alpaca shape). The [INST] template has one " +
                                                   "instruction: append the input to \"instruction\" (e.g. after a newline) and remove \"input\".");
                examples.Add(new InstructionExample(Field("instruction"), Field("output")));
            }
            if (end < 0) break;
        }
        if (examples.Count == 0)
            throw new InvalidDataException($"{source} holds no examples (it is empty or blank). Expected {shape}.");
        return examples;
    }

    /// <summary>
    /// One example as a JSON line with keys in the order instruction, output; non-ASCII text is written as it is (UTF-8),
    /// quotes, backslashes and control characters are escaped. Written by hand so that its bytes never depend on a
    /// serializer's version (the committed files are checked byte for byte).
    /// </summary>
    public static string ToJsonLine(InstructionExample example) =>
        $"{{\"instruction\": {Quote(example.Instruction)}, \"output\": {Quote(example.Output)}}}";

    static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s)
            sb.Append(c switch
            {
                '"' => "\\\"", '\\' => "\\\\", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return sb.Append('"').ToString();
    }

    /// <summary>The examples as JSON Lines (UTF-8, "\n" after every line).</summary>
    public static byte[] ToJsonLines(IEnumerable<InstructionExample> examples)
    {
        var sb = new StringBuilder();
        foreach (var e in examples) sb.Append(ToJsonLine(e)).Append('\n');
        return StrictUtf8.GetBytes(sb.ToString());
    }

    /// <summary>Writes examples as JSON Lines, atomically (a temporary file beside the target, then renamed over it).</summary>
    public static void Save(string path, IEnumerable<InstructionExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        AtomicFile.Write(Path.GetFullPath(path), ToJsonLines(examples));
    }

    static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The bytes of train.jsonl, heldout.jsonl and manifest.json for a seed, as <see cref="WriteDataset"/> writes them.</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> DatasetFileBytes(ulong seed = DefaultSeed)
    {
        var set = Generate(seed);
        var files = new List<(string Name, byte[] Bytes)> { (TrainFile, ToJsonLines(set.Train)), (HeldOutFile, ToJsonLines(set.HeldOut)) };
        var sb = new StringBuilder("{\n");
        sb.Append("  \"generator\": \"InstructionData\",\n");
        sb.Append(CultureInfo.InvariantCulture, $"  \"generatorVersion\": {GeneratorVersion},\n");
        sb.Append(CultureInfo.InvariantCulture, $"  \"seed\": {seed},\n");
        sb.Append(CultureInfo.InvariantCulture, $"  \"world\": \"TinyWorld seed {TinyWorld.DefaultSeed}\",\n");
        sb.Append("  \"files\": [\n");
        for (int i = 0; i < files.Count; i++)
        {
            int lines = i == 0 ? set.Train.Count : set.HeldOut.Count;
            sb.Append(CultureInfo.InvariantCulture, $"    {{ \"name\": \"{files[i].Name}\", \"examples\": {lines}, \"bytes\": {files[i].Bytes.Length}, \"sha256\": \"{Sha256(files[i].Bytes)}\" }}{(i + 1 < files.Count ? "," : "")}\n");
        }
        sb.Append("  ]\n}\n");
        files.Add((ManifestFile, StrictUtf8.GetBytes(sb.ToString())));
        return files;
    }

    /// <summary>
    /// Generates the course set and writes train.jsonl, heldout.jsonl and manifest.json into <paramref name="folder"/>,
    /// each atomically, the manifest last. Regenerate the committed copy with
    /// <c>InstructionData.WriteDataset(InstructionData.DatasetFolder)</c> (see datasets/instructions/README.md).
    /// </summary>
    public static void WriteDataset(string folder, ulong seed = DefaultSeed)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        foreach (var (name, bytes) in DatasetFileBytes(seed)) AtomicFile.Write(Path.Combine(Path.GetFullPath(folder), name), bytes);
    }

    /// <summary>
    /// The committed course set (default folder: <see cref="DatasetFolder"/>), after checking each file against the
    /// SHA-256 in manifest.json; a changed or damaged file is an error that names it and says how to regenerate it.
    /// </summary>
    public static (IReadOnlyList<InstructionExample> Train, IReadOnlyList<InstructionExample> HeldOut) LoadDataset(string? folder = null)
    {
        folder = Path.GetFullPath(folder ?? DatasetFolder);
        string regenerate = $"Regenerate it with InstructionData.WriteDataset(\"{folder}\") (see datasets/instructions/README.md), or restore it with `git checkout -- datasets/instructions`.";
        string manifestPath = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifestPath)) throw new FileNotFoundException($"No {ManifestFile} in '{folder}'. {regenerate}", manifestPath);
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
        foreach (var entry in manifest.RootElement.GetProperty("files").EnumerateArray())
        {
            string name = entry.GetProperty("name").GetString()!, path = Path.Combine(folder, name);
            if (!File.Exists(path)) throw new FileNotFoundException($"'{path}' is listed in {ManifestFile} but missing. {regenerate}", path);
            string expected = entry.GetProperty("sha256").GetString()!, actual = Sha256(File.ReadAllBytes(path));
            if (actual != expected)
                throw new InvalidDataException($"'{path}' does not match {ManifestFile}: SHA-256 {actual}, expected {expected}. The file was changed or damaged. {regenerate}");
        }
        return (Load(Path.Combine(folder, TrainFile)), Load(Path.Combine(folder, HeldOutFile)));
    }
}
