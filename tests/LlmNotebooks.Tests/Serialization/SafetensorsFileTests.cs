using LlmNotebooks.Serialization;
using static TorchSharp.torch;
using static LlmNotebooks.Tests.Training.TensorAssert;

namespace LlmNotebooks.Tests.Serialization;

public class SafetensorsFileTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-st-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Metadata_and_tensors_round_trip_and_writes_replace_whole_files()
    {
        string path = Path.Combine(_folder, "a.safetensors");
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor> { ["x"] = arange(10, dtype: float32), ["y"] = ones(2, 3, dtype: int64) };
        SafetensorsFile.Write(path, tensors, new Dictionary<string, string> { ["note"] = "привет", ["n"] = "3" });
        var meta = SafetensorsFile.ReadMetadata(path);
        Assert.Equal("привет", meta["note"]);
        Assert.Equal("3", meta["n"]);
        var back = SafetensorsFile.ReadTensors(path);
        Assert.True(Same(back["x"], tensors["x"]));
        Assert.True(Same(back["y"], tensors["y"]));
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp"));
        SafetensorsFile.Write(path, new Dictionary<string, Tensor> { ["z"] = zeros(1) });
        Assert.Empty(SafetensorsFile.ReadMetadata(path));
    }

    [Fact]
    public void Foreign_and_truncated_files_get_clear_errors()
    {
        string path = Path.Combine(_folder, "bad.safetensors");
        File.WriteAllText(path, "not a tensor file at all");
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.ReadMetadata(path));
        Assert.Contains("not a safetensors file", e.Message);
        File.WriteAllBytes(path, [1, 2]);
        Assert.Contains("too short", Assert.Throws<InvalidDataException>(() => SafetensorsFile.ReadTensors(path)).Message);
    }

    [Theory]
    [InlineData("zip", new byte[] { 0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x08, 0x08 })]       // torch.save since PyTorch 1.6
    [InlineData("zip", new byte[] { 0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00 })]       // its top bytes zero: a length that does not fit
    [InlineData("pickle", new byte[] { 0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46 })]    // the legacy format: protocol 2, then torch's magic number
    public void A_PyTorch_file_is_named_as_one_instead_of_a_header_size(string format, byte[] start)
    {
        string path = Path.Combine(_folder, "pytorch_model.bin");
        File.WriteAllBytes(path, [.. start, .. new byte[4096]]);
        string expected = $"{path}: this looks like a PyTorch {format} file (what torch.save writes: pytorch_model.bin, .pt, .pth); only safetensors is read, " +
                          "because loading a pickle runs code from the file. Download the model's .safetensors file instead, or convert this one in Python: " +
                          "safetensors.torch.save_file(torch.load(path, weights_only=True), \"model.safetensors\").";
        Assert.Equal(expected, Assert.Throws<InvalidDataException>(() => SafetensorsFile.ReadTensors(path)).Message);
        Assert.Equal(expected, Assert.Throws<InvalidDataException>(() => SafetensorsFile.ReadIndex(path)).Message);
    }

    [Fact]
    public void A_safetensors_file_whose_length_starts_like_a_pickle_still_reads()
    {
        // A 640-byte header begins 0x80 0x02 (little-endian 0x280): a hint of pickle, but a length that fits, so it is read.
        string path = Path.Combine(_folder, "fits.safetensors");
        string json = "{\"__metadata__\":{\"k\":\"v\"}}";
        var header = System.Text.Encoding.UTF8.GetBytes(json.PadRight(640));
        File.WriteAllBytes(path, [0x80, 0x02, 0, 0, 0, 0, 0, 0, .. header]);
        Assert.Equal("v", SafetensorsFile.ReadMetadata(path)["k"]);
    }
}
