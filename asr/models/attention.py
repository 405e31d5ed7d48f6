"""Attention mechanisms for a recurrent attention decoder (Show-Attend-Tell, Listen-Attend-Spell).

One interface for every kind, so the decoder and the beam search never need to know which one they hold:

    keys = attention.prepare(memory)                        # once per utterance
    context, weights = attention(query, memory, keys, mask, previous_weights)   # once per output step

Shapes: `query (B, D_q)`, `memory (B, T, D_mem)` (the encoder states), `keys (B, T, *)`, `mask (B, T)` bool with
True at real (unpadded) positions, `previous_weights (B, T)` the last step's weights or None at the first step;
the result is `context (B, D_mem)` and `weights (B, T)`.

Weights are exactly 0.0 at padded positions and sum to 1 over the real ones: padded scores are set to -inf
before the softmax, which is computed in float32 so half precision and autocast give no NaN. The weights
come back in the context's dtype. Memory at padded positions is never read through a nonzero weight, but
it must be finite (0 * inf is NaN); the encoders here pad with zeros.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ATTENTION_KINDS = frozenset({"additive", "general", "dot", "scaled_dot", "location", "multihead"})
MULTIPLICATIVE_KINDS = ("general", "dot", "scaled_dot")


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax of `scores (..., T)` over the positions where `mask (..., T)` is True, in float32.

    -inf rather than the dtype's most negative value: exp(-inf) is exactly 0 whatever the real scores are,
    and every row has a real position (checked by the caller), so the softmax never sees a row of -inf.
    """
    return torch.softmax(scores.float().masked_fill(~mask, float("-inf")), dim=-1)


