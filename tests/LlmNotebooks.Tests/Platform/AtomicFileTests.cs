using System.Text;
using System.Text.RegularExpressions;
using LlmNotebooks.Platform;
using LlmNotebooks.Runner;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Serialization;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Platform;

public class AtomicFileTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-atomic-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    string[] Leftovers() => Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories);

    [Fact]
    public void A_write_replaces_the_whole_file_and_leaves_no_temporary()
    {
        string path = Path.Combine(_folder, "sub", "a.txt");
        AtomicFile.WriteText(path, "first, and longer");
        AtomicFile.WriteText(path, "second");
        Assert.Equal("second", File.ReadAllText(path));
        Assert.False(AtomicFile.WriteIfChanged(path, Encoding.UTF8.GetBytes("second")));
        Assert.True(AtomicFile.WriteIfChanged(path, Encoding.UTF8.GetBytes("third")));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void A_failed_write_keeps_the_old_file_and_removes_its_temporary()
    {
        string path = Path.Combine(_folder, "a.bin");
        AtomicFile.Write(path, [1, 2, 3]);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, temp =>
        {
            File.WriteAllBytes(temp, [9, 9]);                               // half written, then the writer fails
            throw new InvalidOperationException("disk full");
        }));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Empty(Leftovers());
        Assert.Contains("is a folder", Assert.Throws<IOException>(() => AtomicFile.WriteText(_folder, "x")).Message);
    }

    [Fact]
    public void Concurrent_writers_never_share_a_temporary_and_the_result_is_one_whole_payload()
    {
        string path = Path.Combine(_folder, "shared.bin");
        var payloads = Enumerable.Range(0, 8).Select(i => Enumerable.Repeat((byte)i, 100_000 + i).ToArray()).ToArray();
        Parallel.For(0, 32, i => AtomicFile.Write(path, payloads[i % payloads.Length]));
        byte[] result = File.ReadAllBytes(path);
        Assert.Contains(payloads, p => p.AsSpan().SequenceEqual(result));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void Temporaries_of_a_killed_writer_are_found_and_removed_by_the_next_write()
    {
        string path = Path.Combine(_folder, "model.safetensors");
        string dead = Path.Combine(_folder, $".model.safetensors.{int.MaxValue - 1}.{Guid.NewGuid():N}.tmp");   // no such process
        string alive = Path.Combine(_folder, $".model.safetensors.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp"); // this process: maybe mid-write
        string other = Path.Combine(_folder, ".other.txt.1.tmp");
        foreach (var f in new[] { dead, alive, other }) File.WriteAllText(f, "half");
        Assert.Equal(new[] { alive, dead }.Order(), AtomicFile.Temporaries(path).Order());
        AtomicFile.WriteText(path, "whole");
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(alive));
        Assert.True(File.Exists(other));                                   // not a temporary of this target
    }

    [Fact]
    public void Savers_that_fail_leave_no_temporary_behind()
    {
        string folderAsTarget = Path.Combine(_folder, "taken");
        Directory.CreateDirectory(folderAsTarget);
        var tokenizer = BpeTokenizer.Train("abababab cdcdcd", 260);
        Assert.ThrowsAny<IOException>(() => tokenizer.Save(folderAsTarget));
        using (var scope = NewDisposeScope())
            Assert.ThrowsAny<IOException>(() => SafetensorsFile.Write(folderAsTarget, new Dictionary<string, Tensor> { ["x"] = zeros(2) }));
        Assert.Empty(Leftovers());
    }

    /// <summary>The kind, not only the example: no code under src/ writes a file except through AtomicFile.</summary>
    [Fact]
    public void Every_writer_under_src_goes_through_AtomicFile()
    {
        var forbidden = new Regex(@"(?<!Atomic)File\.(Move|WriteAll\w*|Create|AppendAll\w*|OpenWrite|CreateText)\(|new FileStream\(|""\.tmp""");
        var offenders = Directory.EnumerateFiles(Path.Combine(TestSetup.RepoRoot, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Where(f => Path.GetFileName(f) != "AtomicFile.cs")
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(x => forbidden.IsMatch(x.line) && !x.line.Contains("// atomic:", StringComparison.Ordinal))
            .Select(x => $"{Path.GetRelativePath(TestSetup.RepoRoot, x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, "write through AtomicFile instead:\n" + string.Join("\n", offenders));
    }
}
