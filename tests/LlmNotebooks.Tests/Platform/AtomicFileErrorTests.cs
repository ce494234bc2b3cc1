using LlmNotebooks.Platform;

namespace LlmNotebooks.Tests.Platform;

/// <summary>
/// What a failed write says (the file and the reason: a full disk, a file where a folder should be, a folder that cannot
/// be made), and <see cref="AtomicFile.WriteAll"/>: a set of files replaced together or not at all.
/// </summary>
public class AtomicFileErrorTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-atomic-errors-").FullName;
    public void Dispose()
    {
        AtomicFile.BeforeReplacing = null;
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void A_full_disk_is_named_with_the_file_and_the_space_left_and_the_old_file_stays()
    {
        string path = Path.Combine(_folder, "model.safetensors");
        AtomicFile.WriteText(path, "old");
        foreach (var error in new[] { new IOException("Specified file length was too large for the file system.", 27), new IOException("No space left on device", 28) })
        {
            var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, _ => throw error));
            Assert.StartsWith($"Cannot write {path}: there is not enough space on the disk: ", e.Message);
            Assert.Contains(" MB free on ", e.Message);
            Assert.EndsWith($"({error.Message}). Free some space, or write somewhere else.", e.Message);
            Assert.Same(error, e.InnerException);
            Assert.Equal("old", File.ReadAllText(path));
            Assert.Empty(AtomicFile.Temporaries(path));
        }
    }

    [Fact]
    public void Another_bare_IO_error_is_named_with_the_file_and_other_exceptions_pass_unchanged()
    {
        string path = Path.Combine(_folder, "a.txt");
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, _ => throw new IOException("Input/output error")));
        Assert.Equal($"Cannot write {path}: Input/output error", e.Message);
        Assert.Equal("mine", Assert.Throws<InvalidDataException>(() => AtomicFile.Write(path, _ => throw new InvalidDataException("mine"))).Message);
    }

    [Fact]
    public void A_file_where_a_parent_folder_should_be_is_named()
    {
        string file = Path.Combine(_folder, "runs");
        File.WriteAllText(file, "not a folder");
        string path = Path.Combine(file, "chapter4", "model.safetensors");
        var e = Assert.Throws<IOException>(() => AtomicFile.WriteText(path, "x"));
        Assert.Equal($"Cannot write {path}: {file} is a file, not a folder, so the folder {Path.GetDirectoryName(path)} cannot be made. " +
                     "Move or rename that file, or write somewhere else.", e.Message);
        Assert.Equal("not a folder", File.ReadAllText(file));
    }

    [Fact]
    public void A_folder_that_cannot_be_made_is_named_with_the_reason()
    {
        string folder = Path.Combine(_folder, new string('d', 300));                // longer than any file system allows a name to be
        string path = Path.Combine(folder, "x.txt");
        var e = Assert.ThrowsAny<IOException>(() => AtomicFile.WriteText(path, "x"));
        Assert.StartsWith($"Cannot write {path}: the folder {folder} cannot be created (", e.Message);
        Assert.EndsWith("). Check that you may write there, or choose another folder.", e.Message);
    }

    [Fact]
    public void WriteAll_replaces_every_file_together_or_none()
    {
        string a = Path.Combine(_folder, "a.txt"), b = Path.Combine(_folder, "b.txt"), c = Path.Combine(_folder, "new", "c.txt");
        AtomicFile.WriteText(a, "old a");
        AtomicFile.WriteText(b, "old b");
        (string, Action<string>) Text(string path, string text) => (path, temp => File.WriteAllText(temp, text));

        foreach (string failing in new[] { a, b, c })
        {
            AtomicFile.BeforeReplacing = target => { if (target == failing) throw new IOException("simulated"); };
            Assert.Equal("simulated", Assert.Throws<IOException>(() => AtomicFile.WriteAll([Text(a, "new a"), Text(b, "new b"), Text(c, "new c")])).Message);
            Assert.Equal("old a", File.ReadAllText(a));
            Assert.Equal("old b", File.ReadAllText(b));
            Assert.False(File.Exists(c), "a file that did not exist before is taken back");
        }
        AtomicFile.BeforeReplacing = null;
        Assert.Throws<InvalidOperationException>(() => AtomicFile.WriteAll([Text(a, "new a"), (b, _ => throw new InvalidOperationException())]));
        Assert.Equal("old a", File.ReadAllText(a));

        AtomicFile.WriteAll([Text(a, "new a"), Text(b, "new b"), Text(c, "new c")]);
        Assert.Equal(["new a", "new b", "new c"], new[] { a, b, c }.Select(File.ReadAllText));
        Assert.Equal(["a.txt", "b.txt", "new"], Directory.GetFileSystemEntries(_folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(["c.txt"], Directory.GetFileSystemEntries(Path.GetDirectoryName(c)!).Select(Path.GetFileName));

        Assert.Contains("named twice", Assert.Throws<ArgumentException>(() => AtomicFile.WriteAll([Text(a, "1"), Text(a, "2")])).Message);
    }
}
