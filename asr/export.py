"""Export the inference model (front-end, encoder, head) as one TorchScript module.

The exported module maps one utterance's waveform `(num_samples,)` at the model's sample rate (or one
grey image `(height, width)` in [0, 1] for an image model, already height-normalised) to CTC
log-probabilities `(num_frames, vocabulary)`; the vocabulary and the sample rate travel in the file
as extra files, so a deployment needs no project code, only `torch.jit.load`.

A single utterance has no padding, so the packed-sequence bookkeeping of batched training is not
needed: the recurrence runs on the whole sequence, which gives the same numbers.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from asr.inference import Transcriber


class SingleUtteranceModel(nn.Module):
    """front-end -> (subsampler) -> recurrent encoder -> CTC head, for one unpadded input."""

    def __init__(self, transcriber: Transcriber):
        super().__init__()
        model = transcriber.model
        self.frontend = model.frontend
        self.subsampler = getattr(model, "subsampler", None)
        self.rnn = model.encoder.rnn
        self.head = model.head

    def forward(self, signal: torch.Tensor) -> torch.Tensor:
        features = self.frontend(signal).unsqueeze(0)  # (1, T, F)
        # Derived from the data, not from a Python int, so the trace keeps the length dynamic.
        lengths = torch.ones_like(features[:, :, 0], dtype=torch.long).sum(dim=1)
        if self.subsampler is not None:
            features, lengths = self.subsampler(features, lengths)
        states, _ = self.rnn(features)
        return self.head(states)[0]


def export_torchscript(transcriber: Transcriber, example: torch.Tensor, out: str | Path) -> Path:
    """Trace the model on `example` (a real input: the shapes it meets decide nothing but the trace's
    first run) and save it with `vocabulary.json` and `config.json` as extra files."""
    module = SingleUtteranceModel(transcriber).eval()
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about the front-end's input checks: they hold for every valid input, so
        # freezing them is right (the parity test runs other lengths than the traced one).
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(module, (example,), check_trace=False)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    extra = {"vocabulary.json": json.dumps(list(transcriber.vocabulary.tokens)),
             "config.json": json.dumps(transcriber.config.to_dict())}
    traced.save(str(out), _extra_files=extra)
    return out
