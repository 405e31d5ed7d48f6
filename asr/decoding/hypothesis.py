"""The typed result every decoder returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hypothesis:
    text: str
    tokens: tuple[int, ...]  # label ids after CTC collapsing, blanks removed
    score: float  # log-probability of the hypothesis under the decoder's model (greedy: of the best path)
    frames: tuple[int, ...] = ()  # output frame at which each token was emitted (first frame of its run)
