"""`asr data check`: find what would break or quietly spoil a training run, before it starts.

Every item is opened (audio decoded, images loaded), so a corpus is fixed in one pass: each problem
kind is reported once with the ids of all its items. Problems that make an item unusable are fatal
(the command exits non-zero); the others are warnings a person should look at.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile
from tqdm import tqdm

from asr.data.manifest import ManifestItem

SILENCE_PEAK = 1e-4  # a peak below this (about -80 dBFS) is a silent recording, not a quiet one
MAX_CHARS_PER_SECOND = 30.0  # read speech is 10-20; more means the transcript belongs to other audio
MIN_SECONDS, MAX_SECONDS = 0.1, 30.0


@dataclass(frozen=True)
class ProblemKind:
    name: str
    fatal: bool
    hint: str


MISSING = ProblemKind("missing file", True, "the path does not exist")
UNREADABLE = ProblemKind("unreadable file", True, "not decodable audio or image (truncated, corrupt, wrong extension)")
EMPTY_AUDIO = ProblemKind("empty audio", True, "the file holds no samples")
NON_FINITE = ProblemKind("NaN or infinite samples", True, "the decoder would produce NaN losses")
EMPTY_TEXT = ProblemKind("empty transcript", True, "nothing to learn; CTC needs at least one label")
OUT_OF_VOCABULARY = ProblemKind("characters outside the vocabulary", True, "the model has no token for them")
TOO_SHORT_FOR_CTC = ProblemKind("too short for CTC", True, "fewer output frames than the transcript needs")
DUPLICATE_FILE = ProblemKind("duplicate file", False, "the same file listed under several ids")
SILENT = ProblemKind("silent audio", False, f"peak below {SILENCE_PEAK:g}")
SAMPLE_RATE_MIX = ProblemKind("sample rate differs from the most common", False,
                              "resampled on loading; check it is intended")
EXTREME_LENGTH = ProblemKind("extreme length", False,
                             f"shorter than {MIN_SECONDS:g} s or longer than {MAX_SECONDS:g} s")
FAST_SPEECH = ProblemKind("implausibly many characters per second", False,
                          f"over {MAX_CHARS_PER_SECOND:g}: the transcript may belong to other audio")


@dataclass
class CheckReport:
    num_items: int
    problems: dict[ProblemKind, list[str]] = field(default_factory=lambda: defaultdict(list))
    details: dict[ProblemKind, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, kind: ProblemKind, item_id: str, *details: str) -> None:
        self.problems[kind].append(item_id)
        for detail in details:
            self.details[kind][detail] += 1

    @property
    def fatal(self) -> bool:
        return any(kind.fatal for kind in self.problems)

    def lines(self, max_ids: int = 10) -> list[str]:
        lines = []
        for kind, ids in sorted(self.problems.items(), key=lambda entry: (not entry[0].fatal, entry[0].name)):
            shown = ", ".join(ids[:max_ids]) + (f" ... (+{len(ids) - max_ids})" if len(ids) > max_ids else "")
            level = "FATAL" if kind.fatal else "warning"
            lines.append(f"{level}: {kind.name}: {len(ids)} item(s) ({kind.hint}): {shown}")
            if self.details[kind]:
                detail = ", ".join(f"{value} in {count}" for value, count in self.details[kind].most_common(12))
                lines.append(f"    {detail}")
        return lines


def _check_audio(item: ManifestItem, report: CheckReport, rates: dict[str, int]) -> float | None:
    """Decode one audio item; returns its duration in seconds, or None when it cannot be used."""
    try:
        samples, rate = soundfile.read(str(item.path), dtype="float32", always_2d=True)
    except Exception as error:  # soundfile raises LibsndfileError, RuntimeError or TypeError by format
        report.add(UNREADABLE, item.id, type(error).__name__)
        return None
    if samples.shape[0] == 0:
        report.add(EMPTY_AUDIO, item.id)
        return None
    if not np.isfinite(samples).all():
        report.add(NON_FINITE, item.id)
        return None
    rates[item.id] = rate
    if float(np.abs(samples).max()) < SILENCE_PEAK:
        report.add(SILENT, item.id)
    return samples.shape[0] / rate


def _check_image(item: ManifestItem, report: CheckReport) -> bool:
    from PIL import Image

    try:
        with Image.open(item.path) as image:
            image.load()
    except Exception as error:  # Pillow raises OSError, SyntaxError or ValueError by format and damage
        report.add(UNREADABLE, item.id, type(error).__name__)
        return False
    return True


def check_items(items: list[ManifestItem], normalize: Callable[[str], str] = lambda text: text,
                vocabulary: Iterable[str] | None = None, frames_for: Callable[[ManifestItem, float], int] | None = None,
                progress: bool = True) -> CheckReport:
    """Check every item. `vocabulary`: the characters a model knows (with ' ' for its word boundary);
    `frames_for(item, seconds)`: its output frames under the model, for the CTC length check."""
    report = CheckReport(len(items))
    known = set(vocabulary) if vocabulary is not None else None
    rates: dict[str, int] = {}
    ids_of_file: dict[Path, list[str]] = defaultdict(list)
    for item in tqdm(items, desc="checking", unit="item", disable=not progress or None):
        ids_of_file[item.path].append(item.id)
        text = normalize(item.text)
        if not text.strip():
            report.add(EMPTY_TEXT, item.id)
        elif known is not None and (unknown := sorted(set(text) - known)):
            report.add(OUT_OF_VOCABULARY, item.id, *map(repr, unknown))
        if not item.path.is_file():
            report.add(MISSING, item.id)
            continue
        if item.kind == "image":
            usable, seconds = _check_image(item, report), 0.0
        else:
            seconds = _check_audio(item, report, rates)
            usable = seconds is not None
            if usable and not MIN_SECONDS <= seconds <= MAX_SECONDS:
                report.add(EXTREME_LENGTH, item.id, f"{seconds:.2f} s")
            if usable and seconds and len(text) / seconds > MAX_CHARS_PER_SECOND:
                report.add(FAST_SPEECH, item.id)
        if usable and frames_for is not None and text.strip():
            needed = len(text) + sum(first == second for first, second in zip(text, text[1:]))
            if frames_for(item, seconds) < needed:
                report.add(TOO_SHORT_FOR_CTC, item.id)
    for ids in ids_of_file.values():
        if len(ids) > 1:
            for item_id in ids:
                report.add(DUPLICATE_FILE, item_id)
    if rates:
        usual = Counter(rates.values()).most_common(1)[0][0]
        for item_id, rate in rates.items():
            if rate != usual:
                report.add(SAMPLE_RATE_MIX, item_id, f"{rate} Hz (most: {usual} Hz)")
    return report
