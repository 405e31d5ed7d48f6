"""Image data: the CSV importer, ImageDataset and its batches, the CTC width check, and one end-to-end CRNN
training run on a few real DHSD word images (then recognition with the trained model, library and CLI)."""

from __future__ import annotations

import csv
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from asr.cli.main import main as cli_main
from asr.config import from_dict
from asr.data.datasets import ImageDataset, SpeechDataset, build_dataset, collate_examples
from asr.data.importers import import_image_csv, split_by_speaker
from asr.data.manifest import ManifestError, ManifestItem, read_manifest, write_manifest
from asr.frontend import build_frontend
from asr.inference import load_model
from asr.text import Vocabulary
from asr.training.loop import fit
from asr.training.setup import DataError, build_recognizer, prepare_data

REPO_ROOT = Path(__file__).resolve().parents[2]
DHSD = REPO_ROOT.parent / "shared" / "data" / "dhsd"


def write_word_image(path: Path, width: int, height: int = 40, mode: str = "L") -> Path:
    """A dark bar on white paper, standing in for a written word."""
    pixels = np.full((height, width), 255, dtype=np.uint8)
    pixels[height // 4: 3 * height // 4, width // 8: width - width // 8] = 20
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).convert(mode).save(path)
    return path


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


def image_config(train_manifest: Path, dev_manifest: Path, out_dir: Path, **sections) -> object:
    base = {
        "features": {"kind": "image", "image_height": 32},
        "model": {"name": "crnn_ctc", "cnn_channels": [4, 8, 8], "cnn_width_pools": 2, "hidden_size": 16,
                  "num_layers": 1, "dropout": 0.0},
        "data": {"train_manifests": [str(train_manifest)], "dev_manifest": str(dev_manifest), "batch_size": 4},
        "optim": {"lr": 0.01, "warmup_steps": 2},
        "train": {"out_dir": str(out_dir), "max_epochs": 1, "device": "cpu", "amp": False, "seed": 1},
    }
    for section, values in sections.items():
        base[section] = {**base.get(section, {}), **values}
    return from_dict(base)


# --- importer -----------------------------------------------------------------------------------------------

def test_import_image_csv_with_header_writer_and_quoted_text(tmp_path):
    write_word_image(tmp_path / "w1" / "a.png", 80)
    write_word_image(tmp_path / "w2" / "b.jpg", 60, mode="RGB")
    csv_path = write_csv(tmp_path / "labels.csv", [["file_name", "text", "writer_id"], ["w1/a.png", "Groß Köris", "1"],
                                                  ["w2/b.jpg", "Halle, Saale", "2"]])
    items = import_image_csv(csv_path)
    assert [(item.id, item.text, item.speaker, item.kind, item.duration) for item in items] == [
        ("w1/a", "Groß Köris", "1", "image", 0.0), ("w2/b", "Halle, Saale", "2", "image", 0.0)]
    assert items[0].path == tmp_path / "w1" / "a.png"
    train, dev = split_by_speaker(items, ["2"])
    assert [item.id for item in train] == ["w1/a"] and [item.id for item in dev] == ["w2/b"]


def test_import_image_csv_without_header_or_writer_and_another_root(tmp_path):
    write_word_image(tmp_path / "images" / "x.png", 50)
    csv_path = write_csv(tmp_path / "list.csv", [["x.png", "Ulm"]])
    items = import_image_csv(csv_path, tmp_path / "images")
    assert [(item.id, item.text, item.speaker) for item in items] == [("x", "Ulm", "unknown")]


def test_import_image_csv_reports_every_bad_line(tmp_path):
    write_word_image(tmp_path / "ok.png", 50)
    (tmp_path / "broken.png").write_bytes(b"no image here")
    csv_path = write_csv(tmp_path / "labels.csv", [
        ["ok.png", "Ulm", "1"], ["missing.png", "Bonn", "1"], ["broken.png", "Kiel", "1"], ["ok.png", "Ulm", "1"],
        ["only-one-field"], ["ok2.png", "", "1"]])
    with pytest.raises(ManifestError) as raised:
        import_image_csv(csv_path)
    message = str(raised.value)
    for expected in ("5 problems", "line 2: image file not found", "missing.png", "line 3: cannot read the image "
                     "header", "line 4: duplicate image 'ok.png' (first on line 1)", "line 5: expected 2 or 3 fields",
                     "line 6: ok2.png: empty text"):
        assert expected in message


