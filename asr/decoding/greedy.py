"""Greedy (best path) CTC decoding, done for the whole batch with tensor operations on its device."""

from __future__ import annotations

import torch

from asr.decoding.hypothesis import Hypothesis
from asr.text import BLANK_ID, Vocabulary


def greedy_tokens(log_probs: torch.Tensor, output_lens: torch.Tensor,
                  blank_id: int = BLANK_ID) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Best-path labels of a batch, without leaving the device.

    log_probs `(B, T, V)`, output_lens `(B,)` -> tokens `(B, L)` (padded with blank), token_lens `(B,)`,
    token_frames `(B, L)` (the frame where each token's run starts).
    """
    best = log_probs.argmax(dim=-1)  # (B, T)
    num_frames = best.shape[1]
    valid = torch.arange(num_frames, device=best.device)[None, :] < output_lens[:, None]
    previous = torch.nn.functional.pad(best, (1, 0), value=blank_id)[:, :-1]
    keep = valid & (best != blank_id) & (best != previous)
    token_lens = keep.sum(dim=1)
    width = int(token_lens.max().item()) if best.shape[0] else 0
    # Scatter each kept label to its rank among the kept labels of its row; dropped frames go to a
    # spare column `width` that is cut off afterwards.
    rank = torch.where(keep, keep.cumsum(dim=1) - 1, torch.full_like(best, width))
    tokens = torch.full((best.shape[0], width + 1), blank_id, dtype=best.dtype, device=best.device)
    tokens.scatter_(1, rank, torch.where(keep, best, torch.full_like(best, blank_id)))
    frame_index = torch.arange(num_frames, device=best.device).expand_as(best)
    frames = torch.zeros_like(tokens)
    frames.scatter_(1, rank, torch.where(keep, frame_index, torch.zeros_like(best)))
    return tokens[:, :width], token_lens, frames[:, :width]


def greedy_decode(log_probs: torch.Tensor, output_lens: torch.Tensor, vocabulary: Vocabulary) -> list[Hypothesis]:
    """log_probs `(B, T, V)`, output_lens `(B,)` -> one Hypothesis per utterance."""
    tokens, token_lens, frames = greedy_tokens(log_probs, output_lens)
    valid = torch.arange(log_probs.shape[1], device=log_probs.device)[None, :] < output_lens[:, None]
    # where, not a product: a padded frame holding -inf (masked log-probs) would give -inf * 0 = nan
    scores = torch.where(valid, log_probs.max(dim=-1).values, 0.0).sum(dim=1)
    hypotheses = []
    for row, length, row_frames, score in zip(tokens.tolist(), token_lens.tolist(), frames.tolist(), scores.tolist()):
        labels = tuple(row[:length])
        hypotheses.append(Hypothesis(vocabulary.decode(labels), labels, score, tuple(row_frames[:length])))
    return hypotheses
