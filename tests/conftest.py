"""Shared fixtures: a few real recordings from ../shared/data, copied into a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from asr.data.manifest import ManifestItem, audio_duration, write_manifest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FSDD_RECORDINGS = SHARED_DATA / "fsdd" / "recordings"
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def require_fsdd() -> Path:
    if not FSDD_RECORDINGS.is_dir():
        pytest.skip(f"the FSDD corpus is not at {FSDD_RECORDINGS}")
    return FSDD_RECORDINGS


def copy_fsdd_items(destination: Path, speakers: list[str], digits: range, takes: range) -> list[ManifestItem]:
    """Copy real FSDD recordings into `destination` and describe them as manifest items."""
    recordings = require_fsdd()
    destination.mkdir(parents=True, exist_ok=True)
    items = []
    for speaker in speakers:
        for digit in digits:
            for take in takes:
                name = f"{digit}_{speaker}_{take}.flac"
                target = destination / name
                shutil.copy(recordings / name, target)
                items.append(ManifestItem(id=target.stem, path=target, text=DIGIT_WORDS[digit],
                                          duration=audio_duration(target), speaker=speaker))
    return items


@pytest.fixture
def tiny_fsdd(tmp_path: Path) -> dict[str, Path]:
    """Train and dev manifests over 12 + 4 real spoken digits (two speakers, a third for dev)."""
    train = copy_fsdd_items(tmp_path / "audio", ["jackson", "theo"], range(0, 3), range(0, 2))
    dev = copy_fsdd_items(tmp_path / "audio", ["lucas"], range(0, 2), range(0, 2))
    write_manifest(tmp_path / "train.jsonl", train)
    write_manifest(tmp_path / "dev.jsonl", dev)
    return {"root": tmp_path, "train": tmp_path / "train.jsonl", "dev": tmp_path / "dev.jsonl"}
