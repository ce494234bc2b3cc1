using LlmNotebooks.Tensors;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// Model weights on disk in the safetensors format (a JSON header and raw tensors: no code runs when loading).
/// Saving is atomic: the file is written beside the target and renamed over it, so a crash never leaves a half file
/// and an existing checkpoint is only replaced by a complete one. Loading checks every name and shape first.
/// </summary>
public static class Checkpoint
{
    /// <summary>Writes the module's state (parameters and persistent buffers) to <paramref name="path"/>.</summary>
    public static void Save(nn.Module module, string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + $".{Environment.ProcessId}.tmp";
        try
        {
            Safetensors.SaveStateDict(temp, module.state_dict());
            File.Move(temp, full, overwrite: true);
        }
        finally { if (File.Exists(temp)) File.Delete(temp); }
    }

    /// <summary>
    /// Loads weights saved by <see cref="Save"/> into <paramref name="module"/>, after checking that the file exists, is
    /// a readable safetensors file, and holds exactly the module's tensors with the same shapes.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at the path.</exception>
    /// <exception cref="InvalidDataException">Unreadable file, or names/shapes that do not match the module.</exception>
    public static void Load(nn.Module module, string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No checkpoint at {path}.", path);
        Dictionary<string, Tensor> loaded;
        try { loaded = Safetensors.LoadStateDict(path); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"{path} is not a readable safetensors checkpoint ({e.Message}). Was it written completely, by Checkpoint.Save?", e);
        }
        try
        {
            var expected = module.state_dict();
            var missing = expected.Keys.Except(loaded.Keys).ToList();
            var unexpected = loaded.Keys.Except(expected.Keys).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new InvalidDataException($"{path} does not match this model: missing [{string.Join(", ", missing.Take(5))}], " +
                                               $"unexpected [{string.Join(", ", unexpected.Take(5))}]. Was it saved from a different architecture or config?");
            foreach (var (name, tensor) in expected)
                if (!tensor.shape.SequenceEqual(loaded[name].shape) || tensor.dtype != loaded[name].dtype)
                    throw new InvalidDataException($"{path}: '{name}' is {loaded[name].dtype} {ShapeGuard.Format(loaded[name].shape)} in the file " +
                                                   $"but {tensor.dtype} {ShapeGuard.Format(tensor.shape)} in the model. Was it saved with a different config?");
            using var _ = no_grad();
            foreach (var (name, tensor) in expected) tensor.copy_(loaded[name]);
        }
        finally { foreach (var t in loaded.Values) t.Dispose(); }
    }
}
