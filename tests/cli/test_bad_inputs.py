"""Batch commands over a table of bad inputs: each bad file is named on stderr with its problem, the
good files are still processed, and the exit status says that something failed (1), while a bad
manifest line or flag stops the command before any work (2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from asr.cli.main import main
from tests.data.test_check import CASES, make_item

# Files that no command can decode, and files that are odd but fine (handled: mixed down, rescaled,
# resampled, or just silent).
UNDECODABLE = ["missing.wav", "truncated.wav", "noise_bytes.wav", "text_as.mp3", "zero_length.wav", "nan.wav"]
HANDLED = ["good.wav", "pcm8.wav", "pcm24.flac", "stereo.wav", "silent.wav", "other_rate.wav"]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {name: make_item(tmp_path, name, CASES[name][0]).path for name in UNDECODABLE + HANDLED}


def test_transcribe_goes_on_past_every_bad_file_and_exits_1(files, capsys):
    order = [name for pair in zip(UNDECODABLE, HANDLED) for name in pair]  # bad and good interleaved
    status = main(["transcribe", *(str(files[name]) for name in order), "--model", "fsdd-digits"])
    captured = capsys.readouterr()
    assert status == 1
    transcribed = [line.split("\t")[0] for line in captured.out.splitlines()]
    assert transcribed == [str(files[name]) for name in order if name in HANDLED]
    for name in UNDECODABLE:
        assert str(files[name]) in captured.err, name


def test_evaluate_scores_the_readable_items_and_exits_1(files, tmp_path, capsys):
    manifest = tmp_path / "mixed.jsonl"
    manifest.write_text("".join(json.dumps({"id": Path(name).stem, "audio": str(files[name]), "text": "one",
                                            "duration": 1.0, "speaker": "s"}) + "\n"
                                for name in UNDECODABLE + HANDLED))
    assert main(["evaluate", "--model", "fsdd-digits", "--manifest", str(manifest)]) == 1
    captured = capsys.readouterr()
    assert f"items: {len(HANDLED)} decoded, {len(UNDECODABLE)} failed" in captured.out
    for name in UNDECODABLE:
        assert f"item {Path(name).stem}:" in captured.err, name


def test_a_broken_manifest_line_stops_evaluate_with_its_line_number(tmp_path, capsys):
    manifest = tmp_path / "broken.jsonl"
    manifest.write_text('{"id": "a", "audio": "a.wav", "text": "one", "duration": 1, "speaker": "s"}\n{"id": \n')
    assert main(["evaluate", "--model", "fsdd-digits", "--manifest", str(manifest)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_image_model_names_a_corrupt_image_and_reads_the_others(tmp_path, capsys):
    good = tmp_path / "good.png"
    Image.new("L", (120, 32), 255).save(good)
    corrupt = make_item(tmp_path, "corrupt.png", CASES["corrupt.png"][0]).path
    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (90, 40), (255, 255, 255, 255)).save(rgba)
    status = main(["transcribe", str(good), str(corrupt), str(rgba), "--model", "mnist-digits"])
    captured = capsys.readouterr()
    assert status == 1 and str(corrupt) in captured.err
    assert [line.split("\t")[0] for line in captured.out.splitlines()] == [str(good), str(rgba)]

