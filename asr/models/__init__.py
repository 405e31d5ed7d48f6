"""The flat model catalogue: architecture name -> builder(config, frontend, vocab_size)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from asr.models.cnn import CRNNRecognizer, build_crnn_ctc
from asr.models.recognizer import CTCRecognizer, build_rnn_ctc

MODEL_CATALOGUE: dict[str, Callable[..., nn.Module]] = {
    "rnn_ctc": build_rnn_ctc,
    "crnn_ctc": build_crnn_ctc,
}

# Architectures that read images (features.kind: image); all others read audio features.
IMAGE_MODELS = frozenset({"crnn_ctc"})


def build_model(config, frontend: nn.Module, vocab_size: int) -> nn.Module:
    """Build the architecture `config.name` (a ModelConfig) on top of `frontend`."""
    if config.name not in MODEL_CATALOGUE:
        raise ValueError(f"model.name: unknown architecture {config.name!r}; choose one of {sorted(MODEL_CATALOGUE)}")
    return MODEL_CATALOGUE[config.name](config, frontend, vocab_size)


__all__ = ["IMAGE_MODELS", "MODEL_CATALOGUE", "CRNNRecognizer", "CTCRecognizer", "build_model"]
