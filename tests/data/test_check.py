"""`asr data check`: a table of bad inputs, each reported under its kind with its item id."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from asr.cli.main import main
from asr.data.check import (DUPLICATE_FILE, EMPTY_AUDIO, EMPTY_TEXT, EXTREME_LENGTH, FAST_SPEECH, MISSING, NON_FINITE,
                            OUT_OF_VOCABULARY, SAMPLE_RATE_MIX, SILENT, TOO_SHORT_FOR_CTC, UNREADABLE, check_items)
from asr.data.manifest import ManifestItem

RATE = 8000


def tone(seconds: float, rate: int = RATE, channels: int = 1) -> np.ndarray:
    samples = 0.3 * np.sin(2 * np.pi * 220 * np.arange(int(seconds * rate)) / rate)
    return np.repeat(samples[:, None], channels, axis=1) if channels > 1 else samples


def make_item(tmp_path: Path, name: str, writer, text: str = "one") -> ManifestItem:
    path = tmp_path / name
    if writer is not None:
        writer(path)
    return ManifestItem(id=Path(name).stem, path=path, text=text, duration=1.0, speaker="s")


def truncated(path: Path) -> None:
    soundfile.write(path, tone(1.0), RATE, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:30])  # the header is cut


CASES = {
    # name: (file writer, transcript, the problem(s) expected for the item, or None for a clean one)
    "good.wav": (lambda p: soundfile.write(p, tone(1.0), RATE), "one", None),
    "pcm8.wav": (lambda p: soundfile.write(p, tone(1.0), RATE, subtype="PCM_U8"), "one", None),
    "pcm24.flac": (lambda p: soundfile.write(p, tone(1.0), RATE, subtype="PCM_24"), "one", None),
    "stereo.wav": (lambda p: soundfile.write(p, tone(1.0, channels=2), RATE), "one", None),
    "missing.wav": (None, "one", MISSING),
    "truncated.wav": (truncated, "one", UNREADABLE),
    "noise_bytes.wav": (lambda p: p.write_bytes(b"RIFF\x00\x01garbage" * 40), "one", UNREADABLE),
    "text_as.mp3": (lambda p: p.write_text("not audio at all"), "one", UNREADABLE),
    "zero_length.wav": (lambda p: soundfile.write(p, np.zeros(0), RATE), "one", EMPTY_AUDIO),
    "nan.wav": (lambda p: soundfile.write(p, np.full(RATE, np.nan), RATE, subtype="FLOAT"), "one", NON_FINITE),
    "silent.wav": (lambda p: soundfile.write(p, np.zeros(RATE), RATE), "one", SILENT),
    "other_rate.wav": (lambda p: soundfile.write(p, tone(1.0, 16000), 16000), "one", SAMPLE_RATE_MIX),
    "empty_text.wav": (lambda p: soundfile.write(p, tone(1.0), RATE), "  ", EMPTY_TEXT),
    "too_long.wav": (lambda p: soundfile.write(p, tone(31.0), RATE), "one", EXTREME_LENGTH),
    # 5 frames for 11 labels: also too short a file, and too many characters a second to be speech
    "short.wav": (lambda p: soundfile.write(p, tone(0.05), RATE), "onetwothree",
                  {TOO_SHORT_FOR_CTC, EXTREME_LENGTH, FAST_SPEECH}),
    "corrupt.png": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50), "one", UNREADABLE),
}


@pytest.fixture
def items(tmp_path: Path) -> list[ManifestItem]:
    result = []
    for name, (writer, text, _) in CASES.items():
        item = make_item(tmp_path, name, writer, text)
        if name.endswith(".png"):
            item = ManifestItem(item.id, item.path, item.text, 0.0, "s", kind="image")
        result.append(item)
    return result


def test_each_bad_input_is_reported_under_its_kind_and_good_ones_are_not(items):
    report = check_items(items, frames_for=lambda item, seconds: int(seconds * 100), progress=False)
    for name, (_, _, expected) in CASES.items():
        kinds = {kind for kind, ids in report.problems.items() if Path(name).stem in ids}
        assert kinds == (expected if isinstance(expected, set) else {expected} if expected else set()), name
    assert report.fatal


def test_out_of_vocabulary_characters_are_named_with_their_items(items):
    report = check_items(items[:1] + [items[0].__class__("x1", items[0].path, "oñe", 1.0, "s")],
                         vocabulary="one ", progress=False)
    assert report.problems[OUT_OF_VOCABULARY] == ["x1"]
    assert "'ñ' in 1" in "\n".join(report.lines())
    assert report.problems[DUPLICATE_FILE] == ["good", "x1"]  # the same file under two ids


def test_cli_exit_status_says_whether_anything_is_fatal(tmp_path, capsys):
    good = tmp_path / "good.wav"
    soundfile.write(good, tone(1.0), RATE)
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(RATE), RATE)
    records = [{"id": "a", "audio": "good.wav", "text": "one", "duration": 1.0, "speaker": "s"},
               {"id": "b", "audio": "silent.wav", "text": "two", "duration": 1.0, "speaker": "s"}]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    assert main(["data", "check", str(manifest)]) == 0  # a silent file is a warning
    assert "warning: silent audio: 1 item(s)" in capsys.readouterr().out

    records.append({"id": "c", "audio": "gone.wav", "text": "three", "duration": 1.0, "speaker": "s"})
    manifest.write_text("\n".join(json.dumps(record) for record in records) + "\n")
    assert main(["data", "check", str(manifest), "--model", "fsdd-digits"]) == 1
    out = capsys.readouterr().out
    assert "FATAL: missing file: 1 item(s)" in out and ": c" in out

    manifest.write_text(json.dumps(records[0]) + "\n{broken json\n")
    assert main(["data", "check", str(manifest)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_non_utf8_manifest_is_a_clear_error(tmp_path, capsys):
    manifest = tmp_path / "latin1.jsonl"
    manifest.write_bytes('{"id": "a", "audio": "x.wav", "text": "caf\u00e9", "duration": 1, "speaker": "s"}\n'
                         .encode("latin-1"))
    assert main(["data", "check", str(manifest)]) == 2
    error = capsys.readouterr().err
    assert "latin1.jsonl" in error and "line 1: not UTF-8 (byte 0xe9" in error


def test_a_good_image_passes(tmp_path):
    path = tmp_path / "word.png"
    Image.new("L", (64, 32), 255).save(path)
    item = ManifestItem("w", path, "ab", 0.0, "s", kind="image")
    assert not check_items([item], progress=False).problems
