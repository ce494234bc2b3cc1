using static TorchSharp.torch;

namespace LlmNotebooks.Tensors;

/// <summary>
/// Evaluation mode for a while: <c>using (model.EvalScope()) { … }</c> switches dropout off (eval mode) and gradient
/// tracking off (no_grad), and puts both back as they were when the scope ends, even after an exception.
/// </summary>
public static class EvalScopeExtensions
{
    /// <summary>Eval mode and no gradients until the returned scope is disposed; the module's training mode is then restored.</summary>
    public static IDisposable EvalScope(this nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return new Scope(module);
    }

    sealed class Scope : IDisposable
    {
        readonly nn.Module _module;
        readonly bool _wasTraining;
        IDisposable? _noGrad;

        public Scope(nn.Module module)
        {
            _module = module;
            _wasTraining = module.training;
            module.eval();
            _noGrad = no_grad();
        }

        public void Dispose()
        {
            if (_noGrad is null) return;
            _noGrad.Dispose();
            _noGrad = null;
            if (_wasTraining) _module.train();
        }
    }
}
