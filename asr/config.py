"""Experiment configuration: frozen dataclasses, loaded from YAML, validated in one place.

A YAML file mirrors `ExperimentConfig`; `--set section.field=value` overrides any field, the value
parsed as YAML (so `--set optim.lr=3e-4` gives a float). Unknown fields and wrong types are errors
that name the field, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from asr.audio import SAMPLE_RATE


class ConfigError(ValueError):
    """A config value is missing, unknown or invalid; the message names the field."""


@dataclass(frozen=True)
class FeatureConfig:
    """Audio front-end (mfcc, fbank), handwriting front-end (image: grey, height-normalised, width is time)
    or picture front-end (picture: colour, scaled to a square, for captioning); images ignore the audio fields."""

    kind: Literal["mfcc", "fbank", "image", "picture"] = "mfcc"
    sample_rate: int = SAMPLE_RATE  # Hz; audio at other rates is resampled to it
    num_mfcc: int = 13
    num_mels: int = 40
    deltas: bool = True  # append first and second time derivatives (13 -> 39 features for MFCC)
    # Audio: mean/variance normalisation. Images: "utterance" stretches each image's contrast so that
    # paper is 0 and the darkest ink 1; "none" only inverts (ink = 1 - grey); "global" is audio only.
    normalize: Literal["utterance", "global", "none"] = "utterance"
    image_height: int = 64  # pixels; images are scaled to this height, the aspect ratio kept
    # Handwriting: cut each image down to its writing (and a margin) before the height is normalised,
    # so that the letters come out the same size whatever white space the scan or the corpus left around them.
    image_crop: bool = False
    picture_size: int = 64  # pixels; pictures (captioning) are scaled to picture_size x picture_size

    @property
    def is_image(self) -> bool:
        """Read from image files (handwriting or pictures) rather than audio."""
        return self.kind in ("image", "picture")

    def validate(self) -> None:
        _check(self.sample_rate >= 4000, "features.sample_rate", "must be at least 4000 Hz")
        _check(self.num_mfcc >= 1, "features.num_mfcc", "must be positive")
        _check(self.num_mels >= self.num_mfcc, "features.num_mels", "must be at least features.num_mfcc")
        _check(8 <= self.image_height <= 512, "features.image_height", "must lie in [8, 512] pixels")
        _check(16 <= self.picture_size <= 512, "features.picture_size", "must lie in [16, 512] pixels")
        _check(not self.is_image or self.normalize != "global", "features.normalize",
               "'global' applies to audio features; images use 'utterance' or 'none'")
        _check(not self.image_crop or self.kind == "image", "features.image_crop",
               "applies to handwriting images (features.kind 'image')")


@dataclass(frozen=True)
class AugmentConfig:
    """Training-only augmentation; all off by default."""

    speed_factors: tuple[float, ...] = ()  # speed perturbation, one factor drawn per item, e.g. [0.9, 1.0, 1.1]
    noise_prob: float = 0.0  # probability of adding white noise
    noise_snr_db: tuple[float, float] = (10.0, 30.0)
    gain_db: tuple[float, float] = (0.0, 0.0)  # random level change
    freq_masks: int = 0  # SpecAugment: number of frequency masks
    freq_mask_width: int = 8  # feature bins
    time_masks: int = 0  # SpecAugment: number of time masks
    time_mask_width: int = 10  # frames
    time_mask_max_ratio: float = 0.2  # a time mask covers at most this share of the utterance
    # Images (asr.frontend.image_augment), on the height-normalised image; each distortion is applied
    # with probability image_prob, its strength drawn uniformly up to the bound given here.
    image_prob: float = 0.0
    image_rotate: float = 0.0  # degrees, either way
    image_shear: float = 0.0  # horizontal shear (slant), as a tangent, either way
    image_width_scale: tuple[float, float] = (1.0, 1.0)  # horizontal stretch factor range
    image_scale: tuple[float, float] = (1.0, 1.0)  # size of the writing (both axes; the height stays) range
    image_elastic: float = 0.0  # elastic warp: largest displacement, in pixels
    image_blur: float = 0.0  # largest Gaussian blur sigma, in pixels
    image_stroke: int = 0  # largest stroke thickening or thinning radius, in pixels
    image_contrast: tuple[float, float] = (1.0, 1.0)  # ink intensity factor range

    def validate(self) -> None:
        _check(all(0.5 <= factor <= 2.0 for factor in self.speed_factors), "augment.speed_factors", "must lie in [0.5, 2]")
        _check(0.0 <= self.noise_prob <= 1.0, "augment.noise_prob", "must lie in [0, 1]")
        _check(self.noise_snr_db[0] <= self.noise_snr_db[1], "augment.noise_snr_db", "must be [low, high]")
        _check(self.gain_db[0] <= self.gain_db[1], "augment.gain_db", "must be [low, high]")
        _check(0.0 <= self.time_mask_max_ratio <= 1.0, "augment.time_mask_max_ratio", "must lie in [0, 1]")
        _check(0.0 <= self.image_prob <= 1.0, "augment.image_prob", "must lie in [0, 1]")
        _check(0.0 <= self.image_rotate <= 45.0, "augment.image_rotate", "must lie in [0, 45] degrees")
        _check(0.0 <= self.image_shear <= 1.0, "augment.image_shear", "must lie in [0, 1]")
        _check(0.25 <= self.image_width_scale[0] <= self.image_width_scale[1] <= 4.0, "augment.image_width_scale",
               "must be [low, high] within [0.25, 4]")
        _check(0.5 <= self.image_scale[0] <= self.image_scale[1] <= 1.5, "augment.image_scale",
               "must be [low, high] within [0.5, 1.5]")
        _check(self.image_elastic >= 0 and self.image_blur >= 0, "augment.image_elastic",
               "and image_blur must be >= 0")
        _check(0 <= self.image_stroke <= 4, "augment.image_stroke", "must lie in [0, 4] pixels")
        _check(0.0 < self.image_contrast[0] <= self.image_contrast[1], "augment.image_contrast",
               "must be [low, high] with 0 < low")


@dataclass(frozen=True)
class ModelConfig:
    """The model's architecture; `name` picks a builder from the catalogue in asr.models."""

    name: str = "rnn_ctc"
    cell: Literal["lstm", "gru", "rnn_tanh", "rnn_relu"] = "lstm"
    hidden_size: int = 256
    num_layers: int = 3
    bidirectional: bool = True
    dropout: float = 0.1  # between recurrent layers
    identity_init: bool = False  # vanilla RNN only: recurrent weights start as the identity (IRNN)
    conv_channels: int = 0  # 0: no convolution in front of the recurrent layers
    conv_kernel: int = 5
    conv_stride: int = 1  # >1 shortens the sequence the recurrent layers see
    # crnn_ctc only: one 3x3 convolution block per entry (its output channels), each halving the height;
    # the first `cnn_width_pools` blocks also halve the width, so a frame covers 2**cnn_width_pools pixels.
    cnn_channels: tuple[int, ...] = (16, 32, 48, 64)
    cnn_width_pools: int = 2
    # Attention decoder (models *_attention and *_joint; see asr.models.decoder).
    attention: str = "location"  # additive, general, dot, scaled_dot, location, multihead
    attention_dim: int = 128
    attention_heads: int = 1  # multihead only
    decoder_cell: Literal["lstm", "gru"] = "lstm"
    decoder_hidden_size: int = 256
    embedding_dim: int = 64  # of the decoder's previous token
    # The decoder's first state: "zeros" (as in Listen, Attend and Spell), or "mean": computed from the mean
    # of the encoder states (as in Show, Attend and Tell), so that it knows what a picture holds before the
    # first word.
    decoder_start: Literal["zeros", "mean"] = "zeros"

    def validate(self) -> None:
        from asr.models import MODEL_CATALOGUE  # the catalogue imports nothing from here

        _check(self.name in MODEL_CATALOGUE, "model.name", f"must be one of {sorted(MODEL_CATALOGUE)}")
        _check(self.hidden_size >= 1 and self.num_layers >= 1, "model.hidden_size", "and num_layers must be positive")
        _check(0.0 <= self.dropout < 1.0, "model.dropout", "must lie in [0, 1)")
        _check(not self.identity_init or self.cell.startswith("rnn"), "model.identity_init",
               "applies to the vanilla RNN cells (rnn_tanh, rnn_relu) only")
        _check(self.conv_stride >= 1 and self.conv_kernel >= 1, "model.conv_stride", "and conv_kernel must be positive")
        _check(self.conv_stride == 1 or self.conv_channels > 0, "model.conv_stride",
               "needs model.conv_channels > 0 (the stride belongs to the convolution)")
        _check(len(self.cnn_channels) >= 1 and all(channels >= 1 for channels in self.cnn_channels),
               "model.cnn_channels", "must list at least one positive channel count")
        _check(0 <= self.cnn_width_pools <= len(self.cnn_channels), "model.cnn_width_pools",
               "must lie in [0, len(model.cnn_channels)]")
        from asr.models.attention import ATTENTION_KINDS

        _check(self.attention in ATTENTION_KINDS, "model.attention", f"must be one of {sorted(ATTENTION_KINDS)}")
        _check(self.attention_heads == 1 or self.attention == "multihead", "model.attention_heads",
               "more than one head needs model.attention: multihead")
        for name in ("attention_dim", "attention_heads", "decoder_hidden_size", "embedding_dim"):
            _check(getattr(self, name) >= 1, f"model.{name}", "must be positive")


