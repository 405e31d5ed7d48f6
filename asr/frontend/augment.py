"""Training-only augmentation, seeded per item so results repeat after a resume and across workers.

Every function takes an explicit `torch.Generator`; none touches the global RNG.
"""

from __future__ import annotations

import torch
import torchaudio.functional

from asr.config import AugmentConfig

SPEED_RESOLUTION = 100  # speed factors are applied as the integer ratio round(100 * factor) / 100


def speed_perturb(waveform: torch.Tensor, factor: float) -> torch.Tensor:
    """Play `waveform (num_samples,)` `factor` times faster (tempo and pitch together, as in Kaldi)."""
    if factor == 1.0:
        return waveform
    # Treat the signal as if it had been recorded at factor * rate, then resample back: the integer
    # ratio keeps the polyphase kernel small.
    return torchaudio.functional.resample(waveform, round(factor * SPEED_RESOLUTION), SPEED_RESOLUTION)


def add_noise(waveform: torch.Tensor, snr_db: float, generator: torch.Generator) -> torch.Tensor:
    noise = torch.randn(waveform.shape, generator=generator)
    signal_power = waveform.pow(2).mean().clamp_min(1e-10)
    noise_scale = torch.sqrt(signal_power / (10 ** (snr_db / 10)))
    return waveform + noise * noise_scale


def _uniform(low: float, high: float, generator: torch.Generator) -> float:
    return low + (high - low) * torch.rand((), generator=generator).item()


def augment_waveform(waveform: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    if config.speed_factors:
        choice = torch.randint(len(config.speed_factors), (), generator=generator).item()
        waveform = speed_perturb(waveform, config.speed_factors[choice])
    if config.gain_db != (0.0, 0.0):
        waveform = waveform * 10 ** (_uniform(*config.gain_db, generator) / 20)
    if config.noise_prob > 0 and torch.rand((), generator=generator).item() < config.noise_prob:
        waveform = add_noise(waveform, _uniform(*config.noise_snr_db, generator), generator)
    return waveform


def spec_augment(features: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """SpecAugment masks on normalised features `(num_frames, num_features)`; masked values become 0 (the mean)."""
    num_frames, num_features = features.shape
    features = features.clone()
    for _ in range(config.freq_masks):
        width = torch.randint(config.freq_mask_width + 1, (), generator=generator).item()
        start = torch.randint(max(1, num_features - width + 1), (), generator=generator).item()
        features[:, start:start + width] = 0.0
    max_time_width = min(config.time_mask_width, int(config.time_mask_max_ratio * num_frames))
    for _ in range(config.time_masks):
        width = torch.randint(max_time_width + 1, (), generator=generator).item()
        start = torch.randint(max(1, num_frames - width + 1), (), generator=generator).item()
        features[start:start + width, :] = 0.0
    return features
