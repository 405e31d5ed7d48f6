"""JSONL manifests: the one description of a corpus that every other part of the toolkit reads.

One item per line, for speech:

    {"id": "0_jackson_0", "audio": "rec/0_jackson_0.flac", "text": "zero", "duration": 0.43, "speaker": "jackson"}

and for handwriting the same fields with "image" in place of "audio" (the writer goes in "speaker").
Which of the two keys a line carries is the item's `kind`. Paths may be relative: they are relative to the
directory that holds the manifest, so a corpus and its manifest can be moved together.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile

# Kind of item -> the JSON key that holds its file. Adding a modality means adding a line here.
PATH_KEYS = {"audio": "audio", "image": "image"}

# Bad lines listed in full in one ManifestError; the rest are counted, so a corrupt 100k-line file
# gives a readable message instead of a wall of text.
MAX_LISTED_PROBLEMS = 20


class ManifestError(ValueError):
    """A manifest (or an importer's source file) that cannot be read; the message names file and lines."""


@dataclass(frozen=True)
class ManifestItem:
    """One utterance (or one line image) and its transcript.

    `path` is the audio or image file (absolute after `read_manifest`); `duration` is in seconds for audio.
    Images have no duration: readers accept a missing "duration" there and store 0.0.
    """

    id: str
    path: Path
    text: str
    duration: float
    speaker: str
    kind: str = "audio"

    def __post_init__(self) -> None:
        if self.kind not in PATH_KEYS:
            raise ValueError(f"item {self.id!r}: kind must be one of {sorted(PATH_KEYS)}, got {self.kind!r}")
        # Accept str paths from callers but always hold a Path, so comparisons and joins behave one way.
        if not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))


def format_problems(source: str | Path, problems: list[str]) -> str:
    """One message for many problems in one file: a summary line, then up to MAX_LISTED_PROBLEMS lines."""
    noun = "problem" if len(problems) == 1 else "problems"
    lines = [f"{source}: {len(problems)} {noun}:"]
    lines += [f"  {problem}" for problem in problems[:MAX_LISTED_PROBLEMS]]
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(f"  ... and {len(problems) - MAX_LISTED_PROBLEMS} more")
    return "\n".join(lines)


def _item_from_record(record: Any, base_dir: Path) -> ManifestItem:
    """Validate one decoded JSON line; raises ValueError with the problem (the caller adds file and line)."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    kinds = [kind for kind, key in PATH_KEYS.items() if key in record]
    if len(kinds) != 1:
        keys = " or ".join(repr(key) for key in PATH_KEYS.values())
        raise ValueError(f"expected exactly one of {keys}, found {len(kinds)}")
    kind = kinds[0]

    problems = []
    for key in ("id", "text", "speaker", PATH_KEYS[kind]):
        if key not in record:
            problems.append(f"missing field {key!r}")
        elif not isinstance(record[key], str):
            problems.append(f"field {key!r} must be a string, got {type(record[key]).__name__}")
    if "id" in record and record["id"] == "":
        problems.append("field 'id' is empty")
    if PATH_KEYS[kind] in record and record[PATH_KEYS[kind]] == "":
        problems.append(f"field {PATH_KEYS[kind]!r} is empty")

    duration = record.get("duration")
    if duration is None and kind == "audio":
        problems.append("missing field 'duration'")
    elif duration is not None:
        # bool is an int in Python; true/false in a duration field is a bug upstream, not 1 or 0 seconds.
        if isinstance(duration, bool) or not isinstance(duration, (int, float)):
            problems.append(f"field 'duration' must be a number, got {type(duration).__name__}")
        elif not math.isfinite(duration) or duration < 0:
            problems.append(f"field 'duration' must be finite and >= 0, got {duration}")
    if problems:
        raise ValueError("; ".join(problems))

    file_path = Path(record[PATH_KEYS[kind]])
    if not file_path.is_absolute():
        file_path = Path(os.path.normpath(base_dir / file_path))
    return ManifestItem(
        id=record["id"],
        path=file_path,
        text=record["text"],
        duration=float(duration) if duration is not None else 0.0,
        speaker=record["speaker"],
        kind=kind,
    )


def read_manifest(path: str | Path) -> list[ManifestItem]:
    """Read a JSONL manifest; relative paths in it are resolved against the manifest's directory.

    Every bad line (broken JSON, missing or ill-typed field, duplicate id) is collected and reported in
    one ManifestError, so a corrupt file is fixed in one pass rather than one line per run.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest not found: {path}")
    base_dir = Path(os.path.abspath(path)).parent
    items: list[ManifestItem] = []
    problems: list[str] = []
    first_line_of_id: dict[str, int] = {}
    with path.open("rb") as stream:
        for line_number, raw_line in enumerate(stream, start=1):
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as error:
                problems.append(f"line {line_number}: not UTF-8 (byte 0x{raw_line[error.start]:02x} at column "
                                f"{error.start + 1}); manifests are UTF-8 JSON")
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(f"line {line_number}: invalid JSON ({error})")
                continue
            try:
                item = _item_from_record(record, base_dir)
            except ValueError as error:
                problems.append(f"line {line_number}: {error}")
                continue
            if item.id in first_line_of_id:
                problems.append(
                    f"line {line_number}: duplicate id {item.id!r} (first on line {first_line_of_id[item.id]})"
                )
                continue
            first_line_of_id[item.id] = line_number
            items.append(item)
    if problems:
        raise ManifestError(format_problems(path, problems))
    return items


def _stored_path(file_path: Path, manifest_dir: Path) -> str:
    """Relative to the manifest's directory when the file lies under it (portable), else absolute."""
    file_path = Path(os.path.abspath(file_path))  # also folds "a/../b", which Path.absolute() keeps
    if file_path.is_relative_to(manifest_dir):
        return file_path.relative_to(manifest_dir).as_posix()
    return file_path.as_posix()


def write_manifest(path: str | Path, items: Iterable[ManifestItem]) -> None:
    """Write `items` as UTF-8 JSONL, creating parent directories.

    The file is written next to its final name and renamed into place, so an interrupted run never
    leaves a half-written manifest that a later run would read as complete.
    """
    # Lexically normalised once, so the directory that relative paths are computed against is exactly
    # the directory written to ("a/new/../m.jsonl" needs no "a/new").
    path = Path(os.path.abspath(path))
    manifest_dir = path.parent
    lines = []
    seen_ids: set[str] = set()
    for item in items:
        if item.id in seen_ids:
            raise ValueError(f"cannot write {path}: duplicate id {item.id!r}")
        seen_ids.add(item.id)
        record: dict[str, Any] = {"id": item.id, PATH_KEYS[item.kind]: _stored_path(item.path, manifest_dir),
                                  "text": item.text, "duration": item.duration, "speaker": item.speaker}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    manifest_dir.mkdir(parents=True, exist_ok=True)
    partial_path = path.with_name(path.name + ".partial")
    with partial_path.open("w", encoding="utf-8", newline="\n") as stream:
        stream.writelines(lines)
    os.replace(partial_path, path)


def audio_duration(path: str | Path) -> float:
    """Duration in seconds of an audio file, read from its header (no decoding)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        info = soundfile.info(str(path))
    except (soundfile.SoundFileError, RuntimeError) as error:  # LibsndfileError derives from both
        raise ValueError(f"cannot read the audio header of {path}: {error}") from error
    return info.frames / info.samplerate