@dataclass(frozen=True)
class DataConfig:
    train_manifests: tuple[str, ...] = ()  # concatenated, e.g. a real corpus and synthetic speech
    # Times each training manifest is read per epoch, one count per manifest (empty: once each), so that a
    # small real corpus beside a large synthetic one is not drowned out, e.g. [4, 2, 1].
    train_repeats: tuple[int, ...] = ()
    dev_manifest: str = ""
    normalizer: str = "none"  # see asr.text.NORMALIZERS
    unit: Literal["char", "word"] = "char"  # output tokens: characters, or words (captioning)
    min_word_count: int = 1  # word unit: rarer training words become <unk>
    batch_size: int = 32
    max_batch_seconds: float = 0.0  # >0: batches hold at most this much padded audio instead of batch_size items
    min_duration: float = 0.0  # seconds; shorter items are filtered (and counted) before training
    max_duration: float = 30.0
    num_workers: int = 0

    def validate(self) -> None:
        from asr.text import NORMALIZERS

        _check(self.normalizer in NORMALIZERS, "data.normalizer", f"must be one of {sorted(NORMALIZERS)}")
        _check(self.batch_size >= 1, "data.batch_size", "must be positive")
        _check(not self.train_repeats or len(self.train_repeats) == len(self.train_manifests), "data.train_repeats",
               f"needs one count per training manifest ({len(self.train_manifests)}), or none")
        _check(all(times >= 1 for times in self.train_repeats), "data.train_repeats", "counts must be positive")
        _check(self.max_batch_seconds >= 0, "data.max_batch_seconds", "must be >= 0")
        _check(self.num_workers >= 0, "data.num_workers", "must be >= 0")
        _check(self.min_word_count >= 1, "data.min_word_count", "must be positive")


