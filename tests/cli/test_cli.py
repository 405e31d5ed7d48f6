"""The CLI: argument table, batch behaviour with bad files, and the reports it prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile

from asr.cli.main import main
from asr.data.manifest import ManifestItem, write_manifest
from tests.conftest import copy_fsdd_items


@pytest.fixture
def recordings(tmp_path: Path) -> list[ManifestItem]:
    return copy_fsdd_items(tmp_path / "audio", ["jackson"], range(0, 2), range(0, 1))


def test_transcribe_goes_on_past_a_missing_file_and_exits_non_zero(model_path, recordings, tmp_path, capsys):
    missing = tmp_path / "missing.wav"
    status = main(["transcribe", str(recordings[0].path), str(missing), str(recordings[1].path),
                   "--model", str(model_path)])
    captured = capsys.readouterr()
    assert status == 1
    lines = captured.out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(recordings[0].path), str(recordings[1].path)]
    assert str(missing) in captured.err and "not found" in captured.err
    assert "1 of 3 files" in captured.err


def test_transcribe_reports_corrupt_and_empty_files_by_name(model_path, recordings, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00garbage" * 10)
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, [], 8000)
    status = main(["transcribe", str(corrupt), str(empty), str(recordings[0].path), "--model", str(model_path),
                   "--format", "json"])
    captured = capsys.readouterr()
    assert status == 1
    assert f"cannot decode audio file {corrupt}" in captured.err
    assert f"{empty} contains no samples" in captured.err
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [record["path"] for record in records] == [str(recordings[0].path)]
    assert set(records[0]) == {"path", "text", "duration", "score", "words"}


def test_transcribe_expands_directories(model_path, recordings, capsys):
    assert main(["transcribe", str(recordings[0].path.parent), "--model", str(model_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(recordings)


def test_evaluate_writes_report_and_per_utterance_jsonl(model_path, recordings, tmp_path, capsys):
    manifest = tmp_path / "dev.jsonl"
    write_manifest(manifest, recordings)
    output = tmp_path / "report" / "utterances.jsonl"
    status = main(["evaluate", "--model", str(model_path), "--manifest", str(manifest), "--output", str(output)])
    captured = capsys.readouterr()
    assert status == 0
    assert "WER:" in captured.out and "CER:" in captured.out and "S=" in captured.out
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["id"] for row in rows] == [item.id for item in recordings]
    for row in rows:
        word = row["word_errors"]
        assert word["N"] == 1  # each reference is one digit word
        # a single-word reference: either right, or one substitution/deletion, plus any insertions
        assert word["S"] + word["D"] <= 1


@pytest.mark.parametrize("argv, message", [
    (["train"], "--config"),
    (["train", "--config", "missing.yaml"], "config file not found"),
    (["train", "--config", "configs/fsdd_bigru_ctc.yaml", "--set", "nodot=1"], "section.field=value"),
    (["train", "--config", "configs/fsdd_bigru_ctc.yaml", "--set", "model.hiden_size=3"], "model.hiden_size"),
    (["train", "--config", "configs/fsdd_bigru_ctc.yaml", "--set", "model.cell=lstmx"], "model.cell"),
    (["transcribe", "a.wav", "--format", "xml"], "invalid choice"),
    (["transcribe", "a.wav", "--model", "no-such-model"], "no model file or bundled model"),
    (["transcribe", "a.wav", "--batch-size", "0"], "--batch-size must be positive"),
    (["evaluate", "--manifest", "missing.jsonl"], "missing.jsonl"),
])
def test_bad_arguments_are_rejected_with_a_clear_message(argv, message, capsys):
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own rejections
        status = exit_.code
    assert status == 2
    assert message in capsys.readouterr().err
