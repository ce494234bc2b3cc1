using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmNotebooks.Platform;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LlmNotebooks.Serialization;

/// <summary>
/// Reading and writing safetensors files: an 8-byte little-endian header length, a JSON header (each tensor's dtype,
/// shape and byte range, plus an optional "__metadata__" map of strings), then the raw tensor bytes. Nothing in the
/// file is executed when it is read, which is why the course stores every checkpoint this way.
/// The tensors are written and read by TorchSharp.PyBridge; this class adds the "__metadata__" map (where the course
/// keeps a model's config and a trainer's step) and atomic writes.
/// </summary>
public static class SafetensorsFile
{
    /// <summary>The largest JSON header read (100 MB, the limit of the reference safetensors implementation).</summary>
    public const ulong MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically
    /// (<see cref="AtomicFile"/>): into a temporary file beside it, then renamed over it, so an existing file is only
    /// ever replaced by a complete one.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new IOException($"{full} is a folder; expected a file path such as {Path.Combine(full, "model.safetensors")}.");
        AtomicFile.Write(full, temp =>
        {
            Safetensors.SaveStateDict(temp, tensors.ToDictionary(p => p.Key, p => p.Value));
            if (metadata is { Count: > 0 }) AddMetadata(temp, metadata);
        });
    }

    /// <summary>
    /// Reads every tensor of the file, or only those named in <paramref name="names"/> (the caller disposes them). The
    /// tensors are read one after another straight from the file, so a file of several hundred megabytes (GPT-2 small's
    /// 548 MB) needs no second copy in memory. Errors say which file is unreadable and why.
    /// </summary>
    public static Dictionary<string, Tensor> ReadTensors(string path, IEnumerable<string>? names = null)
    {
        RequireFile(path);
        ReadHeader(path);   // a clear error for a truncated or foreign file before the reader sees it
        try { return Safetensors.LoadStateDict(path, names?.ToList()); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"{path} is not a readable safetensors file ({e.Message}). Was it written completely?", e);
        }
    }

    /// <summary>One entry of a safetensors header: the tensor's dtype as the file names it ("F32", "F16", "BF16", "I64", ...) and its shape.</summary>
    public readonly record struct TensorInfo(string DType, long[] Shape);

    /// <summary>
    /// The name, dtype and shape of every tensor in the file, read from its header alone (no tensor data is read),
    /// so a loader can check a large file before reading it.
    /// </summary>
    public static IReadOnlyDictionary<string, TensorInfo> ReadIndex(string path)
    {
        RequireFile(path);
        var result = new Dictionary<string, TensorInfo>();
        foreach (var (name, entry) in ReadHeader(path))
        {
            if (name == "__metadata__") continue;
            if (entry is not JsonObject e || e["dtype"]?.GetValueKind() != JsonValueKind.String || e["shape"] is not JsonArray shape)
                throw new InvalidDataException($"{path}: the header entry '{name}' has no dtype and shape; is this a safetensors file?");
            try { result[name] = new TensorInfo(e["dtype"]!.GetValue<string>(), shape.Select(d => d!.GetValue<long>()).ToArray()); }
            catch (Exception x) when (x is FormatException or InvalidOperationException or NullReferenceException)
            {
                throw new InvalidDataException($"{path}: the shape of '{name}' is not a list of integers ({shape.ToJsonString()}).", x);
            }
        }
        return result;
    }

    /// <summary>The "__metadata__" map of the file (empty when it has none).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        RequireFile(path);
        var header = ReadHeader(path);
        var result = new Dictionary<string, string>();
        if (header["__metadata__"] is JsonObject meta)
            foreach (var (key, value) in meta)
                result[key] = value?.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value?.ToJsonString() ?? "";
        return result;
    }

    static void RequireFile(string path)
    {
        if (Directory.Exists(path)) throw new FileNotFoundException($"{Path.GetFullPath(path)} is a folder, not a safetensors file.", path);
        if (!File.Exists(path)) throw new FileNotFoundException($"No file at {Path.GetFullPath(path)}.", path);
    }

    static JsonObject ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new InvalidDataException($"{path} is too short to be a safetensors file ({stream.Length} bytes). Was it written completely?");
        // A PyTorch file is named as one, but only where its first bytes cannot be a safetensors header length that fits.
        string? foreign = ForeignFormat(lengthBytes);
        InvalidDataException NotSafetensors(string message, Exception? inner = null) => foreign is null ? new InvalidDataException(message, inner) :
            new InvalidDataException($"{path}: this looks like a PyTorch {foreign} file (what torch.save writes: pytorch_model.bin, .pt, .pth); only safetensors is read, " +
                                     "because loading a pickle runs code from the file. Download the model's .safetensors file instead, or convert this one in Python: " +
                                     "safetensors.torch.save_file(torch.load(path, weights_only=True), \"model.safetensors\").", inner);
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (length > MaxHeaderBytes)
            throw NotSafetensors($"{path}: its safetensors header claims {length:N0} bytes, more than the {MaxHeaderBytes:N0} this reader accepts " +
                                 "(the format's own limit; real headers are a few kilobytes). The file is damaged or not a safetensors file.");
        if (length == 0 || (long)length > stream.Length - 8)
            throw NotSafetensors($"{path} is not a safetensors file: its header length ({length:N0} bytes) does not fit the file ({stream.Length:N0} bytes). Was it written completely?");
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        try
        {
            return JsonNode.Parse(bytes) as JsonObject ?? throw NotSafetensors($"{path}: the safetensors header is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw NotSafetensors($"{path} is not a safetensors file: its header is not valid JSON ({e.Message}).", e);
        }
    }

    /// <summary>
    /// "zip" for a file that starts like a zip archive ('PK\x03\x04': torch.save's format since PyTorch 1.6), "pickle" for
    /// one that starts with pickle's protocol byte 0x80 and a protocol number 2–5 (torch.save's older format), else null.
    /// A safetensors file starts with its header length instead, so these bytes are only a hint: the caller names the
    /// format only once the length has proved impossible.
    /// </summary>
    static string? ForeignFormat(ReadOnlySpan<byte> start) =>
        start[..4].SequenceEqual("PK\u0003\u0004"u8) ? "zip" : start[0] == 0x80 && start[1] is >= 2 and <= 5 ? "pickle" : null;

    /// <summary>
    /// Rewrites the header of <paramref name="path"/> (a temporary file of <see cref="Write"/>, not yet visible) with a
    /// "__metadata__" entry; the tensor bytes (and their offsets) stay as they are.
    /// </summary>
    static void AddMetadata(string path, IReadOnlyDictionary<string, string> metadata)
    {
        var header = ReadHeader(path);
        byte[] old = File.ReadAllBytes(path);
        long oldLength = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(old);
        var meta = new JsonObject();
        foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) meta[key] = value;
        header["__metadata__"] = meta;
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;                       // the spec pads the header with spaces to 8 bytes
        var newHeader = new byte[8 + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(newHeader, (ulong)padded);
        json.CopyTo(newHeader, 8);
        for (int i = 8 + json.Length; i < newHeader.Length; i++) newHeader[i] = (byte)' ';

        using var output = new FileStream(path, FileMode.Truncate, FileAccess.Write);   // atomic: AtomicFile.Write's own temporary
        output.Write(newHeader);
        output.Write(old.AsSpan((int)oldLength));
        output.Flush(flushToDisk: true);
    }
}