@dataclass(frozen=True)
class OptimConfig:
    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-2
    momentum: float = 0.9  # SGD only
    warmup_steps: int = 200  # linear warm-up from 0
    schedule: Literal["cosine", "exponential", "constant"] = "cosine"  # decay after warm-up
    decay_steps: int = 0  # cosine: steps from the end of warm-up to min_lr; 0 = the whole run's step budget
    gamma: float = 0.999  # exponential: factor per step
    min_lr_ratio: float = 0.05
    clip_norm: float = 5.0  # 0 disables clipping

    def validate(self) -> None:
        _check(self.lr > 0, "optim.lr", "must be positive")
        _check(self.warmup_steps >= 0, "optim.warmup_steps", "must be >= 0")
        _check(0 < self.gamma <= 1, "optim.gamma", "must lie in (0, 1]")
        _check(0 <= self.min_lr_ratio <= 1, "optim.min_lr_ratio", "must lie in [0, 1]")


@dataclass(frozen=True)
class TrainConfig:
    out_dir: str = "exp/run"
    seed: int = 0
    device: str = "auto"  # auto: cuda when available, else cpu
    amp: bool = True  # mixed precision; used on CUDA only
    max_epochs: int = 50
    max_steps: int = 0  # 0: no limit
    max_minutes: float = 0.0  # wall-clock budget; 0: no limit
    checkpoint_every_steps: int = 500
    patience: int = 0  # early stopping: epochs without a better dev CER; 0 disables
    log_every_steps: int = 20
    threads: int = 0  # torch CPU threads; 0 leaves torch's default
    label_smoothing: float = 0.1  # attention decoders: cross-entropy against smoothed targets
    ctc_weight: float = 0.3  # joint models: loss = ctc_weight * CTC + (1 - ctc_weight) * attention

    def validate(self) -> None:
        _check(self.max_epochs >= 1, "train.max_epochs", "must be positive")
        _check(self.checkpoint_every_steps >= 1, "train.checkpoint_every_steps", "must be positive")
        _check(self.patience >= 0 and self.max_steps >= 0, "train.patience", "and max_steps must be >= 0")
        _check(0.0 <= self.label_smoothing < 1.0, "train.label_smoothing", "must lie in [0, 1)")
        _check(0.0 < self.ctc_weight < 1.0, "train.ctc_weight", "must lie in (0, 1) (use a *_ctc or *_attention "
               "model for one loss alone)")


