"""The flat model catalogue: architecture name -> builder(config, frontend, vocab_size).

`*_ctc` models have a CTC head; `*_attention` an attention decoder; `*_joint` both on one encoder.
`rnn_*` read audio features, `crnn_*` handwriting images, `cnn_*` pictures (captioning).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from asr.models.cnn import CRNNRecognizer, build_crnn_ctc
from asr.models.encoder_decoder import (AttentionRecognizer, build_cnn_attention, build_crnn_attention,
                                        build_crnn_joint, build_rnn_attention, build_rnn_joint)
from asr.models.recognizer import CTCRecognizer, build_rnn_ctc

MODEL_CATALOGUE: dict[str, Callable[..., nn.Module]] = {
    "rnn_ctc": build_rnn_ctc,
    "rnn_attention": build_rnn_attention,
    "rnn_joint": build_rnn_joint,
    "crnn_ctc": build_crnn_ctc,
    "crnn_attention": build_crnn_attention,
    "crnn_joint": build_crnn_joint,
    "cnn_attention": build_cnn_attention,
}

# What each architecture reads: "audio" features, handwriting "image"s or "picture"s (features.kind).
MODEL_INPUTS: dict[str, str] = {
    "rnn_ctc": "audio", "rnn_attention": "audio", "rnn_joint": "audio",
    "crnn_ctc": "image", "crnn_attention": "image", "crnn_joint": "image",
    "cnn_attention": "picture",
}


def build_model(config, frontend: nn.Module, vocab_size: int) -> nn.Module:
    """Build the architecture `config.name` (a ModelConfig) on top of `frontend`."""
    if config.name not in MODEL_CATALOGUE:
        raise ValueError(f"model.name: unknown architecture {config.name!r}; choose one of {sorted(MODEL_CATALOGUE)}")
    return MODEL_CATALOGUE[config.name](config, frontend, vocab_size)


def has_ctc_head(model: nn.Module) -> bool:
    """Whether `model` emits CTC log-probabilities (CTC-only or joint)."""
    return isinstance(model, CTCRecognizer) or (isinstance(model, AttentionRecognizer) and model.is_joint)


__all__ = ["MODEL_CATALOGUE", "MODEL_INPUTS", "AttentionRecognizer", "CRNNRecognizer",
           "CTCRecognizer", "build_model", "has_ctc_head"]
