namespace LlmNotebooks.Classic;

/// <summary>
/// One pass of <see cref="Perceptron.Train"/> over the training set: how many examples the perceptron got wrong during
/// the pass (each one triggered an update), and the weights and bias it ended the pass with.
/// </summary>
/// <param name="Epoch">1-based number of the pass.</param>
/// <param name="Mistakes">Examples misclassified during the pass; 0 means every example was already right.</param>
/// <param name="Weights">The weights after the pass (a copy).</param>
/// <param name="Bias">The bias after the pass.</param>
public sealed record PerceptronEpoch(int Epoch, int Mistakes, IReadOnlyList<double> Weights, double Bias);
