"""Choosing the LM weight (alpha) and word bonus (beta) on a dev set: the library behind `asr lm tune`.

The model runs once over the dev audio; every (alpha, beta) pair of the grid then only re-runs the
beam search on the stored emissions, with the LM compiled once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from asr.config import DecodingConfig
from asr.decoding.ctc_beam import CTCBeamSearchDecoder, NgramTables
from asr.metrics import corpus_counts, edit_counts
from asr.text import Vocabulary


@dataclass(frozen=True)
class GridPoint:
    lm_weight: float
    word_bonus: float
    wer: float  # percent
    cer: float  # percent


def grid_search(emissions: Sequence[torch.Tensor], references: Sequence[str], vocabulary: Vocabulary,
                base: DecodingConfig, lm: NgramTables, lm_weights: Sequence[float],
                word_bonuses: Sequence[float]) -> list[GridPoint]:
    """WER and CER of beam search with `lm` at every (alpha, beta); emissions: `(T, V)` per utterance.

    Returns the grid sorted best first (lowest WER, then CER, then the smaller weights).
    """
    if len(emissions) != len(references):
        raise ValueError(f"{len(emissions)} emissions for {len(references)} references")
    if not emissions:
        raise ValueError("no utterances to tune on")
    decoder = CTCBeamSearchDecoder(vocabulary, dataclasses.replace(base, decoder="beam"), lm)
    points = []
    for lm_weight in lm_weights:
        for word_bonus in word_bonuses:
            reweighted = decoder.reweighted(lm_weight, word_bonus)
            texts = [reweighted(emission[None], torch.tensor([emission.shape[0]]))[0].text for emission in emissions]
            words = corpus_counts(edit_counts(list(references), texts, unit="word"))
            chars = corpus_counts(edit_counts(list(references), texts, unit="char"))
            points.append(GridPoint(lm_weight, word_bonus, 100 * words.rate, 100 * chars.rate))
    return sorted(points, key=lambda point: (point.wer, point.cer, point.lm_weight, abs(point.word_bonus)))
