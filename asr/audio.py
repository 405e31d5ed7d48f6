"""Reading audio: the signal contract of the whole toolkit is defined here, once.

Every front-end derives its frame geometry from these constants, so a change of window or hop is
made in one place (see FeatureConfig, which may override the sample rate per recipe).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio.functional

SAMPLE_RATE = 16_000  # Hz, the default rate models are trained at
WINDOW_SECONDS = 0.025  # 25 ms analysis window
HOP_SECONDS = 0.010  # 10 ms between frames, so 100 frames per second

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


class AudioDecodeError(ValueError):
    """The file exists but is not audio that soundfile can decode (or it holds no samples)."""


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Decode `path` into a mono float32 waveform `(num_samples,)` in [-1, 1] at `sample_rate` Hz.

    WAV, FLAC, OGG and MP3 go through soundfile (libsndfile); integer formats are scaled to floats by
    soundfile, channels are averaged, and any other rate is resampled explicitly.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        samples, file_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as error:  # soundfile raises LibsndfileError, RuntimeError or TypeError by format
        raise AudioDecodeError(f"cannot decode audio file {path}: {error}") from error
    if samples.shape[0] == 0:
        raise AudioDecodeError(f"audio file {path} contains no samples")
    # (num_samples, num_channels) -> mono by averaging: keeps the level of a duplicated mono signal
    mono = samples.mean(axis=1, dtype=np.float32)
    if not np.isfinite(mono).all():
        raise AudioDecodeError(f"audio file {path} contains NaN or infinite samples")
    waveform = torch.from_numpy(np.ascontiguousarray(mono))
    if file_rate != sample_rate:
        waveform = torchaudio.functional.resample(waveform, file_rate, sample_rate)
    return waveform


def frame_count(num_samples: int | torch.Tensor, hop_length: int) -> int | torch.Tensor:
    """Frames that a centred STFT with `hop_length` gives for `num_samples` samples."""
    return num_samples // hop_length + 1
