"""The shared training loop: exact resume, checkpoints, budgets, and one real end-to-end run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from asr.config import from_dict
from asr.inference import load_model
from asr.training.loop import fit
from asr.training.state import CheckpointError, load_checkpoint, save_checkpoint


def tiny_config(manifests: dict[str, Path], out_dir: Path, **train_overrides) -> object:
    train = {"out_dir": str(out_dir), "seed": 3, "max_epochs": 2, "checkpoint_every_steps": 1000,
             "log_every_steps": 1, "amp": False, "device": "cpu", **train_overrides}
    return from_dict({
        "features": {"sample_rate": 8000},
        # Dropout, speed perturbation, noise and SpecAugment all draw random numbers: a resumed run
        # only matches if every one of them is restored or re-derived exactly.
        "augment": {"speed_factors": [0.9, 1.0, 1.1], "noise_prob": 0.5, "freq_masks": 1, "time_masks": 1},
        "model": {"cell": "gru", "hidden_size": 16, "num_layers": 2, "dropout": 0.3,
                  "conv_channels": 8, "conv_stride": 2},
        "data": {"train_manifests": [str(manifests["train"])], "dev_manifest": str(manifests["dev"]),
                 "batch_size": 4, "normalizer": "lower"},
        "optim": {"lr": 0.01, "warmup_steps": 2, "schedule": "cosine", "decay_steps": 6},
        "train": train,
    })


def step_losses(out_dir: Path) -> dict[int, float]:
    with open(out_dir / "steps.csv", newline="") as stream:
        return {int(row["step"]): float(row["loss"]) for row in csv.DictReader(stream)}


def test_resumed_run_continues_exactly(tiny_fsdd, tmp_path):
    uninterrupted = tmp_path / "uninterrupted"
    fit(tiny_config(tiny_fsdd, uninterrupted))  # 12 items / 4 = 3 steps per epoch, 6 steps
    interrupted = tmp_path / "interrupted"
    fit(tiny_config(tiny_fsdd, interrupted, max_steps=4))  # stops mid-epoch 2, after step 4
    assert load_checkpoint(interrupted / "last.pt")["train_state"]["step"] == 4
    fit(tiny_config(tiny_fsdd, interrupted), resume=interrupted / "last.pt")

    expected, resumed = step_losses(uninterrupted), step_losses(interrupted)
    assert sorted(expected) == sorted(resumed) == list(range(1, 7))
    for step in range(1, 7):
        assert resumed[step] == pytest.approx(expected[step], rel=1e-6, abs=1e-7), step
    final_a = load_checkpoint(uninterrupted / "last.pt")["model"]
    final_b = load_checkpoint(interrupted / "last.pt")["model"]
    for name, tensor in final_a.items():
        torch.testing.assert_close(final_b[name], tensor, rtol=1e-6, atol=1e-7, msg=name)


def test_end_to_end_training_on_real_recordings(tiny_fsdd, tmp_path):
    out_dir = tmp_path / "run"
    state = fit(tiny_config(tiny_fsdd, out_dir, max_epochs=3))
    assert state.step == 9 and state.epoch == 3
    for name in ("last.pt", "best.pt", "metrics.csv", "steps.csv", "training_curves.png", "config.yaml"):
        assert (out_dir / name).is_file(), name
    losses = step_losses(out_dir)
    assert losses[9] < losses[1]  # a few steps of training lower the CTC loss on real audio
    with open(out_dir / "metrics.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [float(row["epoch"]) for row in rows] == [1, 2, 3]
    assert all(0.0 <= float(row["dev_cer"]) for row in rows)
    transcriber = load_model(out_dir / "best.pt")
    texts = [result.hypothesis.text for result in transcriber.transcribe_files(
        sorted((tiny_fsdd["root"] / "audio").glob("*lucas*.flac")))]
    assert len(texts) == 4 and all(set(text) <= set("zeroinftwh ") for text in texts)


def test_unknown_dev_character_is_an_error_naming_the_item(tiny_fsdd, tmp_path):
    dev_lines = tiny_fsdd["dev"].read_text().splitlines()
    dev_lines[0] = dev_lines[0].replace('"zero"', '"zéro"')
    tiny_fsdd["dev"].write_text("\n".join(dev_lines) + "\n")
    with pytest.raises(ValueError, match=r"'é'.*0_lucas_0"):
        fit(tiny_config(tiny_fsdd, tmp_path / "run"))


def test_checkpoint_with_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "asr-checkpoint-1", "payload": object()}, path)
    with pytest.raises(CheckpointError, match="refusing"):
        load_checkpoint(path)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"step": 1})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        save_checkpoint(path, {"step": 2})
    assert load_checkpoint(path)["step"] == 1
    assert [child.name for child in tmp_path.iterdir()] == ["last.pt"]


def test_early_stopping_ends_the_run_when_dev_cer_stops_improving(tiny_fsdd, tmp_path):
    # A learning rate of 1e-12 leaves the weights as they were, so dev CER never improves after epoch 1.
    config = tiny_config(tiny_fsdd, tmp_path / "run", max_epochs=10, patience=2)
    config = config.replace(optim=config.optim.__class__(lr=1e-12, warmup_steps=0, schedule="constant"))
    state = fit(config)
    assert state.epoch == 3 and state.epochs_without_improvement == 2


def test_a_non_finite_loss_skips_its_step_and_names_the_batch(tiny_fsdd, tmp_path, monkeypatch, caplog):
    import asr.training.loop as loop

    real_loss = loop.compute_loss
    calls = []

    def poisoned(model, batch, criterion):
        calls.append(batch.item_ids)
        loss = real_loss(model, batch, criterion)
        return loss * float("nan") if len(calls) == 2 else loss  # the second step's loss is NaN

    monkeypatch.setattr(loop, "compute_loss", poisoned)
    out_dir = tmp_path / "run"
    with caplog.at_level("WARNING", logger="asr.training.loop"):
        state = fit(tiny_config(tiny_fsdd, out_dir, max_steps=3))
    assert state.skipped_steps == 1 and state.step == 3
    assert f"step 1 skipped: non-finite loss or gradient in items {', '.join(calls[1])}" in caplog.text
    assert sorted(step_losses(out_dir)) == [1, 3]  # the skipped step logs no loss
    weights = load_checkpoint(out_dir / "last.pt")["model"]
    assert all(bool(tensor.isfinite().all()) for tensor in weights.values() if tensor.is_floating_point())
