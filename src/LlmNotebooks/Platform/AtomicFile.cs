using System.Diagnostics;
using System.Text;

namespace LlmNotebooks.Platform;

/// <summary>
/// The one way the course writes a file: into a temporary file beside the target, then renamed over it. Readers see the
/// old file or the new one, whole, never a half-written file; a failed write leaves the old file as it was.
/// <para>
/// Temporary names are unique per write (<c>.NAME.PID.GUID.tmp</c> in the target's folder), so concurrent writers, in
/// one process or several, never share one. A write that fails removes its temporary file. A process killed in the
/// middle of a write cannot: its temporary file stays beside the target, and the next write of the same target removes
/// every such file whose process is no longer running.
/// </para>
/// </summary>
public static class AtomicFile
{
    /// <summary>The ending of every temporary file.</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically, creating its folder if needed.</summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, temp =>
        {
            using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
            stream.Write(copy);
            stream.Flush(flushToDisk: true);
        });
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark, atomically.</summary>
    public static void WriteText(string path, string text) => Write(path, new UTF8Encoding(false).GetBytes(text));

    /// <summary>
    /// Writes <paramref name="path"/> atomically through <paramref name="writeTemporary"/>, which is given the path of
    /// a new temporary file in the same folder and must write the complete file there.
    /// </summary>
    public static void Write(string path, Action<string> writeTemporary)
    {
        ArgumentNullException.ThrowIfNull(writeTemporary);
        string full = Target(path);
        RemoveStaleTemporaries(full);
        string temp = TemporaryPath(full);
        try
        {
            writeTemporary(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            try { if (File.Exists(temp)) File.Delete(temp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // the write's own error matters more
        }
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> unless the file already holds exactly them (so an unchanged file keeps its time
    /// stamp). Returns whether it wrote.
    /// </summary>
    public static bool WriteIfChanged(string path, ReadOnlySpan<byte> bytes)
    {
        string full = Target(path);
        if (File.Exists(full) && new FileInfo(full).Length == bytes.Length && bytes.SequenceEqual(File.ReadAllBytes(full)))
            return false;
        Write(full, bytes);
        return true;
    }

    /// <summary>Temporary files of <paramref name="path"/> left in its folder by writes that did not finish (any process, running or not).</summary>
    public static IReadOnlyList<string> Temporaries(string path)
    {
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        if (folder is null || !Directory.Exists(folder)) return [];
        return Directory.GetFiles(folder, $".{Path.GetFileName(full)}.*{TempSuffix}").Where(f => WriterOf(f, full) is not null).ToList();
    }

    static string Target(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new IOException($"{full} is a folder; expected a file path inside it, such as {Path.Combine(full, "file")}.");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return full;
    }

    static string TemporaryPath(string full) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}{TempSuffix}");

    /// <summary>The process id in a temporary name of <paramref name="full"/>, or null when the name is not one.</summary>
    static int? WriterOf(string temporary, string full)
    {
        string prefix = $".{Path.GetFileName(full)}.", name = Path.GetFileName(temporary);
        if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(TempSuffix, StringComparison.Ordinal)) return null;
        var parts = name[prefix.Length..^TempSuffix.Length].Split('.');
        return parts.Length == 2 && parts[1].Length == 32 && int.TryParse(parts[0], out int pid) ? pid : null;
    }

    /// <summary>Removes the temporary files of <paramref name="full"/> whose writing process is no longer running (killed mid-write).</summary>
    static void RemoveStaleTemporaries(string full)
    {
        foreach (string temp in Temporaries(full))
        {
            if (WriterOf(temp, full) is not { } pid || pid == Environment.ProcessId || IsRunning(pid)) continue;
            try { File.Delete(temp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // someone else's file, or already gone
        }
    }

    static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }                     // no such process
        catch (InvalidOperationException) { return false; }
        catch (System.ComponentModel.Win32Exception) { return true; }   // someone else's process: leave its files alone
    }
}
