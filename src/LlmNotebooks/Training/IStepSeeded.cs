namespace LlmNotebooks.Training;

/// <summary>
/// A module that draws random numbers of its own while training (for example LoRA's dropout, which has a generator of
/// its own instead of torch's global one). The <see cref="Trainer"/> calls <see cref="SeedStep"/> before every step with
/// a seed made from (<see cref="TrainerOptions.Seed"/>, step), so that each step's random numbers depend only on the step:
/// a run resumed from a checkpoint then draws exactly what the uninterrupted run drew.
/// </summary>
public interface IStepSeeded
{
    /// <summary>Re-seeds the module's own random numbers for the step about to run.</summary>
    void SeedStep(long stepSeed);
}
