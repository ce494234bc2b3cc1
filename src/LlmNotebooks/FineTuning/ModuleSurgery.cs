using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning;

/// <summary>
/// Finding a model's layers by name and swapping one for another: the "surgery" behind LoRA and QLoRA, which replace a
/// frozen Linear with a module that wraps it. A name is the dotted path of <c>named_modules()</c>, e.g.
/// "h.0.attn.c_attn" for the fused query/key/value layer of the first block of a <see cref="Transformer.Gpt"/>.
/// <para>
/// In PyTorch one writes <c>setattr(parent, "c_attn", new_layer)</c>. A TorchSharp module keeps its children twice: in a
/// C# field that <c>forward</c> calls, and in the registry that <c>named_modules</c>, <c>parameters</c> and
/// <c>state_dict</c> read. <see cref="Replace"/> updates both. The parent's field must be able to hold the replacement:
/// the course's <see cref="Transformer.CausalSelfAttention"/> and <see cref="Transformer.FeedForward"/> declare their
/// Linear layers as <c>Module&lt;Tensor, Tensor&gt;</c> for this reason.
/// </para>
/// </summary>
public static class ModuleSurgery
{
    /// <summary>The module at a dotted path ("" is the root itself); the error lists the names that exist.</summary>
    public static nn.Module Find(nn.Module root, string name)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0) return root;
        foreach (var (n, m) in root.named_modules())
            if (n == name) return m;
        throw new ArgumentException($"The model has no module named '{name}'. Its modules are: {string.Join(", ", root.named_modules().Select(p => p.name).Where(n => n.Length > 0))}.", nameof(name));
    }

    /// <summary>
    /// Puts <paramref name="replacement"/> where the module named <paramref name="name"/> was, and returns the old module
    /// (which is not disposed: a wrapper usually keeps it). Afterwards the parent's forward calls the replacement, and
    /// the replacement's parameters appear under the same name prefix ("h.0.attn.c_attn.…").
    /// </summary>
    /// <exception cref="ArgumentException">No such module, or the parent's field cannot hold the replacement's type.</exception>
    public static nn.Module Replace(nn.Module root, string name, nn.Module replacement)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("Name the module to replace, e.g. \"h.0.attn.c_attn\"; the root itself cannot be replaced.", nameof(name));
        int dot = name.LastIndexOf('.');
        var parent = Find(root, dot < 0 ? "" : name[..dot]);
        string child = name[(dot + 1)..];
        var old = Find(root, name);

        // 1. The C# field the parent's forward reads: the instance field (declared anywhere in its class hierarchy) that
        //    holds the old module.
        FieldInfo? field = null;
        for (var type = parent.GetType(); type is not null && field is null; type = type.BaseType)
            field = type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                        .FirstOrDefault(f => ReferenceEquals(f.GetValue(parent), old));
        if (field is null)
            throw new ArgumentException(
                $"'{name}' is not held by a field of its parent {parent.GetType().Name} (a list or dictionary module keeps it), so the parent's " +
                "forward would go on calling the old module. Only layers that a module keeps in a field of its own can be replaced.", nameof(name));
        if (!field.FieldType.IsInstanceOfType(replacement))
            throw new ArgumentException(
                $"'{name}' is held by the field {parent.GetType().Name}.{field.Name} of type {field.FieldType.Name}, which cannot hold a {replacement.GetType().Name}. " +
                $"Declare that field as Module<Tensor, Tensor> (as CausalSelfAttention and FeedForward do) so fine-tuning can swap the layer.", nameof(replacement));

        // 2. The registry behind named_modules / parameters / state_dict: TorchSharp's protected ordered dictionary of
        //    children, updated in place so the order of the names does not change.
        var registry = typeof(nn.Module).GetField("_internal_submodules", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(parent)
                       as TorchSharp.Utils.OrderedDict<string, nn.Module>
                       ?? throw new NotSupportedException($"This TorchSharp version keeps a module's children differently than 0.107 did; {nameof(ModuleSurgery)} needs updating.");
        if (!registry.ContainsKey(child))
            throw new ArgumentException($"'{name}' is not a registered child of its parent {parent.GetType().Name}; it cannot be replaced by name.", nameof(name));
        registry[child] = replacement;
        field.SetValue(parent, replacement);
        return old;
    }
}
