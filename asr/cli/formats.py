"""Output formats of `asr transcribe`: txt, json, srt, vtt and tsv.

json, srt, vtt and tsv carry word timestamps. Subtitles group words into cues that stay short enough to
read: at most `max_chars` characters and `max_seconds` seconds, and a pause longer than `max_gap`
seconds starts a new cue.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from asr.decoding.align import WordSpan
from asr.inference import FileResult

FORMATS = ("txt", "json", "srt", "vtt", "tsv")
TIMED_FORMATS = ("json", "srt", "vtt", "tsv")


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str


def group_cues(words: Sequence[WordSpan], max_chars: int = 42, max_seconds: float = 5.0,
               max_gap: float = 1.0) -> list[Cue]:
    cues: list[Cue] = []
    current: list[WordSpan] = []
    for word in words:
        if current:
            text = " ".join(item.word for item in current + [word])
            if (len(text) > max_chars or word.end - current[0].start > max_seconds
                    or word.start - current[-1].end > max_gap):
                cues.append(_cue(current))
                current = []
        current.append(word)
    if current:
        cues.append(_cue(current))
    return cues


def _cue(words: list[WordSpan]) -> Cue:
    return Cue(words[0].start, words[-1].end, " ".join(word.word for word in words))


def timestamp(seconds: float, decimal_marker: str) -> str:
    """HH:MM:SS,mmm (SubRip) or HH:MM:SS.mmm (WebVTT)."""
    milliseconds = round(seconds * 1000)
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    whole_seconds, milliseconds = divmod(milliseconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole_seconds:02d}{decimal_marker}{milliseconds:03d}"


def to_srt(words: Sequence[WordSpan]) -> str:
    blocks = [f"{index}\n{timestamp(cue.start, ',')} --> {timestamp(cue.end, ',')}\n{cue.text}\n"
              for index, cue in enumerate(group_cues(words), start=1)]
    return "\n".join(blocks)


def to_vtt(words: Sequence[WordSpan]) -> str:
    blocks = [f"{timestamp(cue.start, '.')} --> {timestamp(cue.end, '.')}\n{cue.text}\n" for cue in group_cues(words)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_tsv(words: Sequence[WordSpan]) -> str:
    """One word per line: start and end in seconds, the word, its confidence."""
    lines = ["start\tend\tword\tconfidence"]
    lines += [f"{word.start:.3f}\t{word.end:.3f}\t{word.word}\t{word.confidence:.4f}" for word in words]
    return "\n".join(lines) + "\n"


def to_json_record(result: FileResult) -> dict:
    record = {"path": str(result.path), "text": result.hypothesis.text, "duration": round(result.duration, 3),
              "score": round(result.hypothesis.score, 4)}
    if result.words is not None:
        record["words"] = [{"word": word.word, "start": word.start, "end": word.end, "confidence": word.confidence}
                           for word in result.words]
    return record


def render(result: FileResult, output_format: str) -> str:
    """The whole output of one transcribed file in `output_format` (ending with a newline)."""
    if output_format == "txt":
        return result.hypothesis.text + "\n"
    if output_format == "json":
        return json.dumps(to_json_record(result), ensure_ascii=False) + "\n"
    words = result.words or []
    if output_format == "srt":
        return to_srt(words)
    if output_format == "vtt":
        return to_vtt(words)
    if output_format == "tsv":
        return to_tsv(words)
    raise ValueError(f"unknown output format {output_format!r}; choose one of {FORMATS}")
