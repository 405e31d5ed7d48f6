"""From a config to what the loop trains on: checked data, a vocabulary, a model on its device."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
from tqdm import tqdm

from asr.audio import load_audio
from asr.config import ExperimentConfig
from asr.data.manifest import format_problems, read_manifest
from asr.frontend import build_frontend
from asr.frontend.image_augment import min_width_scale
from asr.models import build_model, has_ctc_head
from asr.text import Vocabulary, WordVocabulary, build_vocabulary, get_normalizer

logger = logging.getLogger(__name__)

GLOBAL_STATS_MAX_ITEMS = 2000  # enough utterances for stable feature means and variances


class DataError(ValueError):
    """The training or dev data cannot be used as given; the message names the items."""


@dataclass
class PreparedData:
    vocabulary: Vocabulary | WordVocabulary
    train_items: list
    train_texts: list[str]
    train_lengths: list[float]  # samples at the model's rate (images: scaled widths), for length bucketing
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


def _load_split(paths: tuple[str, ...], field_name: str, normalize, config: ExperimentConfig,
                repeats: tuple[int, ...] = ()) -> tuple[list, list[str]]:
    """Read and filter the manifests in order; a kept item of `paths[i]` is listed `repeats[i]` times
    (once each when `repeats` is empty), and a left-out one is reported once."""
    if not paths:
        raise DataError(f"{field_name} is not set")
    manifests = [read_manifest(path) for path in paths]
    copies = [times for manifest, times in zip(manifests, repeats or (1,) * len(paths)) for _ in manifest]
    items = [item for manifest in manifests for item in manifest]
    path = " + ".join(paths)
    kept, texts, too_short, too_long, empty = [], [], [], [], []
    for item, times in zip(items, copies):
        text = normalize(item.text)
        if not text:
            empty.append(item.id)
        elif item.duration < config.data.min_duration:
            too_short.append(item.id)
        elif item.duration > config.data.max_duration:
            too_long.append(item.id)
        else:
            kept.extend([item] * times)
            texts.extend([text] * times)
    for reason, ids in (("an empty transcript", empty), (f"under {config.data.min_duration} s", too_short),
                        (f"over {config.data.max_duration} s", too_long)):
        if ids:
            logger.warning("%s: %d items with %s left out: %s%s", path, len(ids), reason, ", ".join(ids[:10]),
                           " ..." if len(ids) > 10 else "")
    if not kept:
        raise DataError(f"{path}: no usable items")
    return kept, texts


def _item_sizes(items: list, frontend: torch.nn.Module, path: str) -> list[float]:
    """Each item's length for bucketing and the CTC check: samples at the model's rate for audio (from the
    manifest's duration), pixel columns after height normalisation for images (from the file's header:
    Pillow opens lazily, so nothing is decoded)."""
    if not frontend.config.is_image:
        return [item.duration * frontend.config.sample_rate for item in items]
    widths, problems = [], []
    for item in items:
        try:
            widths.append(frontend.input_width(item.path))
        except (FileNotFoundError, ValueError) as error:
            problems.append(f"{item.id}: {error}")
    if problems:
        raise DataError(format_problems(path, problems))
    return widths


def _input_frames(sizes: list[float], frontend: torch.nn.Module, speedup: float) -> torch.Tensor:
    """Feature frames of items of `sizes` (see _item_sizes) once shortened `speedup` >= 1 times (the
    fastest speed perturbation, or the narrowest image stretch): the worst case training can meet."""
    if frontend.config.is_image:
        return torch.tensor([int(width / speedup) for width in sizes], dtype=torch.long)
    return frontend.num_frames(torch.tensor([int(num_samples / speedup) for num_samples in sizes]))


def _drop_infeasible(items: list, texts: list[str], sizes: list[float], vocabulary: Vocabulary,
                     model: torch.nn.Module, frontend: torch.nn.Module, speedup: float,
                     path: str) -> tuple[list, list[str], list[float]]:
    """Leave out items whose transcript cannot fit their output frames under CTC (a label repeated in a
    row needs a blank between), counting frames after the strongest shrinking augmentation; the model's
    `output_lengths` decides, and an image's message names its file and the model's minimum width.
    A model without a CTC head needs one frame only (something to attend to): an attention decoder may
    emit more tokens than there are frames."""
    ctc = has_ctc_head(model)
    output_lens = model.output_lengths(_input_frames(sizes, frontend, speedup)).tolist()
    is_image = frontend.config.is_image
    kept_items, kept_texts, kept_sizes, dropped = [], [], [], []
    for item, text, size, frames in zip(items, texts, sizes, output_lens):
        tokens = vocabulary.encode(text, item.id)
        needed = len(tokens) + sum(1 for left, right in zip(tokens, tokens[1:]) if left == right) if ctc else 1
        if needed <= frames:
            kept_items.append(item)
            kept_texts.append(text)
            kept_sizes.append(size)
        elif is_image:
            what_needs = f"{needed} labels need" if ctc else "one frame needs"
            dropped.append(f"{item.id} ({item.path.name}: {what_needs} a width of "
                           f"{math.ceil(model.min_width(needed) * speedup)} px, it is {int(size)} px at height "
                           f"{frontend.config.image_height})")
        else:
            dropped.append(f"{item.id} ({needed} {'labels' if ctc else 'frame'}, {frames} frames)")
    dropped = list(dict.fromkeys(dropped))  # a repeated item (data.train_repeats) is reported once
    if dropped:
        what = "images too narrow" if is_image else "items too short"
        logger.warning("%s: %d %s %s left out: %s%s", path, len(dropped), what,
                       "for CTC" if ctc else "for one output frame", ", ".join(dropped[:10]),
                       " ..." if len(dropped) > 10 else "")
    if not kept_items:
        raise DataError(f"{path}: every item is too short for its transcript: {', '.join(dropped[:10])}")
    return kept_items, kept_texts, kept_sizes


def prepare_data(config: ExperimentConfig, vocabulary_tokens: list[str] | None = None) -> PreparedData:
    """Read, normalise and filter both manifests; build the vocabulary from the training transcripts
    (or take the checkpoint's), and fail on any character outside it, naming the items."""
    normalize = get_normalizer(config.data.normalizer)
    train_items, train_texts = _load_split(config.data.train_manifests, "data.train_manifests", normalize, config,
                                           config.data.train_repeats)
    dev_items, dev_texts = _load_split((config.data.dev_manifest,) if config.data.dev_manifest else (),
                                       "data.dev_manifest", normalize, config)
    if vocabulary_tokens:
        vocabulary = build_vocabulary(config.data.unit, vocabulary_tokens)
    elif config.data.unit == "word":
        vocabulary = WordVocabulary.from_texts(train_texts, config.data.min_word_count)
    else:
        vocabulary = Vocabulary.from_texts(train_texts)
    vocabulary.check([(item.id, text) for item, text in zip(train_items + dev_items, train_texts + dev_texts)])
    rate = config.features.sample_rate
    return PreparedData(vocabulary, train_items, train_texts, [item.duration * rate for item in train_items],
                        dev_items, dev_texts, [item.duration * rate for item in dev_items])


def build_recognizer(config: ExperimentConfig, data: PreparedData, fit_global_stats: bool) -> torch.nn.Module:
    """Build the model; drop CTC-infeasible items from `data` in place and set its lengths from the
    front-end; estimate global feature statistics from the training audio when the config asks for them."""
    frontend = build_frontend(config.features)
    model = build_model(config.model, frontend, len(data.vocabulary))
    if config.features.kind == "image":
        speedup = 1.0 / min_width_scale(config.augment)
    elif config.features.kind == "picture":
        speedup = 1.0  # pictures are always scaled to one size
    else:
        speedup = max(1.0, max(config.augment.speed_factors, default=1.0))
    train_sizes = _item_sizes(data.train_items, frontend, "training data")
    dev_sizes = _item_sizes(data.dev_items, frontend, config.data.dev_manifest)
    data.train_items, data.train_texts, data.train_lengths = _drop_infeasible(
        data.train_items, data.train_texts, train_sizes, data.vocabulary, model, frontend, speedup, "training data")
    data.dev_items, data.dev_texts, data.dev_lengths = _drop_infeasible(
        data.dev_items, data.dev_texts, dev_sizes, data.vocabulary, model, frontend, 1.0, config.data.dev_manifest)
    if fit_global_stats and config.features.normalize == "global":
        rate = config.features.sample_rate
        step = max(1, len(data.train_items) // GLOBAL_STATS_MAX_ITEMS)
        sample = data.train_items[::step]
        frontend.fit_global_stats(load_audio(item.path, rate) for item in tqdm(sample, desc="feature statistics",
                                                                                leave=False))
    return model
