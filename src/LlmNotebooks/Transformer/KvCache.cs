using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Transformer;

/// <summary>
/// The key/value cache of a decoder-only model, for generation. A causal model's keys and values at earlier positions
/// never change when a token is appended (no token sees a later one), so they can be kept instead of recomputed: each
/// layer stores them here, (B, H, Capacity, hs), and a forward pass over only the new tokens attends over everything
/// stored so far. Writing n tokens after a prompt then costs one token pass per new token instead of about n²/2.
/// <code>
/// using var cache = gpt.NewCache(batch: 1);
/// var logits = gpt.forward(prompt, cache);              // prefill: (1, T) → (1, T, V); the cache now holds T positions
/// logits = gpt.forward(next, cache);                    // one step: (1, 1) → (1, 1, V), the same numbers as a full forward
/// </code>
/// The cache is for inference: it stores detached keys and values (no gradient flows through it), and each layer's
/// tensors are allocated at its first write, in the dtype and on the device of that layer's keys. Memory:
/// 2 · layers · B · H · Capacity · hs · bytes per number (<see cref="Bytes"/>), allocated in full up front.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] _keys, _values;
    long _written;                        // positions written in the current forward pass (the same in every layer)

    /// <summary>Layers of the model the cache belongs to.</summary>
    public int Layers { get; }
    /// <summary>B: the number of sequences decoded together.</summary>
    public long Batch { get; }
    /// <summary>The most positions the cache holds (the model's context window).</summary>
    public long Capacity { get; }
    /// <summary>Positions filled so far: the next token fed goes to this position.</summary>
    public long Position { get; private set; }

    /// <param name="layers">One slot per transformer block.</param>
    /// <param name="batch">Sequences decoded together (every forward pass through the cache must have this batch size).</param>
    /// <param name="capacity">The most positions it holds (a GPT's BlockSize).</param>
    public KvCache(int layers, long batch, long capacity)
    {
        Guard.AtLeast(layers, 1, nameof(layers));
        Guard.AtLeast(batch, 1, nameof(batch));
        Guard.AtLeast(capacity, 1, nameof(capacity));
        Layers = layers; Batch = batch; Capacity = capacity;
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
    }

    /// <summary>Bytes the cache holds now (0 before the first forward pass): 2 · layers · B · H · Capacity · hs · element size.</summary>
    public long Bytes => _keys.Concat(_values).Sum(t => t is null ? 0 : t.NumberOfElements * t.ElementSize);

    /// <summary>The stored keys of one layer, (B, H, Position, hs): a view, valid until the cache changes.</summary>
    public Tensor Keys(int layer) => Stored(_keys, layer);

    /// <summary>The stored values of one layer, (B, H, Position, hs): a view, valid until the cache changes.</summary>
    public Tensor Values(int layer) => Stored(_values, layer);

    /// <summary>Forgets every position (the tensors stay allocated for reuse): the next forward pass starts at position 0.</summary>
    public void Reset() { Position = 0; _written = 0; }

    /// <summary>
    /// Checks that a forward pass of <paramref name="batch"/> × <paramref name="length"/> new tokens fits; called by the model
    /// before its first layer runs, so a refused pass changes nothing.
    /// </summary>
    internal void RequireRoom(long batch, long length)
    {
        if (batch != Batch)
            throw new ArgumentException($"This cache was made for a batch of {Batch} sequences, but the forward pass has {batch}. Make a cache per batch: model.NewCache({batch}).");
        if (Position + length > Capacity)
            throw new ArgumentException($"The cache holds {Position} of {Capacity} positions, so {length} more tokens do not fit: the model has no position for them. " +
                                        "Reset the cache and feed the last tokens again (a sliding window), or stop generating.");
        _written = 0;
    }

    /// <summary>
    /// Stores one layer's keys and values for the new positions, k and v (B, H, T, hs), and returns that layer's keys and
    /// values for every position so far, (B, H, Position + T, hs).
    /// </summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        if (layer < 0 || layer >= Layers) throw new ArgumentOutOfRangeException(nameof(layer), $"Layer {layer} is outside the cache's [0, {Layers - 1}].");
        long T = k.shape[2];
        if (_written != 0 && _written != T)
            throw new InvalidOperationException($"Layer {layer} appends {T} positions but an earlier layer of the same pass appended {_written}.");
        _written = T;
        using (no_grad())
        {
            Allocate(_keys, layer, k).narrow(2, Position, T).copy_(k);
            Allocate(_values, layer, v).narrow(2, Position, T).copy_(v);
        }
        return (_keys[layer]!.narrow(2, 0, Position + T), _values[layer]!.narrow(2, 0, Position + T));
    }

    /// <summary>Moves the position past the tokens of the pass that just ran through every layer.</summary>
    internal void Advance(long length)
    {
        Position += length;
        _written = 0;
    }

    Tensor Allocate(Tensor?[] slots, int layer, Tensor like)
    {
        var slot = slots[layer];
        if (slot is not null && slot.dtype == like.dtype && slot.device_type == like.device_type && slot.device_index == like.device_index && slot.shape[1] == like.shape[1] && slot.shape[3] == like.shape[3])
            return slot;
        if (slot is not null && Position > 0)
            throw new InvalidOperationException($"Layer {layer}'s keys changed shape, dtype or device in the middle of a sequence ({ShapeFormat(slot)} → {ShapeFormat(like)}).");
        slot?.Dispose();
        if (like.shape[0] != Batch)
            throw new ArgumentException($"Layer {layer} appends keys for {like.shape[0]} sequences; the cache holds {Batch}.");
        slots[layer] = zeros([Batch, like.shape[1], Capacity, like.shape[3]], dtype: like.dtype, device: like.device).DetachFromDisposeScope();
        return slots[layer]!;
    }

    Tensor Stored(Tensor?[] slots, int layer)
    {
        if (layer < 0 || layer >= Layers) throw new ArgumentOutOfRangeException(nameof(layer), $"Layer {layer} is outside the cache's [0, {Layers - 1}].");
        var slot = slots[layer] ?? throw new InvalidOperationException("Nothing is cached yet: run a forward pass through the cache first.");
        return slot.narrow(2, 0, Position);
    }

    static string ShapeFormat(Tensor t) => $"({string.Join(", ", t.shape)}) {t.dtype} {t.device}";

    public void Dispose()
    {
        for (int i = 0; i < Layers; i++)
        {
            _keys[i]?.Dispose(); _keys[i] = null;
            _values[i]?.Dispose(); _values[i] = null;
        }
        Reset();
    }
}
