using System.Runtime.CompilerServices;
using LlmNotebooks.Platform;

[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)] // 2 cores; kernels and console capture do not share well

namespace LlmNotebooks.Tests;

static class TestSetup
{
    /// <summary>
    /// The test host loads TorchSharp through the same fix as the notebooks (a no-op where not needed), and unifies
    /// FSharp.Core and TorchSharp as Course.Setup does: the library itself does neither when it is merely used.
    /// </summary>
    [ModuleInitializer]
    internal static void Init()
    {
        AssemblyUnifier.Install();
        TorchNativeLoader.EnsureLoadable();
    }

    /// <summary>The repository root, found from the test binary's folder.</summary>
    public static string RepoRoot { get; } =
        Checkout.FindRoot(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException("The tests must run inside the course checkout (LlmNotebooks.sln not found).");
}
