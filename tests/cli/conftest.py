"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from asr.config import from_dict
from asr.frontend.features import FeatureExtractor
from asr.models import build_model
from asr.text import Vocabulary
from asr.training.state import save_checkpoint


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    """An untrained (random) model over the letters of the digit words and <space>: random text, but
    enough to exercise every command, format and flag."""
    torch.manual_seed(0)
    config = from_dict({"features": {"sample_rate": 8000}, "model": {"hidden_size": 8, "num_layers": 1},
                        "data": {"normalizer": "lower"}})
    vocabulary = Vocabulary.from_texts(["zero one two three four five six seven eight nine"])
    model = build_model(config.model, FeatureExtractor(config.features), len(vocabulary))
    path = tmp_path / "model.pt"
    save_checkpoint(path, {"config": config.to_dict(), "vocabulary": vocabulary.tokens, "model": model.state_dict()})
    return path
