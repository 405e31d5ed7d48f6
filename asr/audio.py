"""Reading audio: the signal contract of the whole toolkit is defined here, once.

Every front-end derives its frame geometry from these constants, so a change of window or hop is
made in one place (see FeatureConfig, which may override the sample rate per recipe).
"""

from __future__ import annotations

from collections.abc import Iterator
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


def read_chunks(path: str | Path, sample_rate: int, chunk_seconds: float,
                search_seconds: float | None = None) -> Iterator[tuple[float, torch.Tensor]]:
    """Yield `(start seconds, mono waveform at sample_rate)` for consecutive pieces of an audio file of any
    length, reading it block by block, so memory is bounded by the chunk size, not the file's.

    Each piece is at most `chunk_seconds` long and ends at a pause: the quietest 10 ms of its last
    `search_seconds` (default: a third of a chunk), and within the quietest stretch, its middle, so a
    word is not cut and both neighbours keep some of the silence. The pieces tile the file exactly.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        stream = soundfile.SoundFile(str(path))
    except Exception as error:  # soundfile raises LibsndfileError, RuntimeError or TypeError by format
        raise AudioDecodeError(f"cannot decode audio file {path}: {error}") from error
    with stream:
        file_rate = stream.samplerate
        chunk = int(chunk_seconds * file_rate)
        search = int((search_seconds if search_seconds is not None else chunk_seconds / 3) * file_rate)
        frame = max(1, int(HOP_SECONDS * file_rate))
        if chunk < 2 * frame or not frame <= search < chunk:
            raise ValueError(f"chunk_seconds {chunk_seconds} and search_seconds {search_seconds} do not make chunks: "
                             f"the search must span at least {HOP_SECONDS} s and less than a chunk")
        buffer = np.zeros(0, np.float32)
        consumed = 0  # samples (at the file's rate) already yielded
        while True:
            try:
                block = stream.read(chunk, dtype="float32", always_2d=True)
            except Exception as error:  # a file damaged part-way: libsndfile fails on the block
                raise AudioDecodeError(f"cannot decode audio file {path} after {consumed / file_rate:.1f} s: "
                                       f"{error}") from error
            if block.shape[0]:
                if not np.isfinite(block).all():
                    raise AudioDecodeError(f"audio file {path} contains NaN or infinite samples")
                buffer = np.concatenate([buffer, block.mean(axis=1, dtype=np.float32)])
            finished = block.shape[0] == 0
            while buffer.shape[0] > chunk or (finished and buffer.shape[0]):
                cut = buffer.shape[0] if buffer.shape[0] <= chunk else _pause_before(buffer[:chunk], search, frame)
                piece = torch.from_numpy(np.ascontiguousarray(buffer[:cut]))
                if file_rate != sample_rate:
                    piece = torchaudio.functional.resample(piece, file_rate, sample_rate)
                yield consumed / file_rate, piece
                consumed += cut
                buffer = buffer[cut:]
            if finished:
                return


def _pause_before(samples: np.ndarray, search: int, frame: int) -> int:
    """Where to end `samples`: the middle of the quietest run of `frame`-sized windows in the last `search`."""
    start = samples.shape[0] - search
    windows = samples[start:start + (search // frame) * frame].reshape(-1, frame)
    energy = (windows.astype(np.float64) ** 2).mean(axis=1)
    quiet = np.flatnonzero(energy <= energy.min() * 1.01 + 1e-12)
    # The longest run of consecutive quietest windows; its middle.
    runs = np.split(quiet, np.flatnonzero(np.diff(quiet) > 1) + 1)
    longest = max(runs, key=len)
    return start + int(longest[len(longest) // 2]) * frame