@dataclass(frozen=True)
class DecodingConfig:
    """How a model's emissions become text; a checkpoint carries these as its decoding defaults
    (`asr lm tune` writes the tuned lm_weight and word_bonus here). Scores are natural logs."""

    decoder: Literal["greedy", "beam"] = "greedy"
    beam_size: int = 32  # CTC: a prefix's paths ending in a blank and those ending in a token count apart
    token_top_k: int = 10  # per frame, only the k most likely tokens extend prefixes (0: no limit)
    token_min_logp: float = -10.0  # ... and only those with a log-prob at least this (the best one always)
    beam_threshold: float = 25.0  # drop prefixes scoring this far below the frame's best
    lm: str = ""  # ARPA file of an n-gram LM ("": none)
    lm_kind: Literal["auto", "word", "char"] = "auto"  # auto: char if every LM word is one token
    lm_weight: float = 0.5  # alpha: multiplies the LM's natural-log probabilities
    word_bonus: float = 0.0  # beta: added per LM unit (a word; a token with a char LM)
    # Added to the fused score of a word the LM does not know, besides its <unk> log-prob; not scaled by
    # lm_weight (as in pyctcdecode), so it applies even at lm_weight 0.
    unk_score: float = -10.0
    hotwords: tuple[str, ...] = ()  # phrases to boost, spelled in the model's vocabulary
    hotword_weight: float = 2.0  # bonus per token of a completed hotword
    nbest: int = 1  # CTC: with 1, prefixes that an equal-state rival beats in both halves are ranked last
    # Attention decoders (beam search over the decoder's steps; asr.decoding.attention_search):
    length_penalty: float = 0.0  # hypotheses ranked by log-prob / (length + 1) ** length_penalty
    ctc_weight: float = 0.3  # joint models: weight of the CTC prefix score when rescoring attention hypotheses
    max_length_ratio: float = 1.0  # at most this many output tokens per encoder frame (picture: per grid position)

    def validate(self) -> None:
        _check(self.beam_size >= 1, "decoding.beam_size", "must be positive")
        _check(self.token_top_k >= 0, "decoding.token_top_k", "must be >= 0 (0: no limit)")
        _check(self.beam_threshold > 0, "decoding.beam_threshold", "must be positive")
        _check(1 <= self.nbest <= self.beam_size, "decoding.nbest", f"must lie in [1, beam_size={self.beam_size}]")
        _check(self.length_penalty >= 0, "decoding.length_penalty", "must be >= 0")
        _check(0.0 <= self.ctc_weight <= 1.0, "decoding.ctc_weight", "must lie in [0, 1]")
        _check(self.max_length_ratio > 0, "decoding.max_length_ratio", "must be positive")
        _check(self.decoder == "beam" or not (self.lm or self.hotwords), "decoding.decoder",
               "must be 'beam' to use an LM or hotwords (greedy decoding ignores them)")


