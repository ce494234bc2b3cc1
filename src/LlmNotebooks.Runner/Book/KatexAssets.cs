using System.Formats.Tar;
using System.IO.Compression;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace LlmNotebooks.Runner.Book;

/// <summary>
/// KaTeX, which draws the book's math in the browser, as local files (never a CDN). Its version and the npm registry's
/// integrity hash of its tarball are pinned in Directory.Packages.props (KatexVersion, KatexIntegrity) and reach this
/// assembly as AssemblyMetadata. The tarball is downloaded once from the npm registry, checked against that hash, and
/// the few files the book needs (katex.min.js, contrib/auto-render.min.js, katex.min.css, fonts/*.woff2, LICENSE) are
/// kept in the user's cache folder (~/.cache/llm-notebooks/katex-VERSION on Linux), written atomically.
/// </summary>
public sealed class KatexAssets
{
    /// <summary>The files of the package's dist/ folder the book uses (besides fonts/*.woff2), relative to it.</summary>
    public static readonly IReadOnlyList<string> RequiredFiles = ["katex.min.js", "contrib/auto-render.min.js", "katex.min.css"];

    const long MaxTarballBytes = 32 << 20;

    readonly HttpMessageHandler? _handler;

    /// <param name="version">The npm package version, e.g. 0.16.47.</param>
    /// <param name="integrity">The npm registry's dist.integrity of that version: "sha512-" and the base64 hash.</param>
    /// <param name="cacheRoot">The folder that holds katex-VERSION/ (default: the user's cache folder/llm-notebooks).</param>
    /// <param name="handler">The HTTP handler to download with (tests pass their own); default the system's.</param>
    public KatexAssets(string version, string integrity, string? cacheRoot = null, HttpMessageHandler? handler = null)
    {
        if (string.IsNullOrWhiteSpace(version)) throw new ArgumentException("KaTeX's version is empty: set KatexVersion in Directory.Packages.props.", nameof(version));
        Version = version;
        Integrity = integrity;
        CacheRoot = cacheRoot ?? DefaultCacheRoot();
        _handler = handler;
    }

    /// <summary>The version pinned in Directory.Packages.props (through this assembly's metadata).</summary>
    public static KatexAssets Pinned(string? cacheRoot = null) => new(Metadata("KatexVersion"), Metadata("KatexIntegrity"), cacheRoot);

    public string Version { get; }
    public string Integrity { get; }
    public string CacheRoot { get; }

    /// <summary>The cache folder of this version: it exists only when complete (it is renamed into place).</summary>
    public string CacheFolder => Path.Combine(CacheRoot, $"katex-{Version}");

    /// <summary>The npm registry's address of the tarball.</summary>
    public Uri TarballUri => new($"https://registry.npmjs.org/katex/-/katex-{Version}.tgz");

    /// <summary>
    /// The cache folder holding the files, downloading them first if needed; null if they cannot be had (offline,
    /// a hash mismatch), after writing one warning line to <paramref name="log"/> that says why.
    /// </summary>
    public async Task<string?> EnsureAsync(TextWriter log, CancellationToken cancel = default)
    {
        if (IsComplete(CacheFolder)) return CacheFolder;
        try
        {
            byte[] tarball = await DownloadAsync(cancel).ConfigureAwait(false);
            Verify(tarball);
            Unpack(tarball);
            return CacheFolder;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or InvalidDataException
                                      or UnauthorizedAccessException or KatexIntegrityException && !cancel.IsCancellationRequested)
        {
            string why = e is TaskCanceledException ? "the download timed out" : OneLine(e.Message);
            log.WriteLine($"warning: KaTeX {Version} is not available ({why}), so the book's math is left as TeX source; " +
                          $"re-run online to draw it (downloaded once from the npm registry, then cached in {CacheFolder}).");
            return null;
        }
    }

    /// <summary>Every file of a complete cache folder, relative to it ('/' separators), in ordinal order.</summary>
    public static IReadOnlyList<string> Files(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal).ToList();

    static bool IsComplete(string folder) =>
        Directory.Exists(folder) && RequiredFiles.All(f => File.Exists(Path.Combine(folder, f)))
        && Directory.Exists(Path.Combine(folder, "fonts")) && Directory.GetFiles(Path.Combine(folder, "fonts"), "*.woff2").Length > 0;

