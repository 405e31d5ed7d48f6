"""Word timestamps from CTC emissions: where each word starts and ends, and how sure the model is.

A known token sequence (a reference transcript, or a decoder's hypothesis) is placed on the frames by
CTC forced alignment (`torchaudio.functional.forced_align`, the Viterbi path constrained to those
tokens); without one, the best path (argmax per frame) is used. A word is the run of tokens between
two `<space>` tokens; it starts at the first frame of its first token and ends after the last frame of
its last token. Its confidence is the mean posterior probability of the frames its tokens occupy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torchaudio.functional

from asr.audio import HOP_SECONDS
from asr.config import ExperimentConfig
from asr.text import BLANK_ID, Vocabulary


class AlignmentError(ValueError):
    """The tokens cannot be aligned to the emissions (for instance: too many for the number of frames)."""


@dataclass(frozen=True)
class TokenSpan:
    token: int
    start: int  # first frame
    end: int  # one past the last frame
    logp_sum: float  # sum of the log-posteriors of its frames
    prob_sum: float  # sum of the posteriors of its frames (for the mean confidence)


@dataclass(frozen=True)
class WordSpan:
    word: str
    start: float  # seconds
    end: float  # seconds
    confidence: float  # mean posterior probability of the word's token frames, in [0, 1]


def frame_seconds(config: ExperimentConfig) -> float:
    """Seconds between two output frames of a model: the front-end hop times the convolution's stride."""
    stride = config.model.conv_stride if config.model.conv_channels > 0 else 1
    return HOP_SECONDS * stride


def min_frames(tokens: Sequence[int]) -> int:
    """Fewest CTC frames that can carry `tokens`: one per token and a blank between repeated ones."""
    return len(tokens) + sum(1 for first, second in zip(tokens, tokens[1:]) if first == second)


def forced_token_spans(log_probs: torch.Tensor, tokens: Sequence[int]) -> list[TokenSpan]:
    """The Viterbi alignment of `tokens` to log_probs `(T, V)` as one span per token."""
    if not tokens:
        return []
    num_frames = log_probs.shape[0]
    if min_frames(tokens) > num_frames:
        raise AlignmentError(f"{len(tokens)} tokens need at least {min_frames(tokens)} frames, got {num_frames}")
    emissions = log_probs.detach().to("cpu", torch.float32)[None]
    targets = torch.tensor([list(tokens)], dtype=torch.int32)
    alignment, _ = torchaudio.functional.forced_align(emissions, targets, blank=BLANK_ID)
    return _spans(alignment[0], emissions[0], expected=len(tokens))


def best_path_token_spans(log_probs: torch.Tensor) -> list[TokenSpan]:
    """Spans of the tokens of the best path (argmax per frame) of log_probs `(T, V)`."""
    emissions = log_probs.detach().to("cpu", torch.float32)
    return _spans(emissions.argmax(dim=-1), emissions)


def _spans(alignment: torch.Tensor, emissions: torch.Tensor, expected: int | None = None) -> list[TokenSpan]:
    """Frame labels `(T,)` -> spans; a new span begins where the label changes to a non-blank.

    A forced alignment of a repeated token puts a blank between its two runs, so a change of label is
    a token boundary both for forced alignments and for best paths.
    """
    labels = alignment.tolist()
    frame_logp = emissions.gather(1, alignment.long()[:, None])[:, 0].tolist()
    spans: list[TokenSpan] = []
    start = None
    for frame, label in enumerate(labels + [BLANK_ID]):
        previous = labels[frame - 1] if frame > 0 else BLANK_ID
        if start is not None and label != previous:
            run = frame_logp[start:frame]
            spans.append(TokenSpan(previous, start, frame, sum(run), sum(torch.tensor(run).exp().tolist())))
            start = None
        if label != BLANK_ID and label != previous:
            start = frame
    if expected is not None and len(spans) != expected:
        raise AlignmentError(f"forced alignment gave {len(spans)} token spans for {expected} tokens")
    return spans


def word_spans(token_spans: Sequence[TokenSpan], vocabulary: Vocabulary, seconds_per_frame: float) -> list[WordSpan]:
    """Group token spans into words at `<space>` tokens; times in seconds."""
    words: list[WordSpan] = []
    current: list[TokenSpan] = []
    for span in list(token_spans) + [None]:
        if span is None or span.token == vocabulary.space_id:
            if current:
                num_frames = sum(item.end - item.start for item in current)
                words.append(WordSpan(vocabulary.decode(item.token for item in current),
                                      round(current[0].start * seconds_per_frame, 3),
                                      round(current[-1].end * seconds_per_frame, 3),
                                      round(sum(item.prob_sum for item in current) / num_frames, 4)))
            current = []
        else:
            current.append(span)
    return words


def word_timestamps(log_probs: torch.Tensor, vocabulary: Vocabulary, seconds_per_frame: float,
                    tokens: Sequence[int] | None = None) -> list[WordSpan]:
    """Words with start, end and confidence: of `tokens` placed by forced alignment, or of the best path.

    log_probs `(T, V)`: one utterance's emissions, without padding.
    """
    spans = best_path_token_spans(log_probs) if tokens is None else forced_token_spans(log_probs, tokens)
    return word_spans(spans, vocabulary, seconds_per_frame)


def align_text(log_probs: torch.Tensor, text: str, vocabulary: Vocabulary, seconds_per_frame: float) -> list[WordSpan]:
    """Forced alignment of a known transcript (already normalised as the model's vocabulary wants)."""
    return word_timestamps(log_probs, vocabulary, seconds_per_frame, vocabulary.encode(text))
