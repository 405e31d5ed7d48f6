"""Export the inference model (front-end, encoder, head) as one TorchScript module.

The exported module maps one utterance's waveform `(num_samples,)` at the model's sample rate (for an
image model: the ink image `(height, width)` that `ImageFrontend.load` makes of a file, i.e. grey,
inverted so ink is high, contrast-stretched and scaled to the model's height; at least the model's
minimum width) to CTC log-probabilities `(num_frames, vocabulary)`; the vocabulary and the sample rate travel in the file
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


class UtteranceNetwork(nn.Module):
    """features `(num_frames, num_features)` of one unpadded input -> log_probs `(num_output_frames, V)`:
    (subsampler) -> recurrent encoder -> CTC head."""

    def __init__(self, transcriber: Transcriber):
        super().__init__()
        model = transcriber.model
        self.subsampler = getattr(model, "subsampler", None)
        self.rnn = model.encoder.rnn
        self.head = model.head

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        batch = features.unsqueeze(0)  # (1, T, F)
        # Derived from the data, not from a Python int, so a trace keeps the length dynamic.
        lengths = torch.ones_like(batch[:, :, 0], dtype=torch.long).sum(dim=1)
        if self.subsampler is not None:
            batch, lengths = self.subsampler(batch, lengths)
        states, _ = self.rnn(batch)
        return self.head(states)[0]


class SingleUtteranceModel(nn.Module):
    """front-end -> UtteranceNetwork, for one unpadded input."""

    def __init__(self, transcriber: Transcriber):
        super().__init__()
        self.frontend = transcriber.model.frontend
        self.network = UtteranceNetwork(transcriber)

    def forward(self, signal: torch.Tensor) -> torch.Tensor:
        return self.network(self.frontend(signal))


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


def export_onnx(transcriber: Transcriber, example_features: torch.Tensor, out: str | Path) -> Path:
    """The network without its front-end as ONNX (opset 17), input `features` `(frames, num_features)`
    with a dynamic number of frames, output `log_probs`. The front-end stays out because ONNX has no
    complex-valued STFT, which torchaudio's spectrograms use; compute the features with the TorchScript
    file's front-end or any MFCC/filterbank of the same settings (the config is in the .json beside it).
    Needs the `export` extra (onnx, onnxruntime)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    network = UtteranceNetwork(transcriber).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes; parity is tested
        # The TorchScript-based exporter: torch.export cannot yet export the packed-free GRU/LSTM call
        # with a dynamic length here.
        torch.onnx.export(network, (example_features,), str(out), dynamo=False, opset_version=17,
                          input_names=["features"], output_names=["log_probs"],
                          dynamic_axes={"features": {0: "frames"}, "log_probs": {0: "output_frames"}})
    sidecar = out.with_suffix(".json")
    sidecar.write_text(json.dumps({"vocabulary": list(transcriber.vocabulary.tokens),
                                   "config": transcriber.config.to_dict()}, indent=1), encoding="utf-8")
    return out
