using LlmNotebooks.Platform;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Platform;

public class TorchNativeLoaderTests
{
    [Fact]
    public void A_real_TorchSharp_computation_runs()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } });
        var b = tensor(new float[,] { { 7, 8, 9 }, { 10, 11, 12 } });
        var c = matmul(a, b);
        Assert.Equal(new long[] { 3, 3 }, c.shape);
        Assert.Equal(new float[] { 27, 30, 33, 61, 68, 75, 95, 106, 117 }, c.data<float>().ToArray());
        Assert.Equal(3f, tensor(9f).sqrt().item<float>());
    }

    [Fact]
    public void Ensure_loadable_is_idempotent()
    {
        string? first = TorchNativeLoader.EnsureLoadable();
        string? second = TorchNativeLoader.EnsureLoadable();
        Assert.Equal(first, second);
        if (first is not null) Assert.Contains("original is untouched", first);
    }

    [Fact]
    public void Only_missing_libstdcxx_versions_are_patched()
    {
        const string cxx = "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /x/libLibTorchSharp.so)";
        const string glibc = "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /x/libLibTorchSharp.so)";
        Assert.Equal(["GLIBCXX_3.4.32"], TorchNativeLoader.PatchableVersions(cxx));
        Assert.Empty(TorchNativeLoader.PatchableVersions(glibc));                 // real functions missing: do not hide it
        Assert.Empty(TorchNativeLoader.PatchableVersions(cxx + "\n" + glibc));
        Assert.Empty(TorchNativeLoader.PatchableVersions("libtorch.so: cannot open shared object file"));
    }
}
