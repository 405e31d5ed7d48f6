"""Acoustic features: MFCC (13 coefficients + deltas + delta-deltas) or log-mel filterbanks.

Features are computed one utterance at a time (in the data loader's workers, or at inference), so a
padded batch never changes an utterance's features: padding invariance holds from the first frame.
"""

from __future__ import annotations

import torch
import torchaudio
from torch import nn

from asr.audio import HOP_SECONDS, WINDOW_SECONDS, frame_count
from asr.config import FeatureConfig

LOG_FLOOR = 1e-6  # added to mel energies before the log, so silence gives a finite value
STD_FLOOR = 1e-5  # a constant feature dimension is not blown up by normalisation


class FeatureExtractor(nn.Module):
    """waveform `(num_samples,)` at `config.sample_rate` -> features `(num_frames, output_dim)`."""

    def __init__(self, config: FeatureConfig):
        super().__init__()
        self.config = config
        self.win_length = round(WINDOW_SECONDS * config.sample_rate)
        self.hop_length = round(HOP_SECONDS * config.sample_rate)
        n_fft = 1 << (self.win_length - 1).bit_length()  # next power of two >= window
        self.min_samples = n_fft // 2 + 1  # the centred STFT's reflect padding needs more than half a window
        mel_options = dict(n_fft=n_fft, win_length=self.win_length, hop_length=self.hop_length,
                           n_mels=config.num_mels, f_min=20.0, f_max=config.sample_rate / 2, center=True)
        if config.kind == "mfcc":
            self.transform = torchaudio.transforms.MFCC(sample_rate=config.sample_rate, n_mfcc=config.num_mfcc,
                                                        melkwargs=mel_options)
            base_dim = config.num_mfcc
        else:
            self.transform = torchaudio.transforms.MelSpectrogram(sample_rate=config.sample_rate, **mel_options)
            base_dim = config.num_mels
        self.output_dim = base_dim * (3 if config.deltas else 1)
        # Global statistics live in buffers so they travel inside the model's checkpoint.
        self.register_buffer("global_mean", torch.zeros(self.output_dim))
        self.register_buffer("global_std", torch.ones(self.output_dim))

    def num_frames(self, num_samples: int | torch.Tensor) -> int | torch.Tensor:
        return frame_count(num_samples, self.hop_length)

    def raw_features(self, waveform: torch.Tensor) -> torch.Tensor:
        """Un-normalised features `(num_frames, output_dim)` of a waveform `(num_samples,)`."""
        if waveform.dim() != 1:
            raise ValueError(f"expected a mono waveform (num_samples,), got shape {tuple(waveform.shape)}")
        if waveform.shape[0] < self.min_samples:
            raise ValueError(f"waveform of {waveform.shape[0]} samples is too short: features need at least "
                             f"{self.min_samples} samples at {self.config.sample_rate} Hz")
        spectrum = self.transform(waveform)  # (num_bins, num_frames)
        if self.config.kind == "fbank":
            spectrum = torch.log(spectrum + LOG_FLOOR)
        if self.config.deltas:
            delta = torchaudio.functional.compute_deltas(spectrum)
            spectrum = torch.cat([spectrum, delta, torchaudio.functional.compute_deltas(delta)], dim=0)
        return spectrum.transpose(0, 1).contiguous()

    def log_mel(self, waveform: torch.Tensor) -> torch.Tensor:
        """The log-mel spectrogram `(num_mels, num_frames)` on the features' frames: what a person reads
        (MFCCs are its cosine transform, unreadable as a picture), for plots."""
        transform = self.transform.MelSpectrogram if self.config.kind == "mfcc" else self.transform
        return torch.log(transform(waveform) + LOG_FLOOR)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        features = self.raw_features(waveform)
        if self.config.normalize == "utterance":
            mean = features.mean(dim=0)
            std = features.std(dim=0, unbiased=False).clamp_min(STD_FLOOR) if features.shape[0] > 1 else 1.0
            features = (features - mean) / std
        elif self.config.normalize == "global":
            features = (features - self.global_mean) / self.global_std
        return features

    @torch.no_grad()
    def fit_global_stats(self, waveforms) -> None:
        """Estimate the global mean and standard deviation from an iterable of waveforms `(num_samples,)`."""
        total = torch.zeros(self.output_dim, dtype=torch.float64)
        total_squares = torch.zeros(self.output_dim, dtype=torch.float64)
        num_frames = 0
        for waveform in waveforms:
            features = self.raw_features(waveform).double()
            total += features.sum(dim=0)
            total_squares += (features**2).sum(dim=0)
            num_frames += features.shape[0]
        if num_frames == 0:
            raise ValueError("cannot estimate global feature statistics from no audio")
        mean = total / num_frames
        variance = (total_squares / num_frames - mean**2).clamp_min(STD_FLOOR**2)
        self.global_mean.copy_(mean.float())
        self.global_std.copy_(variance.sqrt().float())
