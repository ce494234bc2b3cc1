using System.Reflection;
using System.Runtime.Loader;

namespace LlmNotebooks.Notebook;

/// <summary>
/// Plotly.NET 6 is compiled against FSharp.Core 10.1, while the notebook kernel (dotnet-interactive, which hosts an
/// F# kernel) has already loaded FSharp.Core 10.0: without help, the first chart fails with FileNotFoundException.
/// This answers the kernel's failed request for FSharp.Core with the copy already loaded, which Plotly.NET runs on.
/// It must be installed before Plotly.NET is first loaded; elsewhere (tests, console programs) it is never asked.
/// </summary>
public static class FSharpCoreRedirect
{
    static int _installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1) return;
        AssemblyLoadContext.Default.Resolving += Resolve;
    }

    static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name)
    {
        if (name.Name != "FSharp.Core") return null;
        return AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "FSharp.Core");
    }
}
