"""A recurrent decoder that attends to the encoder's states at every step (Show-Attend-Tell, Listen-Attend-Spell).

At step i the decoder reads the token emitted at step i-1 (`<sos>` first) and the context vector it
attended to then ("input feeding", so that it knows what it has already read), advances an LSTM or GRU
cell, attends with the new hidden state as the query, and predicts the next token from the hidden state
and the new context. It starts from zeros, or from the mean of the memory (`start_from_mean`), so that a
captioner knows what the picture holds before its first word.

Training calls `forward` with the reference shifted right (teacher forcing); searches call the narrow
step interface `start` / `step` / `select` (asr.decoding.attention_search.StepDecoder), so the search
strategy never looks inside the network. `<sos>` and `<eos>` are both id 0 (asr.text.EOS_ID).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import nn

from asr.models.attention import Attention, uniform_weights
from asr.models.encoders import padding_mask
from asr.text import EOS_ID


@dataclass(frozen=True)
class DecoderState:
    """Everything the next step needs, for N rows (hypotheses); every field has the rows in dim 0."""

    hidden: torch.Tensor  # (N, H)
    cell: torch.Tensor  # (N, H); LSTM memory cell (zeros, unused, for a GRU)
    context: torch.Tensor  # (N, D) the last attended context
    weights: torch.Tensor  # (N, T) the last attention weights (location-aware attention reads them)
    memory: torch.Tensor  # (N, T, D) encoder states
    keys: torch.Tensor  # (N, T, ...) the attention's precomputed projection of the memory
    mask: torch.Tensor  # (N, T) True on real (unpadded) frames

    def select(self, rows: torch.Tensor) -> DecoderState:
        return DecoderState(*(getattr(self, spec.name).index_select(0, rows) for spec in fields(self)))


class AttentionDecoder(nn.Module):
    """memory `(B, T, D)`, memory_lens `(B,)`, previous tokens `(B, L)` -> logits `(B, L, V)`, weights `(B, L, T)`
    (`forward`, teacher forcing); `start` / `step` / `select` for the searches (`step` gives log-probs)."""

    sos_id = EOS_ID
    eos_id = EOS_ID

    def __init__(self, vocab_size: int, memory_dim: int, attention: Attention, embedding_dim: int = 64,
                 hidden_size: int = 256, cell: str = "lstm", dropout: float = 0.1, start_from_mean: bool = False):
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"decoder cell must be 'lstm' or 'gru', got {cell!r}")
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.cell_kind = cell
        cell_class = nn.LSTMCell if cell == "lstm" else nn.GRUCell
        self.rnn = cell_class(embedding_dim + memory_dim, hidden_size)
        self.attention = attention
        self.start_state = nn.Linear(memory_dim, hidden_size) if start_from_mean else None
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_size + memory_dim, vocab_size)
        self.hidden_size = hidden_size

    def start(self, memory: torch.Tensor, memory_lens: torch.Tensor) -> DecoderState:
        """memory `(B, T, D)`, memory_lens `(B,)` -> the state before the first token."""
        mask = padding_mask(memory_lens, memory.shape[1])
        weights = uniform_weights(mask).to(memory.dtype)  # also location-aware attention's "previous" weights
        if self.start_state is not None:
            hidden = torch.tanh(self.start_state(torch.bmm(weights[:, None, :], memory)[:, 0]))
        else:
            hidden = memory.new_zeros(memory.shape[0], self.hidden_size)
        context = memory.new_zeros(memory.shape[0], memory.shape[2])
        return DecoderState(hidden, torch.zeros_like(hidden), context, weights, memory,
                            self.attention.prepare(memory), mask)

    def step(self, state: DecoderState, tokens: torch.Tensor) -> tuple[torch.Tensor, DecoderState, torch.Tensor]:
        """tokens `(N,)` -> log-probs `(N, V)` of the next token, the new state, attention weights `(N, T)`."""
        logits, state = self._advance(state, tokens)
        return torch.log_softmax(logits.float(), dim=-1), state, state.weights

    def select(self, state: DecoderState, rows: torch.Tensor) -> DecoderState:
        return state.select(rows)

    def _advance(self, state: DecoderState, tokens: torch.Tensor) -> tuple[torch.Tensor, DecoderState]:
        inputs = torch.cat([self.embedding(tokens), state.context], dim=-1)
        if self.cell_kind == "lstm":
            hidden, cell = self.rnn(inputs, (state.hidden, state.cell))
        else:
            hidden, cell = self.rnn(inputs, state.hidden), state.cell
        context, weights = self.attention(hidden, state.memory, state.keys, state.mask, state.weights)
        logits = self.output(self.dropout(torch.cat([hidden, context], dim=-1)))
        return logits, replace(state, hidden=hidden, cell=cell, context=context, weights=weights)

    def forward(self, memory: torch.Tensor, memory_lens: torch.Tensor,
                previous_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: previous_tokens `(B, L)` (`<sos>` then the reference) -> logits `(B, L, V)`
        (unnormalised: the loss applies label smoothing to their log-softmax), weights `(B, L, T)`."""
        state = self.start(memory, memory_lens)
        all_logits, all_weights = [], []
        for position in range(previous_tokens.shape[1]):
            logits, state = self._advance(state, previous_tokens[:, position])
            all_logits.append(logits)
            all_weights.append(state.weights)
        return torch.stack(all_logits, dim=1), torch.stack(all_weights, dim=1)


def decoder_inputs(tokens: torch.Tensor, token_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded references `(B, L)` -> teacher-forcing inputs `(B, L + 1)` (`<sos>` + reference) and targets
    `(B, L + 1)` (reference + `<eos>`, padding marked -100 so cross-entropy ignores it)."""
    batch_size = tokens.shape[0]
    sos = torch.full((batch_size, 1), EOS_ID, dtype=tokens.dtype, device=tokens.device)
    inputs = torch.cat([sos, tokens], dim=1)
    targets = torch.cat([tokens, torch.full_like(sos, -100)], dim=1)
    rows = torch.arange(batch_size, device=tokens.device)
    targets[rows, token_lens] = EOS_ID
    positions = torch.arange(targets.shape[1], device=tokens.device)[None, :]
    targets = targets.masked_fill(positions > token_lens[:, None], -100)
    return inputs, targets
