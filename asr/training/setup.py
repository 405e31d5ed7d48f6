"""From a config to what the loop trains on: checked data, a vocabulary, a model on its device."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from tqdm import tqdm

from asr.audio import load_audio
from asr.config import ExperimentConfig
from asr.data.manifest import read_manifest
from asr.frontend.features import FeatureExtractor
from asr.models import build_model
from asr.text import Vocabulary, get_normalizer

logger = logging.getLogger(__name__)

GLOBAL_STATS_MAX_ITEMS = 2000  # enough utterances for stable feature means and variances


class DataError(ValueError):
    """The training or dev data cannot be used as given; the message names the items."""


@dataclass
class PreparedData:
    vocabulary: Vocabulary
    train_items: list
    train_texts: list[str]
    train_lengths: list[float]  # samples at the model's rate, for length bucketing
    dev_items: list
    dev_texts: list[str]
    dev_lengths: list[float]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"train.device: {name!r} was asked for but CUDA is not available")
    return device


def _load_split(paths: tuple[str, ...], field_name: str, normalize, config: ExperimentConfig) -> tuple[list, list[str]]:
    if not paths:
        raise DataError(f"{field_name} is not set")
    items = [item for path in paths for item in read_manifest(path)]
    path = " + ".join(paths)
    kept, texts, too_short, too_long, empty = [], [], [], [], []
    for item in items:
        text = normalize(item.text)
        if not text:
            empty.append(item.id)
        elif item.duration < config.data.min_duration:
            too_short.append(item.id)
        elif item.duration > config.data.max_duration:
            too_long.append(item.id)
        else:
            kept.append(item)
            texts.append(text)
    for reason, ids in (("an empty transcript", empty), (f"under {config.data.min_duration} s", too_short),
                        (f"over {config.data.max_duration} s", too_long)):
        if ids:
            logger.warning("%s: %d items with %s left out: %s%s", path, len(ids), reason, ", ".join(ids[:10]),
                           " ..." if len(ids) > 10 else "")
    if not kept:
        raise DataError(f"{path}: no usable items")
    return kept, texts


def _drop_infeasible(items: list, texts: list[str], vocabulary: Vocabulary, model: torch.nn.Module,
                     frontend: FeatureExtractor, speed_factor: float, path: str) -> tuple[list, list[str]]:
    """Leave out items whose transcript cannot fit their output frames under CTC (a label repeated in a
    row needs a blank between), counting frames after the fastest speed perturbation."""
    sample_rate = frontend.config.sample_rate
    num_samples = torch.tensor([int(item.duration * sample_rate / speed_factor) for item in items])
    output_lens = model.output_lengths(frontend.num_frames(num_samples)).tolist()
    kept_items, kept_texts, dropped = [], [], []
    for item, text, frames in zip(items, texts, output_lens):
        tokens = vocabulary.encode(text, item.id)
        needed = len(tokens) + sum(1 for left, right in zip(tokens, tokens[1:]) if left == right)
        if needed <= frames:
            kept_items.append(item)
            kept_texts.append(text)
        else:
            dropped.append(f"{item.id} ({needed} labels, {frames} frames)")
    if dropped:
        logger.warning("%s: %d items too short for CTC left out: %s%s", path, len(dropped), ", ".join(dropped[:10]),
                       " ..." if len(dropped) > 10 else "")
    if not kept_items:
        raise DataError(f"{path}: every item is too short for its transcript under CTC")
    return kept_items, kept_texts


def prepare_data(config: ExperimentConfig, vocabulary_tokens: list[str] | None = None) -> PreparedData:
    """Read, normalise and filter both manifests; build the vocabulary from the training transcripts
    (or take the checkpoint's), and fail on any character outside it, naming the items."""
    normalize = get_normalizer(config.data.normalizer)
    train_items, train_texts = _load_split(config.data.train_manifests, "data.train_manifests", normalize, config)
    dev_items, dev_texts = _load_split((config.data.dev_manifest,) if config.data.dev_manifest else (),
                                       "data.dev_manifest", normalize, config)
    vocabulary = Vocabulary(vocabulary_tokens) if vocabulary_tokens else Vocabulary.from_texts(train_texts)
    vocabulary.check([(item.id, text) for item, text in zip(train_items + dev_items, train_texts + dev_texts)])
    rate = config.features.sample_rate
    return PreparedData(vocabulary, train_items, train_texts, [item.duration * rate for item in train_items],
                        dev_items, dev_texts, [item.duration * rate for item in dev_items])


def build_recognizer(config: ExperimentConfig, data: PreparedData, fit_global_stats: bool) -> torch.nn.Module:
    """Build the model; drop CTC-infeasible items from `data` in place; estimate global feature
    statistics from the training audio when the config asks for them."""
    frontend = FeatureExtractor(config.features)
    model = build_model(config.model, frontend, len(data.vocabulary))
    fastest = max(config.augment.speed_factors, default=1.0)
    data.train_items, data.train_texts = _drop_infeasible(data.train_items, data.train_texts, data.vocabulary, model,
                                                          frontend, max(1.0, fastest), "training data")
    data.dev_items, data.dev_texts = _drop_infeasible(data.dev_items, data.dev_texts, data.vocabulary, model,
                                                      frontend, 1.0, config.data.dev_manifest)
    rate = config.features.sample_rate
    data.train_lengths = [item.duration * rate for item in data.train_items]
    data.dev_lengths = [item.duration * rate for item in data.dev_items]
    if fit_global_stats and config.features.normalize == "global":
        step = max(1, len(data.train_items) // GLOBAL_STATS_MAX_ITEMS)
        sample = data.train_items[::step]
        frontend.fit_global_stats(load_audio(item.path, rate) for item in tqdm(sample, desc="feature statistics",
                                                                                leave=False))
    return model