@dataclass(frozen=True)
class ExperimentConfig:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)

    def validate(self) -> ExperimentConfig:
        for section in dataclasses.fields(self):
            getattr(self, section.name).validate()
        from asr.models import MODEL_INPUTS

        kind = self.features.kind if self.features.is_image else "audio"
        wanted = MODEL_INPUTS[self.model.name]
        _check(kind == wanted, "model.name", f"{self.model.name!r} reads {wanted} features"
               f"{' (features.kind: ' + wanted + ')' if wanted != 'audio' else ''}, not {kind}")
        _check(self.features.kind != "picture" or self.augment.image_prob == 0, "augment.image_prob",
               "the image distortions are for handwriting; pictures take none")
        _check(not self.features.is_image or self.data.max_batch_seconds == 0, "data.max_batch_seconds",
               "applies to audio; image batches hold data.batch_size images")
        _check(self.features.kind != "image" or self.features.image_height >> len(self.model.cnn_channels) >= 1,
               "model.cnn_channels", f"{len(self.model.cnn_channels)} blocks halve the height "
               f"{len(self.model.cnn_channels)} times: more than features.image_height={self.features.image_height} allows")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists, not tuples) that YAML, JSON and `torch.load(weights_only=True)` accept."""
        return _plain(dataclasses.asdict(self))

    def replace(self, **sections: Any) -> ExperimentConfig:
        return dataclasses.replace(self, **sections)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _check(condition: bool, field_name: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{field_name}: {message}")


def from_dict(data: dict[str, Any] | None) -> ExperimentConfig:
    """Build and validate an ExperimentConfig from nested dicts (missing fields keep their defaults)."""
    return _build(ExperimentConfig, data or {}, "").validate()


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {spec.name for spec in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown field; known fields here: {sorted(known)}")
    values = {name: _coerce(hints[name], value, f"{prefix}{name}") for name, value in data.items()}
    return cls(**values)


def _coerce(hint: Any, value: Any, name: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, f"{name}.")
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{name}: {value!r} is not one of {list(typing.get_args(hint))}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        item_types = typing.get_args(hint)
        item_type = item_types[0]
        if item_types[-1] is not Ellipsis and len(value) != len(item_types):
            raise ConfigError(f"{name}: expected {len(item_types)} values, got {len(value)}")
        return tuple(_coerce(item_type, item, name) for item in value)
    if origin in (types.UnionType, typing.Union):
        raise ConfigError(f"{name}: union-typed fields are not supported")  # none exist; guards future edits
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: expected true or false, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # PyYAML follows YAML 1.1, which reads 3e-4 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{name}: unsupported field type {hint}")


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `section.field=value` strings to nested dicts; values are parsed as YAML scalars/lists."""
    merged = {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}
    for override in overrides:
        key, sep, raw_value = override.partition("=")
        if not sep or "." not in key:
            raise ConfigError(f"--set {override!r}: expected section.field=value")
        section, field_name = key.split(".", 1)
        try:
            value = yaml.safe_load(raw_value)
        except yaml.YAMLError as error:
            raise ConfigError(f"--set {override!r}: value is not valid YAML: {error}") from error
        merged.setdefault(section, {})
        if not isinstance(merged[section], dict):
            raise ConfigError(f"--set {override!r}: {section} is not a section")
        merged[section][field_name] = value
    return merged


def _read_yaml_sections(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's sections, on top of those of the file named by its optional `base:` key (a path
    relative to this file), so a variant recipe states only what differs from its base."""
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    if path.resolve() in chain:
        raise ConfigError(f"{path}: `base` files form a cycle: {' -> '.join(map(str, chain + (path,)))}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base must be a file name, got {base!r}")
    merged = _read_yaml_sections(path.parent / base, chain + (path.resolve(),))
    for section, values in data.items():
        if isinstance(values, dict) and isinstance(merged.get(section), dict):
            merged[section] = {**merged[section], **values}
        else:
            merged[section] = values
    return merged


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    path = Path(path)
    data = _read_yaml_sections(path)
    try:
        return from_dict(apply_overrides(data, overrides or []))
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