class Attention(nn.Module):
    """Base class: subclasses define `prepare` and `scores`; `forward` masks, normalises and reads the memory.

    `output_dim` is the size of the context vector (= memory_dim for every kind here).
    """

    output_dim: int

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        """`memory (B, T, D_mem)` -> keys `(B, T, *)`, computed once per utterance.

        Always one tensor with the batch in dim 0, so a beam search can `index_select` its rows.
        """
        raise NotImplementedError

    def scores(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor,
               previous_weights: torch.Tensor | None) -> torch.Tensor:
        """Unnormalised scores `(B, T)`; padded positions may hold anything, they are masked afterwards."""
        raise NotImplementedError

    def forward(self, query: torch.Tensor, memory: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor,
                previous_weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`query (B, D_q)`, `memory (B, T, D_mem)`, `keys` from `prepare`, `mask (B, T)` True = real position,
        `previous_weights (B, T)` or None -> `context (B, D_mem)`, `weights (B, T)`."""
        check_mask(memory, mask)
        weights = masked_softmax(self.scores(query, keys, mask, previous_weights), mask)
        context = torch.bmm(weights.to(memory.dtype).unsqueeze(1), memory).squeeze(1)
        return context, weights.to(context.dtype)


def uniform_weights(mask: torch.Tensor) -> torch.Tensor:
    """`mask (B, T)` -> weights `(B, T)` spread evenly over each row's real positions (float32)."""
    return mask.float() / mask.sum(dim=-1, keepdim=True)


def check_mask(memory: torch.Tensor, mask: torch.Tensor) -> None:
    """Reject a mask that does not fit `memory (B, T, D)` or that leaves a row with no real position.

    The emptiness test is one reduction over `(B, T)` booleans; the offending rows are only looked up when
    it fails, since a softmax over an all-masked row would silently give NaN.
    """
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be bool (True = real position), got dtype {mask.dtype}")
    if mask.shape != memory.shape[:2]:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match memory (B, T) = {tuple(memory.shape[:2])}")
    if not bool(mask.any(dim=-1).all()):
        empty_rows = (~mask.any(dim=-1)).nonzero().flatten().tolist()
        raise ValueError(f"attention mask has no real position in batch rows {empty_rows}")


class AdditiveAttention(Attention):
    """Bahdanau et al. (2015): score = v^T tanh(W q + U m + b); keys are U m + b."""

    def __init__(self, query_dim: int, memory_dim: int, attention_dim: int):
        super().__init__()
        self.query_projection = nn.Linear(query_dim, attention_dim, bias=False)
        self.memory_projection = nn.Linear(memory_dim, attention_dim)
        self.score_vector = nn.Linear(attention_dim, 1, bias=False)
        self.output_dim = memory_dim

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        """`(B, T, D_mem)` -> `(B, T, attention_dim)`."""
        return self.memory_projection(memory)

    def scores(self, query, keys, mask, previous_weights):
        energy = torch.tanh(keys + self.query_projection(query).unsqueeze(1))
        return self.score_vector(energy).squeeze(-1)


class MultiplicativeAttention(Attention):
    """Luong et al. (2015): "general" q^T W m, "dot" q^T m, "scaled_dot" q^T m / sqrt(D_mem).

    For "general" the keys are W m `(B, T, D_q)`, so each step is one batched product with the query;
    for "dot" and "scaled_dot" the keys are the memory itself.
    """

    def __init__(self, query_dim: int, memory_dim: int, kind: str = "general"):
        super().__init__()
        if kind not in MULTIPLICATIVE_KINDS:
            raise ValueError(f"unknown multiplicative attention kind {kind!r}; choose one of {MULTIPLICATIVE_KINDS}")
        if kind != "general" and query_dim != memory_dim:
            raise ValueError(f"{kind} attention needs query_dim == memory_dim, "
                             f"got query_dim={query_dim}, memory_dim={memory_dim}")
        self.kind = kind
        self.memory_projection = nn.Linear(memory_dim, query_dim, bias=False) if kind == "general" else None
        self.scale = 1.0 / math.sqrt(memory_dim) if kind == "scaled_dot" else 1.0
        self.output_dim = memory_dim

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        """`(B, T, D_mem)` -> `(B, T, D_q)` ("general") or the memory itself."""
        return memory if self.memory_projection is None else self.memory_projection(memory)

    def scores(self, query, keys, mask, previous_weights):
        scores = torch.bmm(keys, query.to(keys.dtype).unsqueeze(-1)).squeeze(-1)
        return scores * self.scale if self.scale != 1.0 else scores


class LocationAwareAttention(AdditiveAttention):
    """Chorowski et al. (2015): additive attention plus U f, where f is a 1-D convolution over the last
    step's weights, so the model can tell where it attended and move on monotonically.

    `previous_weights=None` (the first step) means uniform weights over each row's real positions, a
    proper distribution like every later step's, rather than zeros the convolution never sees again.
    Previous weights are zeroed at padded positions before the convolution, so an item's result does not
    depend on how far its batch is padded.
    """

    def __init__(self, query_dim: int, memory_dim: int, attention_dim: int, location_channels: int = 8,
                 location_kernel: int = 15):
        super().__init__(query_dim, memory_dim, attention_dim)
        if location_kernel < 1 or location_kernel % 2 == 0:
            raise ValueError(f"location_kernel must be a positive odd number (length-preserving), "
                             f"got {location_kernel}")
        # Odd kernel with padding kernel // 2: T in, T out.
        self.location_conv = nn.Conv1d(1, location_channels, location_kernel, padding=location_kernel // 2,
                                       bias=False)
        self.location_projection = nn.Linear(location_channels, attention_dim, bias=False)

    def scores(self, query, keys, mask, previous_weights):
        if previous_weights is None:
            previous_weights = uniform_weights(mask)
        elif previous_weights.shape != mask.shape:
            raise ValueError(f"previous_weights shape {tuple(previous_weights.shape)} does not match "
                             f"mask (B, T) = {tuple(mask.shape)}")
        previous_weights = previous_weights.masked_fill(~mask, 0.0).to(self.location_conv.weight.dtype)
        location = self.location_conv(previous_weights.unsqueeze(1)).transpose(1, 2)  # (B, T, channels)
        energy = torch.tanh(keys + self.query_projection(query).unsqueeze(1) + self.location_projection(location))
        return self.score_vector(energy).squeeze(-1)


class MultiHeadAttention(Attention):
    """Scaled dot-product attention in `num_heads` heads of size attention_dim / num_heads on projected
    query, keys and values; the heads' contexts are concatenated and projected back to memory_dim.

    Keys and values are projected once in `prepare` and concatenated on the last dim `(B, T, 2 * attention_dim)`,
    so the beam search still selects one tensor. The returned weights are the mean over heads `(B, T)`: still a
    distribution (each head's sums to 1, zero on padding), for plots and alignments; the context is not
    weights @ memory.
    """

    def __init__(self, query_dim: int, memory_dim: int, attention_dim: int, num_heads: int):
        super().__init__()
        if num_heads < 1 or attention_dim % num_heads != 0:
            raise ValueError(f"attention_dim={attention_dim} must be a multiple of num_heads={num_heads} (>= 1)")
        self.num_heads, self.head_dim = num_heads, attention_dim // num_heads
        self.query_projection = nn.Linear(query_dim, attention_dim)
        self.key_value_projection = nn.Linear(memory_dim, 2 * attention_dim)
        self.output_projection = nn.Linear(attention_dim, memory_dim)
        self.output_dim = memory_dim

    def prepare(self, memory: torch.Tensor) -> torch.Tensor:
        """`(B, T, D_mem)` -> keys and values side by side `(B, T, 2 * attention_dim)`."""
        return self.key_value_projection(memory)

    def _split_heads(self, states: torch.Tensor) -> torch.Tensor:
        """`(B, T, attention_dim)` -> `(B, heads, T, head_dim)`."""
        batch_size, length, _ = states.shape
        return states.reshape(batch_size, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, query: torch.Tensor, memory: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor,
                previous_weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """As `Attention.forward`; `previous_weights` is ignored and `weights` is the mean over heads."""
        check_mask(memory, mask)
        head_keys, head_values = (self._split_heads(part) for part in keys.chunk(2, dim=-1))
        head_query = self.query_projection(query).reshape(query.shape[0], self.num_heads, 1, self.head_dim)
        scores = torch.matmul(head_query.to(head_keys.dtype), head_keys.transpose(2, 3)).squeeze(2)  # (B, heads, T)
        head_weights = masked_softmax(scores / math.sqrt(self.head_dim), mask.unsqueeze(1))
        head_contexts = torch.matmul(head_weights.to(head_values.dtype).unsqueeze(2), head_values)  # (B, heads, 1, d)
        context = self.output_projection(head_contexts.flatten(1))
        return context, head_weights.mean(dim=1).to(context.dtype)


def build_attention(kind: str, query_dim: int, memory_dim: int, attention_dim: int = 128,
                    num_heads: int = 1) -> Attention:
    """The attention `kind` (one of ATTENTION_KINDS); attention_dim is unused by "general", "dot" and
    "scaled_dot", and num_heads > 1 is accepted only by "multihead"."""
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"unknown attention kind {kind!r}; choose one of {sorted(ATTENTION_KINDS)}")
    if num_heads < 1 or (num_heads > 1 and kind != "multihead"):
        raise ValueError(f"num_heads={num_heads}: only 'multihead' attention takes more than one head "
                         f"(and every kind needs at least one), got kind {kind!r}")
    if kind == "additive":
        return AdditiveAttention(query_dim, memory_dim, attention_dim)
    if kind == "location":
        return LocationAwareAttention(query_dim, memory_dim, attention_dim)
    if kind == "multihead":
        return MultiHeadAttention(query_dim, memory_dim, attention_dim, num_heads)
    return MultiplicativeAttention(query_dim, memory_dim, kind)


__all__ = ["ATTENTION_KINDS", "AdditiveAttention", "Attention", "LocationAwareAttention", "MultiHeadAttention",
           "MultiplicativeAttention", "build_attention", "masked_softmax"]
