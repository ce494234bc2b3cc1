using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace LlmNotebooks.Platform;

/// <summary>
/// Makes TorchSharp's native library load on Linux systems whose libstdc++ is older than the one it was built
/// against (Debian 12 and Ubuntu 22.04 stop at GLIBCXX_3.4.30; TorchSharp 0.107.0 asks for GLIBCXX_3.4.32 for a
/// single symbol that no relocation uses).
/// </summary>
/// <remarks>
/// Where the library loads as shipped, this does nothing. Otherwise it writes a copy of libLibTorchSharp.so with
/// the missing version requirements marked weak into a cache folder (beside links to the libtorch libraries), and
/// loads that copy before TorchSharp's first native call; TorchSharp then finds it already loaded by its soname.
/// The NuGet cache and the build output are never modified. Call <see cref="EnsureLoadable"/> before the first tensor:
/// <c>Course.Setup</c> (every notebook's first cell), the runner, the tests and the benchmarks do. Nothing happens
/// merely because a library type is used. A program that forgets it gets TorchSharp's own, misleading error
/// ("… doesn't contain a reference to libtorch-cpu-linux-x64"); <see cref="Explain"/> turns that into the hint.
/// </remarks>
public static partial class TorchNativeLoader
{
    const string LibraryFile = "libLibTorchSharp.so";
    static readonly Lock Gate = new();
    static bool _done;

    /// <summary>What was done, in one line; null when nothing was needed (or not yet called).</summary>
    public static string? AppliedFix { get; private set; }

    /// <summary>
    /// Ensures TorchSharp's native library can load; returns the one-line description of the fix when one was
    /// applied (also written to the console once), otherwise null. Safe to call many times and from many threads.
    /// </summary>
    /// <exception cref="DllNotFoundException">Neither the shipped library nor a patched copy could be loaded.</exception>
    public static string? EnsureLoadable()
    {
        lock (Gate)
        {
            if (_done) return AppliedFix;
            _done = true;
            if (!OperatingSystem.IsLinux()) return null;

            string? original = FindShippedLibrary();
            if (original is null) return null; // not our layout: let TorchSharp search as it always does

            string error;
            try
            {
                NativeLibrary.Load(original);
                return null; // loads as shipped
            }
            catch (DllNotFoundException e) { error = e.Message; }

            var missing = PatchableVersions(error);
            if (missing.Count == 0) return null; // some other problem: TorchSharp's own error will explain it

            string copy = WritePatchedCopy(original, [.. missing]);
            try { NativeLibrary.Load(copy); }
            catch (DllNotFoundException e)
            {
                throw new DllNotFoundException(
                    $"TorchSharp's native library needs {string.Join(", ", missing)}, which this system's libstdc++ lacks, " +
                    $"and the patched copy at {copy} did not load either: {e.Message}. " +
                    "Install a newer libstdc++ (GCC 13 or later) or use a newer Linux distribution.", e);
            }
            AppliedFix = $"TorchSharp: this system's libstdc++ lacks {string.Join(", ", missing)}; loaded a copy of {LibraryFile} " +
                         $"with that requirement marked weak from {Path.GetDirectoryName(copy)} (the original is untouched).";
            Console.WriteLine(AppliedFix);
            return AppliedFix;
        }
    }

    /// <summary>
    /// When <paramref name="error"/> (or an inner exception) is TorchSharp failing to load its native library, the
    /// message to show instead: what likely happened and that <see cref="EnsureLoadable"/> fixes it on Linux systems
    /// with an older libstdc++. Null for any other error.
    /// </summary>
    public static string? Explain(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            bool torchLoad = e is NotSupportedException or DllNotFoundException or TypeInitializationException &&
                             (e.Message.Contains("libtorch", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("LibTorchSharp", StringComparison.Ordinal) ||
                              e is TypeInitializationException { TypeName: "TorchSharp.torch" });
            if (!torchLoad) continue;
            string why = OperatingSystem.IsLinux()
                ? $"On Linux this is usually an older libstdc++ (Debian 12, Ubuntu 22.04) that lacks GLIBCXX_3.4.32; TorchSharp then reports a misleading missing reference to libtorch-cpu-linux-x64. "
                : "";
            return $"TorchSharp's native library did not load ({e.GetType().Name}: {FirstLine(e.Message)}). {why}" +
                   $"Call LlmNotebooks.Platform.{nameof(TorchNativeLoader)}.{nameof(EnsureLoadable)}() (or Course.Setup() in a notebook) before the first tensor of the program; " +
                   "it loads a patched copy of the library where that is the cause, and does nothing elsewhere.";
        }
        return null;
    }

