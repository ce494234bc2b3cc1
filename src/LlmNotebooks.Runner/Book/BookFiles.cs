namespace LlmNotebooks.Runner.Book;

/// <summary>Writes files atomically: a temporary file beside the target, renamed over it.</summary>
static class BookFiles
{
    /// <summary>
    /// Writes <paramref name="bytes"/> to <paramref name="path"/> unless the file already holds exactly them; readers
    /// see the old file or the new one, whole. Returns whether it wrote.
    /// </summary>
    public static bool Write(string path, ReadOnlySpan<byte> bytes)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        if (File.Exists(full) && new FileInfo(full).Length == bytes.Length && bytes.SequenceEqual(File.ReadAllBytes(full)))
            return false;
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                stream.Write(bytes);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return true;
    }
}
