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
            Explained(full, () => writeTemporary(temp));
            Explained(full, () => File.Move(temp, full, overwrite: true));
        }
        finally
        {
            try { if (File.Exists(temp)) File.Delete(temp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // the write's own error matters more
        }
    }

    /// <summary>
    /// Writes several files as one: each is written through its callback into a temporary file beside it, and only
    /// when all are complete are they renamed into place, one after the other, each old file set aside (as
    /// <c>.NAME.PID.GUID.old</c>) until every new one is in place. When anything fails — a callback, a rename — the
    /// files already renamed are taken back and the old ones restored, so the targets are left as they were: the old
    /// set or the new set, never a mix. (A process killed between two renames cannot roll back; the old file then
    /// stays beside its target under its .old name.)
    /// </summary>
    /// <exception cref="ArgumentException">No files, or the same target twice.</exception>
    public static void WriteAll(IReadOnlyList<(string Path, Action<string> WriteTemporary)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0) throw new ArgumentException("Give at least one file to write.", nameof(files));
        var targets = files.Select(f => Target(f.Path)).ToList();
        if (targets.GroupBy(t => t, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"{twice.Key} is named twice; each file of a set is written once.", nameof(files));
        foreach (var t in targets) RemoveStaleTemporaries(t);
        var temps = targets.Select(TemporaryPath).ToList();
        var aside = new string?[targets.Count];
        int placed = 0;
        bool done = false;
        try
        {
            for (int i = 0; i < files.Count; i++)
            {
                ArgumentNullException.ThrowIfNull(files[i].WriteTemporary, nameof(files));
                Explained(targets[i], () => files[i].WriteTemporary(temps[i]));
            }
            for (int i = 0; i < files.Count; i++)
            {
                if (File.Exists(targets[i]))
                {
                    aside[i] = Path.ChangeExtension(TemporaryPath(targets[i]), OldSuffix);
                    Explained(targets[i], () => File.Move(targets[i], aside[i]!));
                }
                BeforeReplacing?.Invoke(targets[i]);
                Explained(targets[i], () => File.Move(temps[i], targets[i]));
                placed = i + 1;
            }
            done = true;
        }
        catch
        {
            for (int i = files.Count - 1; i >= 0; i--)
            {
                try
                {
                    if (i < placed && File.Exists(targets[i])) File.Delete(targets[i]);                     // a new file: taken back
                    if (aside[i] is { } old && File.Exists(old)) File.Move(old, targets[i], overwrite: true);   // the old one: restored
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // the first error matters more
            }
            throw;
        }
        finally
        {
            foreach (var temp in temps.Concat(done ? aside.OfType<string>() : []))
            {
                try { if (File.Exists(temp)) File.Delete(temp); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
        }
    }

    /// <summary>The ending of an old file set aside by <see cref="WriteAll"/> until its new set is in place.</summary>
    public const string OldSuffix = ".old";

    /// <summary>For tests: called by <see cref="WriteAll"/> with each target just before its new file is renamed into place (throw to simulate a failure there).</summary>
    [ThreadStatic] internal static Action<string>? BeforeReplacing;

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
        string folder = Path.GetDirectoryName(full)!;
        for (string? above = folder; above is not null && !Directory.Exists(above); above = Path.GetDirectoryName(above))
            if (File.Exists(above))
                throw new IOException($"Cannot write {full}: {above} is a file, not a folder, so the folder {folder} cannot be made. " +
                                      "Move or rename that file, or write somewhere else.");
        try { Directory.CreateDirectory(folder); }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"Cannot write {full}: the folder {folder} cannot be created ({e.Message}). " +
                                                  "Check that you may write there, or choose another folder.", e);
        }
        catch (IOException e)
        {
            throw new IOException($"Cannot write {full}: the folder {folder} cannot be created ({e.Message}). Check that you may write there, or choose another folder.", e);
        }
        return full;
    }

    /// <summary>
    /// Runs one step of a write, and turns a bare I/O error into one that names the file and the reason: for a full disk
    /// (ENOSPC, EFBIG, EDQUOT, or Windows' "disk full") how much space is left. Other exceptions pass unchanged.
    /// </summary>
    static void Explained(string full, Action step)
    {
        try { step(); }
        catch (IOException e) when (e.GetType() == typeof(IOException) && !e.Message.Contains(full, StringComparison.Ordinal))
        {
            string folder = Path.GetDirectoryName(full)!;
            if (IsDiskFull(e))
                throw new IOException($"Cannot write {full}: there is not enough space on the disk{FreeSpace(folder)} ({e.Message}). " +
                                      "Free some space, or write somewhere else.", e);
            throw new IOException($"Cannot write {full}: {e.Message}", e);
        }
    }

    static bool IsDiskFull(IOException e) =>
        e.HResult is 28 or 27 or 122 || (e.HResult < 0 && (e.HResult & 0xFFFF) is 0x70 or 0x27) ||     // ENOSPC, EFBIG, EDQUOT; ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL
        e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("file length was too large", StringComparison.OrdinalIgnoreCase);

    static string FreeSpace(string folder)
    {
        try
        {
            var drive = new DriveInfo(folder);
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $": {drive.AvailableFreeSpace / 1e6:N1} MB free on {drive.Name}");
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { return ""; }
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
