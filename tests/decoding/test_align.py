"""asr.decoding.align: word timestamps from hand-written emissions, with known frames and confidences."""

from __future__ import annotations

import pytest
import torch

from asr.config import ExperimentConfig, ModelConfig
from asr.decoding.align import (AlignmentError, WordSpan, align_text, best_path_token_spans, forced_token_spans,
                                frame_seconds, word_timestamps)
from asr.text import Vocabulary

VOCABULARY = Vocabulary(["<blank>", "a", "b", "<space>"])
BLANK, A, B, SPACE = 0, 1, 2, 3


def peaked(best: list[int], peak: float = 0.8, vocab_size: int = 4) -> torch.Tensor:
    probs = torch.full((len(best), vocab_size), (1 - peak) / (vocab_size - 1))
    probs[torch.arange(len(best)), torch.tensor(best)] = peak
    return probs.log()


def test_best_path_words_start_at_their_first_token_and_end_after_their_last():
    log_probs = peaked([BLANK, A, A, BLANK, B, SPACE, SPACE, BLANK, B, BLANK, BLANK, A, BLANK])
    words = word_timestamps(log_probs, VOCABULARY, seconds_per_frame=0.02)
    assert words == [WordSpan("ab", 0.02, 0.10, pytest.approx(0.8)), WordSpan("ba", 0.16, 0.24, pytest.approx(0.8))]


def test_forced_alignment_of_the_best_tokens_equals_the_best_path():
    log_probs = peaked([BLANK, A, A, BLANK, B, SPACE, BLANK, B, BLANK, A, A, BLANK])
    forced = forced_token_spans(log_probs, [A, B, SPACE, B, A])
    assert forced == best_path_token_spans(log_probs)
    assert [(span.token, span.start, span.end) for span in forced] == [(A, 1, 3), (B, 4, 5), (SPACE, 5, 6),
                                                                        (B, 7, 8), (A, 9, 11)]


def test_forced_alignment_places_a_transcript_the_best_path_does_not_say():
    # the best path reads "a", the transcript says "ab": "b" must take the most likely frame left for it
    probs = torch.tensor([[0.1, 0.8, 0.1, 0.0], [0.6, 0.1, 0.3, 0.0], [0.7, 0.1, 0.2, 0.0], [0.9, 0.05, 0.05, 0.0]])
    log_probs = probs.clamp_min(1e-12).log()
    (word,) = align_text(log_probs, "ab", VOCABULARY, seconds_per_frame=0.1)
    assert (word.word, word.start, word.end) == ("ab", 0.0, 0.2)
    assert word.confidence == pytest.approx((0.8 + 0.3) / 2)


def test_repeated_letters_are_two_tokens_when_a_blank_separates_them():
    log_probs = peaked([A, BLANK, A, A])
    spans = forced_token_spans(log_probs, [A, A])
    assert [(span.start, span.end) for span in spans] == [(0, 1), (2, 4)]
    with pytest.raises(AlignmentError, match="at least 5 frames"):
        forced_token_spans(log_probs, [A, A, A])


def test_no_tokens_give_no_words():
    assert word_timestamps(peaked([BLANK, BLANK]), VOCABULARY, 0.01, tokens=[]) == []
    assert word_timestamps(peaked([BLANK, SPACE, BLANK]), VOCABULARY, 0.01) == []


def test_frame_seconds_follow_the_hop_and_the_convolution_stride():
    assert frame_seconds(ExperimentConfig()) == pytest.approx(0.01)
    strided = ExperimentConfig(model=ModelConfig(conv_channels=32, conv_stride=2))
    assert frame_seconds(strided) == pytest.approx(0.02)