def test_cli_imports_images_split_by_writer(tmp_path, capsys):
    for name in ("a", "b", "c"):
        write_word_image(tmp_path / f"{name}.png", 64)
    csv_path = write_csv(tmp_path / "labels.csv", [["a.png", "Ab", "1"], ["b.png", "Bc", "2"], ["c.png", "Cd", "1"]])
    status = cli_main(["data", "import", "images", str(csv_path), "--out", str(tmp_path / "train.jsonl"),
                       "--dev-speakers", "2", "--dev-out", str(tmp_path / "dev.jsonl")])
    assert status == 0
    assert [item.id for item in read_manifest(tmp_path / "train.jsonl")] == ["a", "c"]
    dev = read_manifest(tmp_path / "dev.jsonl")
    assert [(item.id, item.kind, item.speaker) for item in dev] == [("b", "image", "2")]


# --- dataset and batches --------------------------------------------------------------------------------------

def test_image_dataset_pads_along_the_width_with_true_widths_as_lengths(tmp_path):
    items = [ManifestItem(id=f"img{width}", path=write_word_image(tmp_path / f"{width}.png", width), text="ab",
                          duration=0.0, speaker="w", kind="image") for width in (50, 120, 80)]
    config = image_config(tmp_path / "t.jsonl", tmp_path / "d.jsonl", tmp_path / "run")
    frontend = build_frontend(config.features)
    vocabulary = Vocabulary.from_texts(["ab"])
    dataset = build_dataset(items, ["ab"] * 3, vocabulary, frontend)
    assert isinstance(dataset, ImageDataset) and not isinstance(dataset, SpeechDataset)
    batch = collate_examples([dataset[(index, 0)] for index in range(3)])
    widths = [round(width * 32 / 40) for width in (50, 120, 80)]
    assert batch.features.shape == (3, max(widths), 32) and batch.feature_lens.tolist() == widths
    assert batch.features[0, widths[0]:].abs().max() == 0  # padding is blank paper
    assert batch.tokens.tolist() == [[1, 2]] * 3


def test_image_dataset_distortions_follow_the_augment_seed(tmp_path):
    items = [ManifestItem(id="img", path=write_word_image(tmp_path / "w.png", 90), text="ab", duration=0.0,
                          speaker="w", kind="image")]
    config = image_config(tmp_path / "t.jsonl", tmp_path / "d.jsonl", tmp_path / "run",
                          augment={"image_prob": 1.0, "image_rotate": 3, "image_width_scale": [0.8, 1.2],
                                   "image_elastic": 2.0})
    dataset = ImageDataset(items, ["ab"], Vocabulary.from_texts(["ab"]), build_frontend(config.features),
                           config.augment)
    first, again, other = dataset[(0, 11)], dataset[(0, 11)], dataset[(0, 12)]
    torch.testing.assert_close(first.features, again.features)
    assert first.features.shape != other.features.shape or not torch.equal(first.features, other.features)


def test_image_too_narrow_for_its_label_is_reported_with_its_name(tmp_path, caplog):
    wide = ManifestItem(id="wide", path=write_word_image(tmp_path / "wide_word.png", 200), text="abc",
                        duration=0.0, speaker="w", kind="image")
    narrow = ManifestItem(id="narrow", path=write_word_image(tmp_path / "narrow_word.png", 30), text="abcabcab",
                          duration=0.0, speaker="w", kind="image")
    write_manifest(tmp_path / "train.jsonl", [wide, narrow])
    write_manifest(tmp_path / "dev.jsonl", [wide])
    config = image_config(tmp_path / "train.jsonl", tmp_path / "dev.jsonl", tmp_path / "run")
    data = prepare_data(config)
    with caplog.at_level(logging.WARNING, logger="asr.training.setup"):
        model = build_recognizer(config, data, fit_global_stats=True)
    assert [item.id for item in data.train_items] == ["wide"] and data.train_lengths == [160]
    message = caplog.text
    assert "images too narrow" in message and "narrow_word.png" in message
    assert f"need a width of {model.min_width(8)} px, it is 24 px at height 32" in message

    write_manifest(tmp_path / "dev.jsonl", [narrow])
    with pytest.raises(DataError, match="narrow_word.png"):
        build_recognizer(config, prepare_data(config), fit_global_stats=True)


