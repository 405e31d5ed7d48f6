"""asr.frontend.features: MFCC / fbank shapes, frame geometry and normalisation."""

from __future__ import annotations

import pytest
import torch

from asr.config import FeatureConfig
from asr.frontend.features import FeatureExtractor


def noise(num_samples: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(num_samples, generator=generator)


def speechlike(num_samples: int, sample_rate: int = 16_000, seed: int = 0) -> torch.Tensor:
    """A chirp-like tone with an envelope plus a little noise: every feature dimension varies over time."""
    time = torch.arange(num_samples) / sample_rate
    frequency = 200 + 1500 * time
    envelope = 0.5 + 0.5 * torch.sin(2 * torch.pi * 3 * time)
    return 0.3 * envelope * torch.sin(2 * torch.pi * frequency * time) + noise(num_samples, seed) * 0.1


@pytest.mark.parametrize(("config", "expected_shape"), [
    (FeatureConfig(), (101, 39)),
    (FeatureConfig(deltas=False), (101, 13)),
    (FeatureConfig(kind="fbank"), (101, 120)),
    (FeatureConfig(kind="fbank", deltas=False, num_mels=80), (101, 80)),
    (FeatureConfig(sample_rate=8000), (101, 39)),
    (FeatureConfig(kind="fbank", sample_rate=8000, num_mels=23), (101, 69)),
])
def test_one_second_gives_101_frames(config, expected_shape):
    extractor = FeatureExtractor(config)
    features = extractor(speechlike(config.sample_rate, config.sample_rate))
    assert features.shape == expected_shape
    assert extractor.output_dim == expected_shape[1]
    assert features.dtype == torch.float32
    assert torch.isfinite(features).all()


@pytest.mark.parametrize(("sample_rate", "win_length", "hop_length"), [(16_000, 400, 160), (8000, 200, 80)])
def test_frame_geometry_follows_the_sample_rate(sample_rate, win_length, hop_length):
    extractor = FeatureExtractor(FeatureConfig(sample_rate=sample_rate))
    assert (extractor.win_length, extractor.hop_length) == (win_length, hop_length)


@pytest.mark.parametrize("kind", ["mfcc", "fbank"])
@pytest.mark.parametrize("num_samples", [257, 320, 400, 1234, 8000, 16_001, 23_456])
def test_num_frames_matches_the_features(kind, num_samples):
    extractor = FeatureExtractor(FeatureConfig(kind=kind))
    assert extractor.num_frames(num_samples) == extractor(noise(num_samples)).shape[0]


@pytest.mark.parametrize(("sample_rate", "min_samples"), [(16_000, 257), (8000, 129)])
def test_waveform_shorter_than_half_a_window_is_rejected_clearly(sample_rate, min_samples):
    extractor = FeatureExtractor(FeatureConfig(sample_rate=sample_rate))
    assert extractor.min_samples == min_samples
    assert extractor(noise(min_samples)).shape[0] == extractor.num_frames(min_samples)
    for num_samples in (0, 1, min_samples - 1):
        with pytest.raises(ValueError, match=f"{num_samples} samples is too short.*{min_samples} samples"):
            extractor(noise(num_samples))


@pytest.mark.parametrize("num_samples", [400, 1234, 8000, 16_001])
def test_num_frames_accepts_tensors(num_samples):
    extractor = FeatureExtractor(FeatureConfig(sample_rate=8000))
    assert extractor.num_frames(torch.tensor([num_samples])).item() == extractor(noise(num_samples)).shape[0]


@pytest.mark.parametrize("kind", ["mfcc", "fbank"])
def test_utterance_normalisation_gives_zero_mean_unit_std(kind):
    features = FeatureExtractor(FeatureConfig(kind=kind))(speechlike(16_000))
    assert torch.allclose(features.mean(dim=0), torch.zeros(features.shape[1]), atol=1e-4)
    assert torch.allclose(features.std(dim=0, unbiased=False), torch.ones(features.shape[1]), atol=1e-3)


def test_no_normalisation_gives_the_raw_features():
    extractor = FeatureExtractor(FeatureConfig(normalize="none"))
    waveform = speechlike(8000)
    assert torch.equal(extractor(waveform), extractor.raw_features(waveform))


def test_silence_gives_finite_features():
    for config in (FeatureConfig(), FeatureConfig(kind="fbank"), FeatureConfig(normalize="none", kind="fbank")):
        assert torch.isfinite(FeatureExtractor(config)(torch.zeros(4000))).all()


def test_features_are_deterministic_and_per_utterance():
    extractor = FeatureExtractor(FeatureConfig())
    waveform = speechlike(12_000)
    assert torch.equal(extractor(waveform), extractor(waveform.clone()))


def test_global_statistics_normalise_the_fitted_data():
    extractor = FeatureExtractor(FeatureConfig(normalize="global"))
    waveforms = [speechlike(length, seed=seed) for seed, length in enumerate([8000, 12_345, 16_000, 4000])]
    assert torch.equal(extractor.global_mean, torch.zeros(39))

    extractor.fit_global_stats(waveforms)

    features = torch.cat([extractor(waveform) for waveform in waveforms]).double()
    assert torch.allclose(features.mean(dim=0), torch.zeros(39, dtype=torch.float64), atol=1e-4)
    assert torch.allclose(features.std(dim=0, unbiased=False), torch.ones(39, dtype=torch.float64), atol=1e-3)
    # the statistics are buffers, so they travel in the model's checkpoint
    state = extractor.state_dict()
    assert torch.equal(state["global_mean"], extractor.global_mean)
    assert torch.equal(state["global_std"], extractor.global_std)


def test_global_statistics_load_from_a_state_dict():
    fitted = FeatureExtractor(FeatureConfig(normalize="global"))
    fitted.fit_global_stats([speechlike(8000)])
    fresh = FeatureExtractor(FeatureConfig(normalize="global"))
    fresh.load_state_dict(fitted.state_dict())
    waveform = speechlike(6000, seed=3)
    assert torch.equal(fresh(waveform), fitted(waveform))


def test_global_statistics_from_no_audio_are_an_error():
    with pytest.raises(ValueError, match="no audio"):
        FeatureExtractor(FeatureConfig()).fit_global_stats([])


def test_stereo_input_is_rejected_with_its_shape():
    with pytest.raises(ValueError, match=r"\(2, 800\)"):
        FeatureExtractor(FeatureConfig())(torch.zeros(2, 800))
