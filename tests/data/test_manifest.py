"""Manifests: round trips, path resolution, and errors that name the file, the line and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from asr.data.manifest import ManifestError, ManifestItem, audio_duration, read_manifest, write_manifest


def write_tone(path: Path, num_samples: int, sample_rate: int = 8000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    time = np.arange(num_samples) / sample_rate
    soundfile.write(path, 0.1 * np.sin(2 * np.pi * 440 * time), sample_rate)
    return path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def record(item_id: str, **overrides) -> str:
    """One manifest line; a field set to ... is left out."""
    fields = {"id": item_id, "audio": f"{item_id}.wav", "text": "hi", "duration": 1.0, "speaker": "spk"}
    fields.update(overrides)
    return json.dumps({key: value for key, value in fields.items() if value is not ...})


def test_round_trip_relative_under_manifest_dir_absolute_elsewhere(tmp_path, monkeypatch):
    inside = tmp_path / "corpus" / "audio" / "a.wav"
    outside = tmp_path / "elsewhere" / "b.flac"
    items = [
        ManifestItem(id="a", path=inside, text="héllo wörld", duration=1.5, speaker="s1"),
        ManifestItem(id="b", path=outside, text="bye", duration=0.25, speaker="s2"),
    ]
    manifest = tmp_path / "corpus" / "new" / ".." / "train.jsonl"
    write_manifest(manifest, items)

    lines = [json.loads(line) for line in (tmp_path / "corpus" / "train.jsonl").read_text("utf-8").splitlines()]
    assert lines[0] == {"id": "a", "audio": "audio/a.wav", "text": "héllo wörld", "duration": 1.5, "speaker": "s1"}
    assert lines[1]["audio"] == outside.as_posix()
    assert "héllo" in (tmp_path / "corpus" / "train.jsonl").read_text("utf-8")  # ensure_ascii=False

    outside.parent.mkdir()
    monkeypatch.chdir(outside.parent)  # relative paths follow the manifest, not the working directory
    assert read_manifest(tmp_path / "corpus" / "train.jsonl") == items


def test_write_creates_parent_directories_and_leaves_no_partial_file(tmp_path):
    manifest = tmp_path / "a" / "b" / "m.jsonl"
    write_manifest(manifest, [ManifestItem(id="x", path=tmp_path / "x.wav", text="", duration=0.0, speaker="s")])
    assert [path.name for path in manifest.parent.iterdir()] == ["m.jsonl"]


def test_write_refuses_duplicate_ids(tmp_path):
    item = ManifestItem(id="x", path=tmp_path / "x.wav", text="", duration=0.0, speaker="s")
    with pytest.raises(ValueError, match="duplicate id 'x'"):
        write_manifest(tmp_path / "m.jsonl", [item, item])


def test_missing_manifest_is_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        read_manifest(tmp_path / "nope.jsonl")


def test_all_broken_lines_are_reported_with_their_numbers(tmp_path):
    manifest = write_lines(tmp_path / "m.jsonl", [
        record("a"),
        "{not json",
        "",  # blank lines are skipped but still counted
        record("b"),
        '["a", "list"]',
        record("c", duration="long"),
    ])
    with pytest.raises(ManifestError) as caught:
        read_manifest(manifest)
    message = str(caught.value)
    assert message.splitlines()[0] == f"{manifest}: 3 problems:"
    assert "line 2: invalid JSON" in message
    assert "line 5: expected a JSON object, got list" in message
    assert "line 6: field 'duration' must be a number, got str" in message
    assert "line 1:" not in message and "line 4:" not in message


@pytest.mark.parametrize("overrides, problem", [
    ({"text": ...}, "missing field 'text'"),
    ({"speaker": ...}, "missing field 'speaker'"),
    ({"duration": ...}, "missing field 'duration'"),
    ({"audio": ...}, "expected exactly one of 'audio' or 'image', found 0"),
    ({"image": "x.png"}, "expected exactly one of 'audio' or 'image', found 2"),
    ({"id": 7}, "field 'id' must be a string, got int"),
    ({"id": ""}, "field 'id' is empty"),
    ({"duration": True}, "field 'duration' must be a number, got bool"),
    ({"duration": -1}, "field 'duration' must be finite and >= 0, got -1"),
])
def test_missing_or_ill_typed_field(tmp_path, overrides, problem):
    manifest = write_lines(tmp_path / "m.jsonl", [record("a"), record("b", **overrides)])
    with pytest.raises(ManifestError, match="m.jsonl") as caught:
        read_manifest(manifest)
    assert f"line 2: {problem}" in str(caught.value)


def test_duplicate_ids_name_the_id_and_both_lines(tmp_path):
    manifest = write_lines(tmp_path / "m.jsonl", [record("a"), record("b"), record("a")])
    with pytest.raises(ManifestError, match=r"line 3: duplicate id 'a' \(first on line 1\)"):
        read_manifest(manifest)


def test_many_problems_are_listed_up_to_a_limit_then_counted(tmp_path):
    manifest = write_lines(tmp_path / "m.jsonl", ["{"] * 25)
    message = str(pytest.raises(ManifestError, read_manifest, manifest).value)
    assert "25 problems" in message and "line 20:" in message and "line 21:" not in message
    assert message.endswith("... and 5 more")


def test_image_items_need_no_duration(tmp_path):
    manifest = write_lines(tmp_path / "m.jsonl", [json.dumps({"id": "w1", "image": "img/w1.png", "text": "Köln",
                                                              "speaker": "writer3"})])
    [item] = read_manifest(manifest)
    assert item == ManifestItem(id="w1", path=tmp_path / "img" / "w1.png", text="Köln", duration=0.0,
                                speaker="writer3", kind="image")
    write_manifest(tmp_path / "copy.jsonl", [item])
    assert json.loads((tmp_path / "copy.jsonl").read_text("utf-8"))["image"] == "img/w1.png"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        ManifestItem(id="a", path=Path("a"), text="", duration=0.0, speaker="s", kind="video")


def test_audio_duration_known_answers(tmp_path):
    assert audio_duration(write_tone(tmp_path / "a.flac", 8000, 8000)) == 1.0
    assert audio_duration(write_tone(tmp_path / "b.wav", 4000, 16000)) == 0.25


def test_audio_duration_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        audio_duration(tmp_path / "missing.wav")
    garbage = tmp_path / "garbage.wav"
    garbage.write_text("not audio")
    with pytest.raises(ValueError, match="garbage.wav") as caught:
        audio_duration(garbage)
    assert caught.value.__cause__ is not None
