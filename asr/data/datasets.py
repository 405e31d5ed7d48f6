"""Datasets that turn manifest items into model inputs, one utterance (or one image) at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from asr.audio import load_audio
from asr.config import AugmentConfig
from asr.frontend.augment import augment_waveform, spec_augment
from asr.frontend.features import FeatureExtractor
from asr.text import Vocabulary


@dataclass(frozen=True)
class Example:
    item_id: str
    features: torch.Tensor  # (num_frames, num_features); for images (width, image_height)
    tokens: torch.Tensor  # (num_tokens,) int64
    text: str


class SpeechDataset(Dataset):
    """Indexed by `(index, augment_seed)` pairs from BucketBatchSampler; the seed drives this item's
    augmentation, so the same pair always gives the same example, whatever worker computes it.

    `texts` are the already-normalised transcripts, aligned with `items`.
    """

    def __init__(self, items: Sequence, texts: Sequence[str], vocabulary: Vocabulary, frontend: FeatureExtractor,
                 augment: AugmentConfig | None = None):
        if len(items) != len(texts):
            raise ValueError(f"{len(items)} items but {len(texts)} texts")
        self.items, self.texts, self.vocabulary = list(items), list(texts), vocabulary
        self.frontend, self.augment = frontend, augment
        self.sample_rate = frontend.config.sample_rate

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | tuple[int, int]) -> Example:
        index, augment_seed = key if isinstance(key, tuple) else (key, 0)
        item = self.items[index]
        waveform = load_audio(item.path, self.sample_rate)
        generator = torch.Generator().manual_seed(augment_seed) if self.augment is not None else None
        if generator is not None:
            waveform = augment_waveform(waveform, self.augment, generator)
        with torch.no_grad():
            features = self.frontend(waveform)
        if generator is not None:
            features = spec_augment(features, self.augment, generator)
        tokens = torch.tensor(self.vocabulary.encode(self.texts[index], item.id), dtype=torch.long)
        return Example(item.id, features, tokens, self.texts[index])


class ImageDataset(Dataset):
    """Handwriting images (or pictures, for captioning), indexed like SpeechDataset by `(index, augment_seed)`
    pairs; the seed drives this item's distortions (handwriting only). Examples hold features
    `(width, image_height)`, so `collate_examples` pads along the width with blank paper (zeros) and the
    true widths become the feature lengths; pictures all have one size.
    """

    def __init__(self, items: Sequence, texts: Sequence[str], vocabulary: Vocabulary, frontend,
                 augment: AugmentConfig | None = None):
        if len(items) != len(texts):
            raise ValueError(f"{len(items)} items but {len(texts)} texts")
        self.items, self.texts, self.vocabulary = list(items), list(texts), vocabulary
        self.frontend, self.augment = frontend, augment

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | tuple[int, int]) -> Example:
        from asr.frontend.image_augment import augment_image

        index, augment_seed = key if isinstance(key, tuple) else (key, 0)
        item = self.items[index]
        ink = self.frontend.load(item.path)
        if self.augment is not None and self.augment.image_prob > 0 and ink.dim() == 2:
            ink = torch.from_numpy(augment_image(ink.numpy(), self.augment, np.random.default_rng(augment_seed)))
        features = self.frontend(ink)
        tokens = torch.tensor(self.vocabulary.encode(self.texts[index], item.id), dtype=torch.long)
        return Example(item.id, features, tokens, self.texts[index])


def build_dataset(items: Sequence, texts: Sequence[str], vocabulary: Vocabulary, frontend,
                  augment: AugmentConfig | None = None) -> Dataset:
    """The dataset for `frontend`'s modality: ImageDataset for images and pictures, else SpeechDataset."""
    if frontend.config.is_image:
        return ImageDataset(items, texts, vocabulary, frontend, augment)
    return SpeechDataset(items, texts, vocabulary, frontend, augment)


@dataclass
class Batch:
    item_ids: list[str]
    texts: list[str]
    features: torch.Tensor  # (B, T, F), zero-padded
    feature_lens: torch.Tensor  # (B,)
    tokens: torch.Tensor  # (B, L), padded with 0 (blank)
    token_lens: torch.Tensor  # (B,)

    def to(self, device: torch.device) -> Batch:
        return Batch(self.item_ids, self.texts, self.features.to(device, non_blocking=True),
                     self.feature_lens.to(device), self.tokens.to(device, non_blocking=True), self.token_lens.to(device))


def collate_examples(examples: Sequence[Example]) -> Batch:
    feature_lens = torch.tensor([example.features.shape[0] for example in examples], dtype=torch.long)
    token_lens = torch.tensor([example.tokens.shape[0] for example in examples], dtype=torch.long)
    features = torch.nn.utils.rnn.pad_sequence([example.features for example in examples], batch_first=True)
    tokens = torch.zeros(len(examples), int(token_lens.max().item()) if examples else 0, dtype=torch.long)
    for row, example in enumerate(examples):
        tokens[row, : example.tokens.shape[0]] = example.tokens
    return Batch([example.item_id for example in examples], [example.text for example in examples],
                 features, feature_lens, tokens, token_lens)