    static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    [GeneratedRegex(@"version [`'](GLIBC(?:XX)?_[0-9.]+)' not found")]
    private static partial Regex MissingVersions();

    /// <summary>
    /// The libstdc++ versions a loader error reports missing, when weakening them is the whole fix; empty otherwise.
    /// Only GLIBCXX requirements qualify (the measured case: one unused symbol needs GLIBCXX_3.4.32). A missing glibc
    /// version (GLIBC_…) means real functions are absent, so nothing is patched and the original error stands.
    /// Example: "… version `GLIBCXX_3.4.32' not found (required by …)" → ["GLIBCXX_3.4.32"].
    /// </summary>
    public static IReadOnlyList<string> PatchableVersions(string loaderError)
    {
        var versions = MissingVersions().Matches(loaderError).Select(m => m.Groups[1].Value).Distinct().ToArray();
        return versions.Length > 0 && versions.All(v => v.StartsWith("GLIBCXX_", StringComparison.Ordinal)) ? versions : [];
    }

    /// <summary>The shipped libLibTorchSharp.so: beside TorchSharp.dll (a build output) or in the NuGet cache.</summary>
    static string? FindShippedLibrary()
    {
        string torchDir = Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location) ?? "";
        string version = typeof(TorchSharp.torch).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "";
        var candidates = new[]
        {
            Path.Combine(torchDir, LibraryFile),
            Path.Combine(torchDir, "runtimes", "linux-x64", "native", LibraryFile),
            Path.Combine(NuGetCache(), "torchsharp", version, "runtimes", "linux-x64", "native", LibraryFile),
        };
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>The folder holding libtorch_cpu.so: the shipped library's own, else the libtorch-cpu package's.</summary>
    static string? FindLibTorchFolder(string original)
    {
        string dir = Path.GetDirectoryName(original)!;
        if (File.Exists(Path.Combine(dir, "libtorch_cpu.so"))) return dir;
        string package = Path.Combine(NuGetCache(), "libtorch-cpu-linux-x64");
        if (!Directory.Exists(package)) return null;
        return Directory.GetDirectories(package)
            .Select(v => Path.Combine(v, "runtimes", "linux-x64", "native"))
            .Where(d => File.Exists(Path.Combine(d, "libtorch_cpu.so")))
            .OrderDescending(StringComparer.Ordinal)
            .FirstOrDefault();
    }

    static string NuGetCache() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    static string WritePatchedCopy(string original, string[] versions)
    {
        byte[] bytes = File.ReadAllBytes(original);
        var (patched, weakened) = ElfVersionPatcher.WeakenVersions(bytes, versions);
        if (weakened.Count == 0)
            throw new DllNotFoundException($"{original} does not declare the versions the loader reported missing ({string.Join(", ", versions)}).");

        // One cache folder per (library, libtorch folder): the links must point at the very files TorchSharp itself
        // loads by name from its own folder, or two copies of libtorch end up in the process and abort it.
        string? libtorch = FindLibTorchFolder(original);
        byte[] key = [.. SHA256.HashData(bytes), .. System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(libtorch ?? ""))];
        string hash = Convert.ToHexString(SHA256.HashData(key))[..16].ToLowerInvariant();
        string folder = Path.Combine(CacheRoot(), "llm-notebooks", "torchsharp-native", hash);
        Directory.CreateDirectory(folder);

        // $ORIGIN of the copy is this folder, so the libraries it needs (libtorch.so, libc10.so, ...) are linked here.
        if (libtorch is not null)
        {
            foreach (string file in Directory.GetFiles(libtorch, "*.so*"))
            {
                string link = Path.Combine(folder, Path.GetFileName(file));
                if (Path.GetFileName(file) == LibraryFile || File.Exists(link)) continue;
                try { File.CreateSymbolicLink(link, file); }
                catch (IOException) when (File.Exists(link)) { } // another process made it first
            }
        }

        string target = Path.Combine(folder, LibraryFile);
        AtomicFile.WriteIfChanged(target, patched); // other processes see the old or the new file, whole
        return target;
    }

    static string CacheRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) return xdg;
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? Path.GetTempPath() : Path.Combine(home, ".cache");
    }
}
