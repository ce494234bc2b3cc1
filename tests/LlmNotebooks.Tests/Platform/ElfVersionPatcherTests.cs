using LlmNotebooks.Platform;

namespace LlmNotebooks.Tests.Platform;

public class ElfVersionPatcherTests
{
    static string ShippedLibrary()
    {
        string dir = Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location)!;
        return Directory.GetFiles(dir, "libLibTorchSharp.so", SearchOption.AllDirectories).First();
    }

    [Fact]
    public void Weakens_exactly_the_requested_version_and_changes_only_its_flag_bytes()
    {
        if (!OperatingSystem.IsLinux()) return;
        byte[] original = File.ReadAllBytes(ShippedLibrary());
        var (patched, weakened) = ElfVersionPatcher.WeakenVersions(original, ["GLIBCXX_3.4.32"]);

        Assert.Equal(["GLIBCXX_3.4.32"], weakened);
        Assert.Equal(original.Length, patched.Length);
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        Assert.Single(changed); // the low byte of one vna_flags field: 0x0 -> 0x2
        Assert.Equal(original[changed[0]] | 0x2, patched[changed[0]]);
    }

    [Fact]
    public void Unknown_versions_leave_the_file_unchanged()
    {
        if (!OperatingSystem.IsLinux()) return;
        byte[] original = File.ReadAllBytes(ShippedLibrary());
        var (patched, weakened) = ElfVersionPatcher.WeakenVersions(original, ["GLIBCXX_9.9.99"]);
        Assert.Empty(weakened);
        Assert.Equal(original, patched);
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 3 })]
    [InlineData(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void Rejects_what_is_not_a_64_bit_little_endian_elf(byte[] bytes)
    {
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionPatcher.WeakenVersions(bytes, ["X"]));
        Assert.Contains("ELF", e.Message);
    }
}
