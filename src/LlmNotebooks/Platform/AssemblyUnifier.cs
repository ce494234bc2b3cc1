using System.Reflection;
using System.Runtime.Loader;

namespace LlmNotebooks.Platform;

/// <summary>
/// Unifies FSharp.Core and TorchSharp: makes the process reuse the copy already loaded when a dependency asks for
/// another version of either. <see cref="Install"/> is process-wide (a handler on the default AssemblyLoadContext's
/// Resolving event) and is called explicitly: by <c>Course.Setup</c> in a notebook, and by the tests and benchmarks.
/// Two cases need it: Plotly.NET 6 is compiled against FSharp.Core 10.1 while the kernel (dotnet-interactive, which
/// hosts an F# kernel) has already loaded FSharp.Core 10.0, so the first chart would fail with FileNotFoundException;
/// and TorchSharp.PyBridge (safetensors) is compiled against an older TorchSharp, which the kernel would otherwise load
/// a second time, so that its Tensor is a different type from ours and every checkpoint call fails with
/// MissingMethodException. It must be installed before either is first loaded; elsewhere (tests, console programs)
/// normal binding already unifies the versions and the handler is never asked.
/// </summary>
public static class AssemblyUnifier
{
    static readonly string[] Unified = ["FSharp.Core", "TorchSharp"];
    static int _installed;

    /// <summary>The assemblies that are unified (whatever version is asked for, the loaded one is given).</summary>
    public static IReadOnlyList<string> Names => Unified;

    /// <summary>Installs the handler (once; later calls do nothing). Call it before Plotly.NET or TorchSharp.PyBridge is first loaded.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1) return;
        AssemblyLoadContext.Default.Resolving += Resolve;
        var own = AssemblyLoadContext.GetLoadContext(typeof(AssemblyUnifier).Assembly);
        if (own is not null && own != AssemblyLoadContext.Default) own.Resolving += Resolve;
    }

    static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name)
    {
        if (!Unified.Contains(name.Name)) return null;
        // The first copy loaded is the one this library (and the notebook's own code) is bound to.
        return AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == name.Name);
    }
}
