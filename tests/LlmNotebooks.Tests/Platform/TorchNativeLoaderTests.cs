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

public class NoHiddenEffectsTests
{
    /// <summary>The kind, not only the example: nothing in the library runs just because one of its types is touched.</summary>
    [Fact]
    public void The_library_has_no_module_initializer()
    {
        var assembly = typeof(LlmNotebooks.Platform.TorchNativeLoader).Assembly;
        var initializers = assembly.GetTypes()
            .SelectMany(t => t.GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly))
            .Where(m => m.IsDefined(typeof(System.Runtime.CompilerServices.ModuleInitializerAttribute), false))
            .Select(m => $"{m.DeclaringType}.{m.Name}").ToList();
        Assert.Empty(initializers);
    }

    [Fact]
    public void TorchSharps_load_failure_is_explained_with_the_call_that_fixes_it()
    {
        var shipped = new NotSupportedException("This application or script uses TorchSharp but doesn't contain a reference to libtorch-cpu-linux-x64, Version=2.10.0.1.\nTrace: …");
        foreach (var e in new Exception[] { shipped, new TypeInitializationException("TorchSharp.torch", shipped), new InvalidOperationException("outer", shipped) })
        {
            string? hint = TorchNativeLoader.Explain(e);
            Assert.NotNull(hint);
            Assert.Contains("TorchNativeLoader.EnsureLoadable()", hint);
            Assert.Contains("libtorch-cpu-linux-x64", hint);
        }
        Assert.Null(TorchNativeLoader.Explain(new InvalidOperationException("something else")));
        Assert.Null(TorchNativeLoader.Explain(new NotSupportedException("not torch at all")));
    }

    [Fact]
    public void The_assembly_unifier_lives_in_Platform_and_unifies_FSharp_Core_and_TorchSharp()
    {
        Assert.Equal("LlmNotebooks.Platform", typeof(AssemblyUnifier).Namespace);
        Assert.Equal(new[] { "FSharp.Core", "TorchSharp" }, AssemblyUnifier.Names);
        // The Notebook ↔ Platform cycle is gone: nothing in Platform refers to the Notebook namespace.
        var platform = Path.Combine(TestSetup.RepoRoot, "src", "LlmNotebooks", "Platform");
        Assert.DoesNotContain(Directory.GetFiles(platform, "*.cs"), f => File.ReadAllText(f).Contains("LlmNotebooks.Notebook") || File.ReadAllText(f).Contains("Notebook."));
    }
}
