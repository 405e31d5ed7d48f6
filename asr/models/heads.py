"""Output heads: map encoder states to per-frame log-probabilities."""

from __future__ import annotations

import torch
from torch import nn


class CTCHead(nn.Module):
    """Encoder states `(B, T, H)` -> log-probabilities `(B, T, V)` over the vocabulary (blank = 0)."""

    def __init__(self, input_dim: int, vocab_size: int):
        super().__init__()
        self.linear = nn.Linear(input_dim, vocab_size)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.linear(states), dim=-1)
