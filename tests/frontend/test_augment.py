"""asr.frontend.augment: speed perturbation, noise and gain, SpecAugment; all seeded explicitly."""

from __future__ import annotations

import math

import pytest
import torch

from asr.config import AugmentConfig
from asr.frontend.augment import add_noise, augment_waveform, spec_augment, speed_perturb

SAMPLE_RATE = 16_000


def sine(frequency: float, num_samples: int = SAMPLE_RATE) -> torch.Tensor:
    return 0.5 * torch.sin(2 * torch.pi * frequency * torch.arange(num_samples, dtype=torch.float64) / SAMPLE_RATE)


def peak_frequency(waveform: torch.Tensor) -> float:
    return torch.fft.rfft(waveform.double()).abs().argmax().item() * SAMPLE_RATE / waveform.shape[0]


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def features(num_frames: int = 100, num_features: int = 40, seed: int = 0) -> torch.Tensor:
    """Normalised-looking features with no exact zeros, so every zero after masking is a mask."""
    values = torch.randn(num_frames, num_features, generator=seeded(seed))
    return torch.where(values == 0, torch.ones_like(values), values)


@pytest.mark.parametrize("factor", [0.9, 1.1, 1.2, 0.5, 2.0])
def test_speed_perturb_length(factor):
    waveform = sine(440.0).float()
    perturbed = speed_perturb(waveform, factor)
    assert abs(perturbed.shape[0] - waveform.shape[0] / factor) <= 1
    assert perturbed.dtype == waveform.dtype


def test_speed_perturb_1_1_known_length():
    assert speed_perturb(torch.zeros(16_000), 1.1).shape == (math.ceil(16_000 / 1.1),)  # 14546


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_perturb_scales_the_pitch(factor):
    perturbed = speed_perturb(sine(440.0), factor)
    assert abs(peak_frequency(perturbed) - 440.0 * factor) <= 2.0


def test_speed_factor_one_is_the_identity():
    waveform = sine(440.0, 1000).float()
    assert torch.equal(speed_perturb(waveform, 1.0), waveform)


def test_add_noise_reaches_the_requested_snr():
    waveform = sine(300.0).float()
    noisy = add_noise(waveform, 20.0, seeded(0))
    noise = noisy - waveform
    snr_db = 10 * math.log10(waveform.pow(2).mean().item() / noise.pow(2).mean().item())
    assert abs(snr_db - 20.0) < 0.3


def test_add_noise_to_silence_stays_tiny():
    assert add_noise(torch.zeros(1000), 10.0, seeded(0)).abs().max() < 1e-3


def test_default_augment_config_is_the_identity():
    waveform = sine(440.0, 4000).float()
    assert torch.equal(augment_waveform(waveform, AugmentConfig(), seeded(0)), waveform)


def test_fixed_gain_scales_by_the_known_factor():
    waveform = sine(440.0, 4000).float()
    louder = augment_waveform(waveform, AugmentConfig(gain_db=(6.0, 6.0)), seeded(0))
    assert torch.allclose(louder, waveform * 10 ** (6 / 20))


def test_augment_waveform_is_deterministic_for_a_seeded_generator():
    config = AugmentConfig(speed_factors=(0.9, 1.0, 1.1), noise_prob=0.5, gain_db=(-6.0, 6.0))
    waveform = sine(440.0, 8000).float()
    for seed in range(6):
        first = augment_waveform(waveform, config, seeded(seed))
        second = augment_waveform(waveform, config, seeded(seed))
        assert torch.equal(first, second)
    outputs = {tuple(augment_waveform(waveform, config, seeded(seed))[:50].tolist()) for seed in range(6)}
    assert len(outputs) > 1  # different seeds do draw different augmentations


def test_augmentation_leaves_the_global_rng_alone():
    config = AugmentConfig(speed_factors=(0.9, 1.1), noise_prob=1.0, gain_db=(-3.0, 3.0), freq_masks=2, time_masks=2)
    state = torch.get_rng_state()
    augment_waveform(sine(440.0, 4000).float(), config, seeded(1))
    spec_augment(features(), config, seeded(1))
    assert torch.equal(torch.get_rng_state(), state)


def test_spec_augment_same_seed_same_result():
    config = AugmentConfig(freq_masks=2, freq_mask_width=8, time_masks=2, time_mask_width=10)
    original = features()
    first = spec_augment(original, config, seeded(3))
    assert torch.equal(first, spec_augment(original, config, seeded(3)))
    assert any(not torch.equal(first, spec_augment(original, config, seeded(seed))) for seed in range(4, 10))


def test_spec_augment_only_zeroes_values():
    config = AugmentConfig(freq_masks=2, freq_mask_width=8, time_masks=2, time_mask_width=10)
    original = features()
    for seed in range(20):
        masked = spec_augment(original, config, seeded(seed))
        assert masked.shape == original.shape
        changed = masked != original
        assert (masked[changed] == 0).all()  # every changed value became 0 (the normalised mean)
    assert torch.equal(original, features())  # the input is not modified in place


def test_spec_augment_masks_are_whole_bands_and_spans():
    config = AugmentConfig(freq_masks=1, freq_mask_width=8, time_masks=0)
    for seed in range(20):
        zeros = spec_augment(features(), config, seeded(seed)) == 0
        assert torch.equal(zeros.all(dim=0), zeros.any(dim=0))  # a frequency mask covers every frame
        columns = zeros.all(dim=0).nonzero().flatten().tolist()
        assert len(columns) <= 8
        if columns:
            assert columns == list(range(columns[0], columns[0] + len(columns)))  # one contiguous band


def test_time_masks_respect_the_max_ratio():
    config = AugmentConfig(time_masks=1, time_mask_width=50, time_mask_max_ratio=0.1)
    for seed in range(20):
        masked_frames = (spec_augment(features(num_frames=60), config, seeded(seed)) == 0).all(dim=1)
        assert masked_frames.sum() <= 6  # 10 % of 60 frames, though the width allows 50


def test_spec_augment_with_no_masks_is_the_identity():
    original = features()
    assert torch.equal(spec_augment(original, AugmentConfig(), seeded(0)), original)


def test_spec_augment_on_very_short_utterances():
    config = AugmentConfig(freq_masks=2, time_masks=2, time_mask_width=10)
    for num_frames in (1, 2, 3):
        masked = spec_augment(features(num_frames=num_frames), config, seeded(0))
        assert masked.shape == (num_frames, 40)
