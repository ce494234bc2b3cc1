namespace LlmNotebooks.Alignment.Assistant;

/// <summary>One sampled answer, judged.</summary>
/// <param name="Question">The question it answers.</param>
/// <param name="Text">The answer's text (without the end token).</param>
/// <param name="Finished">Whether the model ended it with the end token.</param>
/// <param name="TrueScore">The hidden <see cref="HumanPreference"/> score.</param>
/// <param name="RewardScore">The reward model's score.</param>
/// <param name="Kl">log π(answer) − log π_ref(answer): this sample's estimate of KL(π‖π_ref), in nats.</param>
public sealed record AnswerSample(AssistantQuestion Question, string Text, bool Finished, double TrueScore, double RewardScore, double Kl);
