using LlmNotebooks.Platform;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmNotebooks.Runner.Book;

/// <summary>One notebook's outcome, as run.json keeps it.</summary>
/// <param name="Status">"ran" or "failed".</param>
/// <param name="FailedCell">The failing code cell's number (1-based), when one failed.</param>
/// <param name="Seconds">How long the notebook took, kernel start included.</param>
/// <param name="CellsRun">Code cells run (the failing one included).</param>
/// <param name="CellCount">Code cells in the notebook.</param>
public sealed record RunRecord(string Status, int? FailedCell, double Seconds, int CellsRun, int CellCount)
{
    public const string RanStatus = "ran";
    public const string FailedStatus = "failed";

    /// <summary>The chapter status this record stands for.</summary>
    [JsonIgnore]
    public ChapterStatus ChapterStatus => Status == RanStatus ? ChapterStatus.Ran : ChapterStatus.Failed;
}

/// <summary>
/// run.json, beside the executed copies: each notebook file's last outcome (status, failing cell, seconds). The runner
/// updates it after every notebook, so the notebooks not run in an invocation keep their earlier entries, and the book's
/// index can show every chapter's status and run time.
/// </summary>
public static class RunRecords
{
    public const string FileName = "run.json";

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The records in <paramref name="directory"/>/run.json; empty when it is missing or unreadable.</summary>
    public static SortedDictionary<string, RunRecord> Load(string directory)
    {
        string path = Path.Combine(directory, FileName);
        var records = new SortedDictionary<string, RunRecord>(StringComparer.Ordinal);
        if (!File.Exists(path)) return records;
        try
        {
            var read = JsonSerializer.Deserialize<Dictionary<string, RunRecord>>(File.ReadAllText(path), Json);
            foreach (var (name, record) in read ?? [])
                if (record is { Status: RunRecord.RanStatus or RunRecord.FailedStatus }) records[name] = record;
        }
        catch (JsonException) { } // a damaged file is as good as none: the next runs write it afresh
        return records;
    }

    /// <summary>Writes the records atomically, sorted by file name.</summary>
    public static void Save(string directory, IReadOnlyDictionary<string, RunRecord> records)
    {
        var sorted = new SortedDictionary<string, RunRecord>(records.ToDictionary(), StringComparer.Ordinal);
        AtomicFile.WriteIfChanged(Path.Combine(directory, FileName), Encoding.UTF8.GetBytes(JsonSerializer.Serialize(sorted, Json) + "\n"));
    }

    /// <summary>A record of a finished notebook.</summary>
    public static RunRecord From(NotebookResult result) => new(
        result.Succeeded ? RunRecord.RanStatus : RunRecord.FailedStatus,
        result.FailedCell?.Number,
        Math.Round(result.Duration.TotalSeconds, 1),
        result.CellsRun,
        result.CellCount);
}
