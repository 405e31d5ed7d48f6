"""The attention branch through the shared loop: joint CTC/attention on real handwriting (train, resume,
transcribe with beam search and attention plots, evaluate) and captioning of synthetic scenes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from asr.cli.main import main as cli_main
from asr.config import from_dict
from asr.data.importers import import_coco_captions
from asr.decoding.align import AlignmentError
from asr.data.manifest import read_manifest, write_manifest
from asr.inference import load_model
from asr.training.loop import fit
from asr.training.state import load_checkpoint
from tests.data.test_image_data import tiny_dhsd  # noqa: F401  (a fixture)
from tests.training.test_loop import step_losses

REPO = Path(__file__).resolve().parents[2]


def handwriting_config(manifests: dict, out_dir: Path, name: str = "crnn_joint", **train) -> object:
    return from_dict({
        "features": {"kind": "image", "image_height": 32},
        "model": {"name": name, "cnn_channels": [8, 16, 16], "cnn_width_pools": 2, "hidden_size": 16,
                  "num_layers": 1, "dropout": 0.2, "attention": "location", "attention_dim": 16,
                  "decoder_hidden_size": 24, "embedding_dim": 8},
        "data": {"train_manifests": [str(manifests["train"])], "dev_manifest": str(manifests["dev"]),
                 "batch_size": 4},
        # A fixed decay length: the schedule must not depend on the step budget of the interrupted run.
        "optim": {"lr": 0.01, "warmup_steps": 1, "decay_steps": 6},
        "train": {"out_dir": str(out_dir), "seed": 1, "max_epochs": 2, "log_every_steps": 1, "device": "cpu",
                  "ctc_weight": 0.3, **train},
        "decoding": {"decoder": "beam", "beam_size": 3, "ctc_weight": 0.3},
    })


@pytest.mark.slow
def test_joint_model_trains_resumes_exactly_and_explains_itself(tiny_dhsd, tmp_path, capsys):
    whole = tmp_path / "whole"
    state = fit(handwriting_config(tiny_dhsd, whole))
    assert state.step == 6 and (whole / "best.pt").is_file()
    # Dropout in the decoder and CTC head draws random numbers too: a resumed run must still match.
    cut = tmp_path / "cut"
    fit(handwriting_config(tiny_dhsd, cut, max_steps=4))
    fit(handwriting_config(tiny_dhsd, cut), resume=cut / "last.pt")
    expected, resumed = step_losses(whole), step_losses(cut)
    assert sorted(resumed) == list(range(1, 7))
    for step in range(1, 7):
        assert resumed[step] == pytest.approx(expected[step], rel=1e-5), step
    weights = load_checkpoint(whole / "last.pt")["model"]
    for name, tensor in load_checkpoint(cut / "last.pt")["model"].items():
        torch.testing.assert_close(tensor, weights[name], rtol=1e-5, atol=1e-6, msg=name)

    model = str(whole / "best.pt")
    image = tiny_dhsd["images"][0]
    plots = tmp_path / "plots"
    assert cli_main(["transcribe", str(image), "--model", model, "--attention-plot", str(plots)]) == 0
    assert (plots / f"{Path(image).stem}.png").is_file()
    assert cli_main(["transcribe", str(image), "--model", model, "--decoder", "greedy", "--format", "json"]) == 0
    assert '"text"' in capsys.readouterr().out
    worst = tmp_path / "worst"
    assert cli_main(["evaluate", "--model", model, "--manifest", str(tiny_dhsd["dev"]), "--attention-plot",
                     str(worst), "--worst", "1"]) == 0
    assert "CER:" in capsys.readouterr().out and len(list(worst.glob("*.png"))) == 1
    # An attention model fuses no n-gram LM: the flag is refused with a reason.
    arpa = tmp_path / "lm.arpa"
    arpa.write_text("\\data\\\nngram 1=1\n\n\\1-grams:\n-1.0\t<unk>\n\n\\end\\\n", encoding="utf-8")
    assert cli_main(["transcribe", str(image), "--model", model, "--lm", str(arpa)]) == 2
    assert "n-gram LM" in capsys.readouterr().err


@pytest.mark.slow
def test_attention_only_model_returns_its_weights_and_decodes_a_batch_as_one_by_one(tiny_dhsd, tmp_path, capsys):
    fit(handwriting_config(tiny_dhsd, tmp_path / "run", name="crnn_attention", max_steps=2))
    transcriber = load_model(tmp_path / "run" / "last.pt")
    images = tiny_dhsd["images"]
    together = list(transcriber.transcribe_files(images, batch_size=len(images)))
    for image, result in zip(images, together):
        assert result.error is None and result.attention is not None
        (alone,) = transcriber.transcribe_files([image])
        assert alone.hypothesis.tokens == result.hypothesis.tokens
        assert alone.hypothesis.score == pytest.approx(result.hypothesis.score, abs=1e-4)
        # One row per emitted token and one for <eos> (none when cut at the length limit).
        assert result.attention.shape[0] - len(result.hypothesis.tokens) in (0, 1)
        torch.testing.assert_close(result.attention.sum(-1), torch.ones(result.attention.shape[0]))
    assert cli_main(["transcribe", str(images[0]), "--model", str(tmp_path / "run" / "last.pt"),
                     "--format", "srt"]) == 2
    assert "CTC head" in capsys.readouterr().err


def make_scenes(out_dir: Path, num_images: int, seed: int) -> Path:
    if "synth_scenes_recipe" not in sys.modules:  # a recipe, not part of the package: load it by path
        spec = importlib.util.spec_from_file_location("synth_scenes_recipe", REPO / "datasets" / "synth_scenes.py")
        sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules["synth_scenes_recipe"].generate_scenes(out_dir, num_images, seed, image_size=32, progress=False)


@pytest.mark.slow
def test_captioning_trains_on_synthetic_scenes_and_reports_bleu(tmp_path, capsys):
    for split, count, seed in (("train", 24, 0), ("dev", 6, 1)):
        write_manifest(tmp_path / f"{split}.jsonl", import_coco_captions(make_scenes(tmp_path / split, count, seed)))
    out_dir = tmp_path / "run"
    config = from_dict({
        "features": {"kind": "picture", "picture_size": 32},
        "model": {"name": "cnn_attention", "cnn_channels": [8, 16, 16], "attention": "additive",
                  "attention_dim": 16, "decoder_hidden_size": 24, "embedding_dim": 8, "dropout": 0.1},
        "data": {"train_manifests": [str(tmp_path / "train.jsonl")], "dev_manifest": str(tmp_path / "dev.jsonl"),
                 "unit": "word", "min_word_count": 1, "normalizer": "lower", "batch_size": 16},
        "optim": {"lr": 0.01, "warmup_steps": 1},
        "train": {"out_dir": str(out_dir), "max_epochs": 2, "device": "cpu"},
        "decoding": {"decoder": "beam", "beam_size": 3},
    })
    fit(config)
    model = str(out_dir / "best.pt")
    pictures = sorted((tmp_path / "dev").rglob("*.png"))
    plots = tmp_path / "plots"
    assert cli_main(["caption", str(pictures[0]), str(pictures[1]), "--model", model,
                     "--attention-plot", str(plots)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # Two epochs on 24 scenes teach little: the captions may be empty, but each picture gets its line.
    assert [line.split("\t")[0] for line in lines] == [str(pictures[0]), str(pictures[1])]
    assert len(list(plots.glob("*.png"))) == 2
    assert cli_main(["evaluate", "--model", model, "--manifest", str(tmp_path / "dev.jsonl")]) == 0
    report = capsys.readouterr().out
    assert "BLEU-1" in report and "BLEU-4" in report and "pictures: 6 captioned" in report
    # Checking data against a captioner: words it lacks become <unk> (no error), and no CTC length rule.
    assert cli_main(["data", "check", str(tmp_path / "dev.jsonl"), "--model", model]) == 0
    assert "fatal finding" in capsys.readouterr().out
    # A captioning model is not a transcriber, and the other way round.
    assert cli_main(["transcribe", str(pictures[0]), "--model", model]) == 2
    assert "asr caption" in capsys.readouterr().err


@pytest.mark.slow
def test_joint_speech_model_trains_and_times_its_words(tiny_fsdd, tmp_path, capsys, monkeypatch):
    """Speech: the joint model's CTC head gives the word times that an attention decoder alone cannot."""
    config = from_dict({
        "features": {"sample_rate": 8000},
        "model": {"name": "rnn_joint", "cell": "gru", "hidden_size": 16, "num_layers": 1, "conv_channels": 8,
                  "conv_stride": 2, "attention": "additive", "attention_dim": 16, "decoder_hidden_size": 16,
                  "embedding_dim": 8},
        "data": {"train_manifests": [str(tiny_fsdd["train"])], "dev_manifest": str(tiny_fsdd["dev"]),
                 "batch_size": 4, "normalizer": "lower"},
        "optim": {"lr": 0.01, "warmup_steps": 1},
        "train": {"out_dir": str(tmp_path / "run"), "max_epochs": 2, "device": "cpu"},
        "decoding": {"decoder": "beam", "beam_size": 2},
    })
    state = fit(config)
    assert state.step == 6
    recording = read_manifest(tiny_fsdd["dev"])[0].path
    assert cli_main(["transcribe", str(recording), "--model", str(tmp_path / "run" / "best.pt"),
                     "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert " ".join(word["word"] for word in record["words"]) == record["text"]
    assert all(word["start"] <= word["end"] for word in record["words"])
    plots = tmp_path / "plots"
    assert cli_main(["transcribe", str(recording), "--model", str(tmp_path / "run" / "best.pt"),
                     "--attention-plot", str(plots)]) == 0
    assert (plots / f"{Path(recording).stem}.png").is_file()

    # A hypothesis that cannot be aligned under CTC costs its own word times only: the batch goes on.
    import asr.inference

    calls = []

    def fails_first(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise AlignmentError("needs more frames than it has")
        return real_word_timestamps(*args, **kwargs)

    real_word_timestamps = asr.inference.word_timestamps
    monkeypatch.setattr(asr.inference, "word_timestamps", fails_first)
    second = read_manifest(tiny_fsdd["dev"])[1].path
    status = cli_main(["transcribe", str(recording), str(second), "--model", str(tmp_path / "run" / "best.pt"),
                       "--format", "json", "--output-dir", str(tmp_path / "out")])
    assert status == 1 and "needs more frames" in capsys.readouterr().err
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [f"{Path(second).stem}.json"]
