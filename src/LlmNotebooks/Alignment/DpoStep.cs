namespace LlmNotebooks.Alignment;

/// <summary>What one DPO training step saw (<see cref="DpoTask.History"/>), before its update.</summary>
/// <param name="Step">The step's number (0-based).</param>
/// <param name="Loss">The batch's mean DPO loss.</param>
/// <param name="Margin">The mean implicit reward margin β·[(log π_c − log π_ref,c) − (log π_r − log π_ref,r)].</param>
/// <param name="Accuracy">The fraction of the batch's pairs with a positive margin.</param>
/// <param name="ChosenReward">The mean implicit reward β·(log π_c − log π_ref,c) of the chosen answers.</param>
/// <param name="RejectedReward">The same for the rejected answers.</param>
public sealed record DpoStep(int Step, double Loss, double Margin, double Accuracy, double ChosenReward, double RejectedReward);
