using static TorchSharp.torch;

namespace LlmNotebooks.Tensors;

/// <summary>
/// Training mode for a while: <c>using (model.TrainScope()) { … }</c> switches dropout on (train mode) and puts the
/// module's mode back as it was when the scope ends, even after an exception. Gradient tracking is left as it is. The
/// Trainer and the policy updates of PPO and GRPO train inside it, so a model handed over in eval mode comes back in eval
/// mode.
/// </summary>
public static class TrainScopeExtensions
{
    /// <summary>Train mode until the returned scope is disposed; the module's mode is then restored.</summary>
    public static IDisposable TrainScope(this nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return new Scope(module);
    }

    sealed class Scope : IDisposable
    {
        readonly nn.Module _module;
        readonly bool _wasTraining;
        bool _done;

        public Scope(nn.Module module)
        {
            _module = module;
            _wasTraining = module.training;
            module.train();
        }

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _module.train(_wasTraining);
        }
    }
}