def test_width_check_counts_the_narrowest_stretch(tmp_path, caplog):
    # 40 px at height 32 (50 px scanned at 40) holds 10 frames at 4 px each; 9 labels fit, but not once
    # the image may be squeezed to 0.8 of its width (32 px, 8 frames).
    item = ManifestItem(id="tight", path=write_word_image(tmp_path / "tight.png", 50), text="abcdefghi",
                        duration=0.0, speaker="w", kind="image")
    spare = ManifestItem(id="spare", path=write_word_image(tmp_path / "spare.png", 200), text="ab", duration=0.0,
                         speaker="w", kind="image")
    write_manifest(tmp_path / "train.jsonl", [item, spare])
    write_manifest(tmp_path / "dev.jsonl", [item])
    plain = image_config(tmp_path / "train.jsonl", tmp_path / "dev.jsonl", tmp_path / "run")
    data = prepare_data(plain)
    build_recognizer(plain, data, fit_global_stats=True)
    assert [entry.id for entry in data.train_items] == ["tight", "spare"]
    squeezed = image_config(tmp_path / "train.jsonl", tmp_path / "dev.jsonl", tmp_path / "run",
                            augment={"image_prob": 0.5, "image_width_scale": [0.8, 1.0]})
    data = prepare_data(squeezed)
    with caplog.at_level(logging.WARNING, logger="asr.training.setup"):
        build_recognizer(squeezed, data, fit_global_stats=True)
    assert [entry.id for entry in data.train_items] == ["spare"] and [entry.id for entry in data.dev_items] == ["tight"]
    assert "tight.png: 9 labels need a width of 45 px" in caplog.text


# --- one real end-to-end run ------------------------------------------------------------------------------------

@pytest.fixture
def tiny_dhsd(tmp_path: Path) -> dict[str, Path]:
    """12 real DHSD word images of writers 1 and 2 for training, 3 of writer 3 for dev, copied to tmp_path."""
    if not (DHSD / "labels.csv").is_file():
        pytest.skip(f"the DHSD corpus is not at {DHSD}")
    with (DHSD / "labels.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    chosen = ([row for row in rows if row["writer_id"] == "1"][:6] + [row for row in rows if row["writer_id"] == "2"][:6]
              + [row for row in rows if row["writer_id"] == "3"][:3])
    for row in chosen:
        target = tmp_path / "dhsd" / row["file_name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DHSD / row["file_name"], target)
    write_csv(tmp_path / "dhsd" / "labels.csv", [["file_name", "text", "writer_id"]]
              + [[row["file_name"], row["text"], row["writer_id"]] for row in chosen])
    items = import_image_csv(tmp_path / "dhsd" / "labels.csv")
    train, dev = split_by_speaker(items, ["3"])
    write_manifest(tmp_path / "train.jsonl", train)
    # Dev characters must be in the training vocabulary: keep dev to the training texts' characters.
    seen = set("".join(item.text for item in train))
    dev = [item for item in dev if set(item.text) <= seen] or train[:2]
    write_manifest(tmp_path / "dev.jsonl", dev)
    return {"root": tmp_path, "train": tmp_path / "train.jsonl", "dev": tmp_path / "dev.jsonl",
            "images": [item.path for item in dev]}


@pytest.mark.slow
def test_end_to_end_crnn_training_on_real_handwriting(tiny_dhsd, tmp_path, capsys):
    out_dir = tmp_path / "run"
    config = image_config(tiny_dhsd["train"], tiny_dhsd["dev"], out_dir, train={"max_epochs": 2},
                          augment={"image_prob": 0.5, "image_rotate": 2, "image_shear": 0.2,
                                   "image_width_scale": [0.9, 1.1], "image_elastic": 1.0, "image_blur": 0.5,
                                   "image_stroke": 1, "image_contrast": [0.7, 1.0]},
                          data={"num_workers": 1})
    state = fit(config)
    assert state.step == 6 and state.epoch == 2 and (out_dir / "best.pt").is_file()

    transcriber = load_model(out_dir / "best.pt")
    assert transcriber.is_image and ".png" in transcriber.input_extensions
    results = list(transcriber.transcribe_files(tiny_dhsd["images"] + [tmp_path / "missing.png"]))
    assert [result.error is None for result in results] == [True] * len(tiny_dhsd["images"]) + [False]
    assert all(isinstance(result.hypothesis.text, str) for result in results[:-1])

    status = cli_main(["transcribe", str(tiny_dhsd["images"][0]), "--model", str(out_dir / "best.pt"),
                       "--format", "json"])
    assert status == 0 and '"text"' in capsys.readouterr().out
    status = cli_main(["evaluate", "--model", str(out_dir / "best.pt"), "--manifest", str(tiny_dhsd["dev"])])
    assert status == 0 and "CER:" in capsys.readouterr().out
    # A directory is searched for image files when the model reads images.
    status = cli_main(["transcribe", str(tiny_dhsd["images"][0].parent), "--model", str(out_dir / "best.pt")])
    assert status == 0


def test_a_very_narrow_image_is_still_transcribed(tiny_dhsd, tmp_path):
    config = image_config(tiny_dhsd["train"], tiny_dhsd["dev"], tmp_path / "run", train={"max_steps": 1})
    fit(config)
    sliver = write_word_image(tmp_path / "sliver.png", 3, height=64)  # 1 column at height 32: under one frame
    (result,) = load_model(tmp_path / "run" / "last.pt").transcribe_files([sliver])
    assert result.error is None and isinstance(result.hypothesis.text, str)
