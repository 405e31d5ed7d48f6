"""Tests for datasets/dhsd.py: the errata are applied to the right images, and a corpus they do not fit is
reported instead of being half-corrected."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest
from PIL import Image

from asr.data.importers import import_image_csv
from asr.data.manifest import read_manifest
from tests.script_loader import REPO_ROOT, load_script

SHARED_DHSD = REPO_ROOT.parent / "shared" / "data" / "dhsd"

dhsd = load_script("datasets/dhsd.py", "dhsd_recipe")


def tiny_corpus(root: Path, rows: list[tuple[str, str, str]]) -> Path:
    """DHSD's layout: labels.csv and one small white PNG per row under german_hw_data/."""
    for file_name, _, _ in rows:
        (root / file_name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (40, 16), 255).save(root / file_name)
    with (root / dhsd.LABELS_FILE).open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["file_name", "text", "writer_id"])
        writer.writerows(rows)
    return root


ROWS = [("german_hw_data/writer1/1_0.png", "Barfußgäßchen", "1"),
        ("german_hw_data/writer1/1_1.png", "Große Straße", "1"),
        ("german_hw_data/writer2/2_0.png", "Müllerweg", "2")]


def write_errata(path: Path, lines: list[str]) -> Path:
    path.write_text("# a comment line\nfile_name,corpus_text,text\n" + "".join(line + "\n" for line in lines),
                    encoding="utf-8")
    return path


def test_errata_correct_only_the_listed_images(tmp_path):
    root = tiny_corpus(tmp_path / "dhsd", ROWS)
    errata = dhsd.read_errata(write_errata(tmp_path / "errata.csv",
                                           ["german_hw_data/writer1/1_1.png,Große Straße,Barfußgäßchen"]))
    assert errata == {"german_hw_data/writer1/1_1.png": ("Große Straße", "Barfußgäßchen")}
    items = import_image_csv(root / dhsd.LABELS_FILE, root)
    corrected = dhsd.apply_errata(items, errata, root)
    assert [item.text for item in corrected] == ["Barfußgäßchen", "Barfußgäßchen", "Müllerweg"]
    assert [item.text for item in items] == ["Barfußgäßchen", "Große Straße", "Müllerweg"]  # not changed in place


def test_errata_that_do_not_fit_the_corpus_name_the_file(tmp_path):
    root = tiny_corpus(tmp_path / "dhsd", ROWS)
    items = import_image_csv(root / dhsd.LABELS_FILE, root)
    stale = {"german_hw_data/writer1/1_1.png": ("Kleine Straße", "Barfußgäßchen"),
             "german_hw_data/writer9/9_0.png": ("Müllerweg", "Große Straße")}
    with pytest.raises(ValueError, match=r"writer1/1_1\.png: labels\.csv says 'Große Straße'") as error:
        dhsd.apply_errata(items, stale, root)
    assert "writer9/9_0.png: not in labels.csv" in str(error.value)


def test_a_malformed_erratum_names_its_line(tmp_path):
    path = write_errata(tmp_path / "errata.csv", ["german_hw_data/writer1/1_1.png,Große Straße"])
    with pytest.raises(ValueError, match=r"errata\.csv: line 3: expected file_name,corpus_text,text"):
        dhsd.read_errata(path)


def test_recipe_writes_corrected_manifests_and_keeps_the_corpus_labels_on_request(tmp_path, monkeypatch):
    root = tiny_corpus(tmp_path / "dhsd", ROWS)
    monkeypatch.setattr(dhsd, "ERRATA_FILE", write_errata(
        tmp_path / "errata.csv", ["german_hw_data/writer2/2_0.png,Müllerweg,Große Straße"]))
    assert dhsd.main(["--root", str(root), "--out", str(tmp_path / "fixed"), "--dev-writers", "2"]) == 0
    assert [item.text for item in read_manifest(tmp_path / "fixed" / "dev.jsonl")] == ["Große Straße"]
    assert dhsd.main(["--root", str(root), "--out", str(tmp_path / "raw"), "--dev-writers", "2", "--no-errata"]) == 0
    assert [item.text for item in read_manifest(tmp_path / "raw" / "dev.jsonl")] == ["Müllerweg"]


def test_committed_errata_are_swaps_within_a_writer():
    errata = dhsd.read_errata(dhsd.ERRATA_FILE)
    assert len(errata) == 45
    assert all(corpus_text != text for corpus_text, text in errata.values())
    if not (SHARED_DHSD / dhsd.LABELS_FILE).is_file():
        pytest.skip("the DHSD corpus is not beside the project")
    items = import_image_csv(SHARED_DHSD / dhsd.LABELS_FILE, SHARED_DHSD)
    dhsd.apply_errata(items, errata, SHARED_DHSD)  # raises if any erratum does not fit
    texts_of_writer = defaultdict(set)
    for item in items:
        texts_of_writer[item.speaker].add(item.text)
    for file_name, (_, text) in errata.items():
        writer = file_name.split("/")[1].removeprefix("writer")
        assert text in texts_of_writer[writer], f"{file_name}: {text!r} is not on writer {writer}'s list"
