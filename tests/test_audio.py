"""asr.audio: decoding, downmixing, resampling and the errors at the file boundary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from asr.audio import HOP_SECONDS, SAMPLE_RATE, WINDOW_SECONDS, AudioDecodeError, frame_count, load_audio


def sine(frequency: float, num_samples: int, sample_rate: int, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * frequency * np.arange(num_samples) / sample_rate)).astype(np.float32)


def peak_frequency(waveform: torch.Tensor, sample_rate: int) -> float:
    spectrum = torch.fft.rfft(waveform.double()).abs()
    return spectrum.argmax().item() * sample_rate / waveform.shape[0]


def test_signal_constants_give_100_frames_per_second():
    assert SAMPLE_RATE == 16_000
    assert round(WINDOW_SECONDS * SAMPLE_RATE) == 400
    assert round(HOP_SECONDS * SAMPLE_RATE) == 160


@pytest.mark.parametrize(("num_samples", "hop_length", "expected"),
                         [(0, 160, 1), (159, 160, 1), (160, 160, 2), (16_000, 160, 101), (8_000, 80, 101)])
def test_frame_count_known_answers(num_samples, hop_length, expected):
    assert frame_count(num_samples, hop_length) == expected


def test_frame_count_accepts_tensors():
    counts = frame_count(torch.tensor([0, 160, 16_000]), 160)
    assert counts.tolist() == [1, 2, 101]


# (format, subtype, extension, largest allowed sample error against the written float signal)
FORMATS = [
    ("WAV", "PCM_16", "wav", 1 / 32768),
    ("WAV", "PCM_24", "wav", 1 / 2**23),
    ("WAV", "FLOAT", "wav", 0.0),
    ("FLAC", "PCM_16", "flac", 1 / 32768),
    ("OGG", "VORBIS", "ogg", None),  # lossy: checked by its spectrum
    ("MP3", "MPEG_LAYER_III", "mp3", None),
]


@pytest.mark.parametrize(("file_format", "subtype", "extension", "tolerance"), FORMATS,
                         ids=[f"{fmt}-{sub}" for fmt, sub, *_ in FORMATS])
def test_formats_load_as_mono_float32_of_the_right_length(tmp_path, file_format, subtype, extension, tolerance):
    if file_format not in soundfile.available_formats() or subtype not in soundfile.available_subtypes(file_format):
        pytest.skip(f"this libsndfile ({soundfile.__libsndfile_version__}) cannot write {file_format}/{subtype}")
    signal = sine(440.0, SAMPLE_RATE, SAMPLE_RATE)
    path = tmp_path / f"tone.{extension}"
    soundfile.write(path, signal, SAMPLE_RATE, format=file_format, subtype=subtype)

    waveform = load_audio(path)

    assert waveform.dtype == torch.float32
    assert waveform.shape == (SAMPLE_RATE,)
    assert waveform.abs().max() <= 1.0
    if tolerance is not None:
        assert np.abs(waveform.numpy() - signal).max() <= tolerance + 1e-7
    else:
        assert abs(peak_frequency(waveform, SAMPLE_RATE) - 440.0) <= 1.0
        assert abs(waveform.abs().max().item() - 0.5) < 0.1


def test_16_bit_integers_scale_to_known_floats(tmp_path):
    path = tmp_path / "int16.wav"
    soundfile.write(path, np.array([0, 16384, -16384, -32768, 32767], dtype=np.int16), SAMPLE_RATE, subtype="PCM_16")
    assert load_audio(path).tolist() == [0.0, 0.5, -0.5, -1.0, 32767 / 32768]


def test_str_paths_are_accepted(tmp_path):
    path = tmp_path / "tone.wav"
    soundfile.write(path, sine(440.0, 800, SAMPLE_RATE), SAMPLE_RATE, subtype="FLOAT")
    assert torch.equal(load_audio(str(path)), load_audio(path))


def test_stereo_channels_are_averaged(tmp_path):
    left = np.array([0.5, 0.25, -1.0, 0.0], dtype=np.float32)
    right = np.array([-0.5, 0.75, 0.0, 0.5], dtype=np.float32)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1), SAMPLE_RATE, subtype="FLOAT")
    assert load_audio(path).tolist() == [0.0, 0.5, -0.5, 0.25]


def test_duplicated_mono_keeps_its_level(tmp_path):
    signal = sine(440.0, 1600, SAMPLE_RATE)
    path = tmp_path / "dual_mono.flac"
    soundfile.write(path, np.stack([signal, signal], axis=1), SAMPLE_RATE, subtype="PCM_24")
    assert np.abs(load_audio(path).numpy() - signal).max() < 1e-6


def test_8_khz_file_is_resampled_to_16_khz(tmp_path):
    num_samples = 8000  # one second
    path = tmp_path / "narrowband.wav"
    soundfile.write(path, sine(440.0, num_samples, 8000), 8000, subtype="PCM_16")

    waveform = load_audio(path, sample_rate=16_000)

    assert waveform.dtype == torch.float32
    assert abs(waveform.shape[0] - 2 * num_samples) <= 1
    assert abs(peak_frequency(waveform, 16_000) - 440.0) <= 1.0


def test_file_at_the_requested_rate_is_not_resampled(tmp_path):
    signal = sine(440.0, 8000, 8000)
    path = tmp_path / "narrowband.wav"
    soundfile.write(path, signal, 8000, subtype="FLOAT")
    assert np.array_equal(load_audio(path, sample_rate=8000).numpy(), signal)


def test_missing_file_raises_file_not_found_naming_the_path(tmp_path):
    path = tmp_path / "nowhere" / "missing.wav"
    with pytest.raises(FileNotFoundError, match="missing.wav") as caught:
        load_audio(path)
    assert str(path) in str(caught.value)


def test_a_directory_is_not_an_audio_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_audio(tmp_path)


def test_corrupt_file_raises_audio_decode_error_naming_the_file(tmp_path):
    path = tmp_path / "corrupt.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(AudioDecodeError, match="corrupt.wav") as caught:
        load_audio(path)
    assert caught.value.__cause__ is not None  # chained from soundfile's own error
    assert isinstance(caught.value, ValueError)


def test_wav_with_no_samples_raises_audio_decode_error(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0, dtype=np.float32), SAMPLE_RATE, subtype="PCM_16")
    assert soundfile.info(str(path)).frames == 0
    with pytest.raises(AudioDecodeError, match="empty.wav"):
        load_audio(path)


def test_zero_byte_file_raises_audio_decode_error(tmp_path):
    path = tmp_path / "zero_bytes.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match="zero_bytes.wav"):
        load_audio(path)


def test_non_finite_samples_raise_audio_decode_error(tmp_path):
    path = tmp_path / "nan.wav"
    soundfile.write(path, np.array([0.0, np.nan, 0.5], dtype=np.float32), SAMPLE_RATE, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="nan.wav"):
        load_audio(path)


def test_audio_decode_error_is_raised_for_a_text_file_with_an_audio_extension(tmp_path: Path):
    path = tmp_path / "notes.flac"
    path.write_text("this is not audio\n" * 20, encoding="utf-8")
    with pytest.raises(AudioDecodeError, match="notes.flac"):
        load_audio(path)
