"""`asr export`: the TorchScript file (and the ONNX network) give the eager model's log-probabilities,
within 1e-4, on real inputs of other lengths than the one they were traced on."""

from __future__ import annotations

import json

import pytest
import torch

from asr.audio import load_audio
from asr.cli.main import main
from asr.inference import PRETRAINED_DIR, load_model
from tests.conftest import copy_fsdd_items


def eager_log_probs(transcriber, features: torch.Tensor) -> torch.Tensor:
    log_probs, output_lens = transcriber.emissions([features])
    return log_probs[0, :output_lens[0]]


def test_torchscript_audio_model_matches_the_eager_model_on_real_recordings(tmp_path, capsys):
    out = tmp_path / "fsdd.ts"
    assert main(["export", "--model", "fsdd-digits", "--out", str(out)]) == 0
    extra = {"vocabulary.json": "", "config.json": ""}
    exported = torch.jit.load(str(out), _extra_files=extra)
    transcriber = load_model("fsdd-digits")
    assert json.loads(extra["vocabulary.json"]) == list(transcriber.vocabulary.tokens)
    recordings = copy_fsdd_items(tmp_path / "audio", ["lucas", "theo"], range(7, 9), range(0, 1))
    lengths = set()
    for item in recordings:
        waveform = load_audio(item.path, transcriber.sample_rate)
        lengths.add(waveform.shape[0])
        with torch.no_grad():
            expected = eager_log_probs(transcriber, transcriber.frontend(waveform))
            got = exported(waveform)
        assert got.shape == expected.shape
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)
    assert len(lengths) == len(recordings)  # every recording has its own length


def test_torchscript_image_model_matches_the_eager_model(tmp_path):
    out = tmp_path / "mnist.ts"
    assert main(["export", "--model", "mnist-digits", "--out", str(out)]) == 0
    exported = torch.jit.load(str(out))
    transcriber = load_model("mnist-digits")
    ink = transcriber.frontend.load(PRETRAINED_DIR / "samples" / "digits_605479_mnist.png")
    for width in (ink.shape[1], ink.shape[1] // 2, ink.shape[1] + 37):  # narrower and wider than traced
        image = torch.nn.functional.pad(ink, (0, max(0, width - ink.shape[1])))[:, :width]
        with torch.no_grad():
            expected = eager_log_probs(transcriber, transcriber.frontend(image))
            got = exported(image)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)


def test_export_of_a_missing_model_is_a_clear_error(tmp_path, capsys):
    assert main(["export", "--model", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "x.ts")]) == 2
    assert "nope.pt" in capsys.readouterr().err


def test_onnx_network_matches_the_eager_model_on_real_recordings(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")
    out = tmp_path / "fsdd.onnx"
    assert main(["export", "--model", "fsdd-digits", "--format", "onnx", "--out", str(out)]) == 0
    session = onnxruntime.InferenceSession(str(out))
    transcriber = load_model("fsdd-digits")
    assert json.loads(out.with_suffix(".json").read_text())["vocabulary"] == list(transcriber.vocabulary.tokens)
    for item in copy_fsdd_items(tmp_path / "audio", ["lucas", "jackson"], range(3, 5), range(0, 1)):
        with torch.no_grad():
            features = transcriber.frontend(load_audio(item.path, transcriber.sample_rate))
            expected = eager_log_probs(transcriber, features)
        (got,) = session.run(None, {"features": features.numpy()})
        torch.testing.assert_close(torch.from_numpy(got), expected, rtol=0, atol=1e-4)
