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
}
