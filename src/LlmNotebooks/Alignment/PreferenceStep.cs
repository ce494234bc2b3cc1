namespace LlmNotebooks.Alignment;

/// <summary>What one training step of a reward model saw (<see cref="PreferenceTask.History"/>).</summary>
/// <param name="Step">The step's number (0-based).</param>
/// <param name="Loss">The batch's mean Bradley–Terry loss −log σ(r_chosen − r_rejected), before the update.</param>
/// <param name="Accuracy">The fraction of the batch's pairs whose chosen response got the higher reward, before the update.</param>
public sealed record PreferenceStep(int Step, double Loss, double Accuracy);
