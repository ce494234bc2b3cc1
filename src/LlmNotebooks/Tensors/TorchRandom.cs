using static TorchSharp.torch;

namespace LlmNotebooks.Tensors;

/// <summary>
/// Seeding torch's global random generator for a while, then putting it back as it was.
/// <para>
/// Some TorchSharp calls can only draw from the global generator: dropout (<c>nn.Dropout</c> and
/// <c>functional.dropout</c> take no <see cref="Generator"/> in TorchSharp 0.107) and the <c>nn.init</c> functions a
/// model's constructor uses. A library call that needs those draws to be repeatable seeds the global generator inside
/// <c>using (TorchRandom.Seeded(seed))</c>: the draws inside are fixed by the seed, and when the scope ends the global
/// generator is exactly where the caller left it, so random numbers drawn in a notebook cell afterwards do not depend
/// on the call. (While the scope is open, another thread drawing from the global generator would see the seeded one.)
/// </para>
/// <code>
/// using (TorchRandom.Seeded(1234)) model = new Gpt(config);   // the same initial weights every time
/// </code>
/// </summary>
public static class TorchRandom
{
    /// <summary>Seeds the global generator with <paramref name="seed"/> until the returned scope is disposed, which restores its previous state.</summary>
    public static IDisposable Seeded(long seed) => new Scope(seed);

    sealed class Scope : IDisposable
    {
        Tensor? _saved;

        public Scope(long seed)
        {
            using var global = Generator.Default;                         // a new handle on the default generator
            _saved = global.get_state().DetachFromDisposeScope();
            global.manual_seed(seed);                                     // what torch.manual_seed does
        }

        public void Dispose()
        {
            if (_saved is null) return;
            using (var global = Generator.Default) global.set_state(_saved);
            _saved.Dispose();
            _saved = null;
        }
    }
}
