using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning;

/// <summary>
/// Finding and replacing submodules by their dotted names, the names of <c>named_modules()</c> and of the state dict
/// ("h.0.attn.c_attn"). Fine-tuning uses it to swap a frozen <see cref="Linear"/> for a quantized one (QLoRA) or for a
/// layer with an adapter beside it (LoRA), without the model's code knowing.
/// <code>
/// ModuleSurgery.LinearNames(gpt)                                  // ["h.0.attn.c_attn", "h.0.attn.c_proj", "h.0.mlp.c_fc", ...]
/// var old = ModuleSurgery.Replace(gpt, "h.0.attn.c_attn", nf4);    // gpt now calls nf4 there; old is detached
/// </code>
/// In TorchSharp a module calls its children through its own fields, not through the registry that names them, so a
/// replacement must change both: the field (which must be declared with a type the new module fits, such as
/// <c>Module&lt;Tensor, Tensor&gt;</c>) and the registry entry (which keeps its place, so state-dict order is unchanged).
/// </summary>
public static class ModuleSurgery
{
    static readonly FieldInfo Submodules = typeof(nn.Module).GetField("_internal_submodules", BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new MissingFieldException("This TorchSharp version has no nn.Module._internal_submodules; ModuleSurgery needs updating for it.");

    /// <summary>The dotted names of every <see cref="Linear"/> inside <paramref name="root"/>, in registration order.</summary>
    public static IReadOnlyList<string> LinearNames(nn.Module root) =>
        root.named_modules().Where(m => m.module is Linear).Select(m => m.name).ToList();

    /// <summary>The submodule called <paramref name="name"/>; the error lists the names that do exist.</summary>
    public static nn.Module Find(nn.Module root, string name)
    {
        foreach (var (n, m) in root.named_modules())
            if (n == name && n.Length > 0) return m;
        var names = root.named_modules().Select(m => m.name).Where(n => n.Length > 0).ToList();
        throw new ArgumentException($"No submodule named '{name}'. The model has: {Guard.Shorten(names)}.", nameof(name));
    }

    /// <summary>
    /// Puts <paramref name="replacement"/> where <paramref name="name"/> was, both in the parent's field and in its
    /// registry, and returns the module that was there (now detached from the model; the caller disposes it).
    /// The replacement takes over the old module's training/eval mode.
    /// </summary>
    /// <exception cref="ArgumentException">No such submodule, or the parent's field cannot hold the replacement's type.</exception>
    public static nn.Module Replace(nn.Module root, string name, nn.Module replacement)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        var (parent, field, childName, old) = Locate(root, name, replacement.GetType());
        var registry = (IDictionary<string, nn.Module>)Submodules.GetValue(parent)!;
        field.SetValue(parent, replacement);
        registry[childName] = replacement;               // the indexer keeps the entry's position
        replacement.train(old.training);
        return old;
    }

    /// <summary>
    /// Checks, without changing anything, that <see cref="Replace"/> could put a module of type
    /// <paramref name="replacementType"/> at <paramref name="name"/>; throws the same errors it would.
    /// </summary>
    public static void RequireReplaceable(nn.Module root, string name, Type replacementType) => Locate(root, name, replacementType);

    static (nn.Module Parent, FieldInfo Field, string ChildName, nn.Module Old) Locate(nn.Module root, string name, Type replacementType)
    {
        var old = Find(root, name);
        int dot = name.LastIndexOf('.');
        string parentName = dot < 0 ? "" : name[..dot], childName = name[(dot + 1)..];
        var parent = parentName.Length == 0 ? root : Find(root, parentName);
        var field = FieldsOf(parent.GetType()).FirstOrDefault(f => ReferenceEquals(f.GetValue(parent), old))
            ?? throw new ArgumentException($"'{name}' is registered in {parent.GetType().Name}, but none of its fields holds it " +
                                           $"(a module in a list or dictionary?), so its forward would still call the old module. Replace its parent instead.", nameof(name));
        if (!field.FieldType.IsAssignableFrom(replacementType))
            throw new ArgumentException($"{parent.GetType().Name}.{field.Name} is declared as {field.FieldType.Name}, which cannot hold a {replacementType.Name}. " +
                                        $"Declare the field as Module<Tensor, Tensor> so that layers can be swapped.", nameof(name));
        return (parent, field, childName, old);
    }

    static IEnumerable<FieldInfo> FieldsOf(Type? type)
    {
        for (; type is not null && type != typeof(nn.Module); type = type.BaseType)
            foreach (var f in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                if (typeof(nn.Module).IsAssignableFrom(f.FieldType) || f.FieldType.IsAssignableFrom(typeof(nn.Module)))
                    yield return f;
    }
}
