"""asr.decoding.tune: the alpha/beta grid search finds the weights that fix an error the LM knows about."""

from __future__ import annotations

import pytest
import torch

from asr.config import DecodingConfig
from asr.decoding.ctc_beam import NgramTables
from asr.decoding.tune import grid_search
from tests.decoding.test_ctc_beam import ABC, TRIGRAM, A, B, BLANK, SPACE, peaked


def test_grid_search_prefers_a_weight_that_lets_the_lm_fix_the_ambiguous_word():
    emission = peaked([A, B, SPACE, A, BLANK, B], peak=0.99)
    emission[3] = torch.tensor([0.04, 0.46, 0.48, 0.02]).log()  # "ab bb" by a hair; the LM knows "ab"
    lm = NgramTables.from_ngrams(TRIGRAM)
    # No unknown-word penalty: it applies whatever the LM weight, and would fix "bb" on its own.
    grid = grid_search([emission], ["ab ab"], ABC, DecodingConfig(beam_size=8, unk_score=0.0), lm, [0.0, 0.5], [0.0])
    assert [(point.lm_weight, point.wer) for point in grid] == [(0.5, 0.0), (0.0, pytest.approx(50.0))]


def test_grid_search_needs_one_reference_per_utterance():
    with pytest.raises(ValueError, match="1 emissions for 2 references"):
        grid_search([torch.zeros(3, 4)], ["a", "b"], ABC, DecodingConfig(), NgramTables.from_ngrams(TRIGRAM),
                    [0.5], [0.0])