    async Task<byte[]> DownloadAsync(CancellationToken cancel)
    {
        using var http = _handler is null ? new HttpClient() : new HttpClient(_handler, disposeHandler: false);
        http.Timeout = TimeSpan.FromSeconds(60);
        using var response = await http.GetAsync(TarballUri, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{TarballUri} answered {(int)response.StatusCode} {response.ReasonPhrase}");
        if (response.Content.Headers.ContentLength > MaxTarballBytes)
            throw new InvalidDataException($"{TarballUri} is larger than {MaxTarballBytes >> 20} MB");
        await using var body = await response.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer, cancel).ConfigureAwait(false);
        if (buffer.Length > MaxTarballBytes) throw new InvalidDataException($"{TarballUri} is larger than {MaxTarballBytes >> 20} MB");
        return buffer.ToArray();
    }

    /// <summary>Checks the tarball against the pinned npm integrity (only sha512 is accepted).</summary>
    /// <exception cref="KatexIntegrityException">It does not match, or the pin is not a sha512 integrity.</exception>
    public void Verify(byte[] tarball)
    {
        const string prefix = "sha512-";
        if (!Integrity.StartsWith(prefix, StringComparison.Ordinal))
            throw new KatexIntegrityException($"the pinned KatexIntegrity '{Integrity}' is not an npm sha512 integrity (\"sha512-\" + base64)");
        string actual = Convert.ToBase64String(SHA512.HashData(tarball));
        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(actual), System.Text.Encoding.ASCII.GetBytes(Integrity[prefix.Length..])))
            throw new KatexIntegrityException($"the downloaded tarball's hash sha512-{actual} differs from the pinned {Integrity}; nothing was kept");
    }

    /// <summary>Unpacks the needed files into a temporary folder, then renames it to <see cref="CacheFolder"/>.</summary>
    void Unpack(byte[] tarball)
    {
        Directory.CreateDirectory(CacheRoot);
        string temp = Path.Combine(CacheRoot, $".katex-{Version}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var gzip = new GZipStream(new MemoryStream(tarball), CompressionMode.Decompress))
            using (var tar = new TarReader(gzip))
            {
                while (tar.GetNextEntry() is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                    string? relative = Wanted(entry.Name);
                    if (relative is null) continue;
                    string target = Path.Combine(temp, relative.Replace('/', Path.DirectorySeparatorChar));
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    using var file = File.Create(target);   // atomic: inside a temporary folder, renamed into place whole
                    entry.DataStream.CopyTo(file);
                }
            }
            if (!IsComplete(temp))
                throw new InvalidDataException($"the KaTeX {Version} tarball lacks some of {string.Join(", ", RequiredFiles)}, fonts/*.woff2");
            try { Directory.Move(temp, CacheFolder); }
            catch (IOException) when (IsComplete(CacheFolder)) { } // another process got there first: its copy is as good
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>The cache path of a tarball entry the book needs (only exact, known names: no path tricks), else null.</summary>
    static string? Wanted(string entryName)
    {
        string name = entryName.Replace('\\', '/');
        if (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
        if (name == "package/LICENSE") return "LICENSE";
        const string dist = "package/dist/";
        if (!name.StartsWith(dist, StringComparison.Ordinal)) return null;
        string rest = name[dist.Length..];
        if (RequiredFiles.Contains(rest)) return rest;
        if (rest.StartsWith("fonts/", StringComparison.Ordinal) && rest.EndsWith(".woff2", StringComparison.Ordinal)
            && rest.IndexOf('/', "fonts/".Length) < 0 && !rest.Contains("..", StringComparison.Ordinal))
            return rest;
        return null;
    }

    /// <summary>$XDG_CACHE_HOME, else ~/.cache on Linux, else the local application data folder; then llm-notebooks.</summary>
    public static string DefaultCacheRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root;
        if (!string.IsNullOrEmpty(xdg)) root = xdg;
        else if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home)
            root = Path.Combine(home, ".cache");
        else if (Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData) is { Length: > 0 } local)
            root = local;
        else root = Path.GetTempPath();
        return Path.Combine(root, "llm-notebooks");
    }

    static string Metadata(string key) =>
        typeof(KatexAssets).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The runner was built without the {key} metadata (Directory.Packages.props, LlmNotebooks.Runner.csproj).");

    static string OneLine(string text) => string.Join(" ", text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim().TrimEnd('.');
}

/// <summary>The downloaded KaTeX tarball is not the pinned one.</summary>
public sealed class KatexIntegrityException(string message) : Exception(message);
