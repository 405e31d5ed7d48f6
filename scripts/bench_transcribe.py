"""Real-time factor and peak memory of `asr transcribe` on real recordings, greedy and with beam search + LM.

    .venv/bin/python scripts/bench_transcribe.py --model english-small --manifest data/english/lj_dev.jsonl \\
        --lm exp/lm/english_char6.arpa --lm-weight 1 --word-bonus 2 --long-minutes 60

Each configuration runs `asr transcribe` as a fresh process (as a user would), on (a) the manifest's
recordings, one file each, and (b) one long file made by joining those recordings end to end (with a
short pause between them) until it lasts --long-minutes, which `asr transcribe` reads in pieces. The
real-time factor is the process's wall time, start-up and model loading included, divided by the audio's
duration; peak memory is the process's maximum resident set size (from wait4). The threads are the
machine's (torch's default).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.audio import load_audio  # noqa: E402
from asr.data.manifest import read_manifest  # noqa: E402

PAUSE_SECONDS = 0.5
LONG_RATE = 16_000


def run_transcribe(arguments: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit status) of one `asr transcribe` process."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "asr", "--log-level", "WARNING", "transcribe", *arguments],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        print(process.stderr.read().decode(errors="replace")[-2000:], file=sys.stderr)
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def make_long_file(paths: list[Path], minutes: float, target: Path) -> float:
    """Join `paths` (repeated as needed) into one FLAC of at least `minutes`, writing as it goes."""
    needed = int(minutes * 60 * LONG_RATE)
    pause = np.zeros(int(PAUSE_SECONDS * LONG_RATE), np.float32)
    written = 0
    with soundfile.SoundFile(str(target), "w", samplerate=LONG_RATE, channels=1, format="FLAC") as out:
        while written < needed:
            for path in paths:
                samples = load_audio(path, LONG_RATE).numpy()
                out.write(samples)
                out.write(pause)
                written += len(samples) + len(pause)
                if written >= needed:
                    break
    return written / LONG_RATE


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="english-small")
    parser.add_argument("--manifest", required=True, help="real recordings (their texts are not used)")
    parser.add_argument("--lm", required=True, help="ARPA LM for the beam-search runs")
    parser.add_argument("--lm-weight", type=float, default=1.0)
    parser.add_argument("--word-bonus", type=float, default=1.5)
    parser.add_argument("--beam-size", type=int, default=32)
    parser.add_argument("--long-minutes", type=float, default=60.0, help="length of the joined long file")
    args = parser.parse_args()

    items = read_manifest(args.manifest)
    paths = [item.path for item in items]
    clips_seconds = sum(item.duration for item in items)
    print("command: python " + " ".join(sys.argv))
    print(f"machine: {os.cpu_count()} CPU cores; model {args.model}; {len(paths)} recordings of "
          f"{args.manifest}, {clips_seconds / 60:.1f} min")
    decoders = {"greedy": ["--decoder", "greedy"],
                f"beam {args.beam_size} + LM": ["--decoder", "beam", "--beam-size", str(args.beam_size), "--lm", args.lm,
                                                "--lm-weight", str(args.lm_weight),
                                                "--word-bonus", str(args.word_bonus)]}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        long_path = Path(scratch) / "long.flac"
        long_seconds = make_long_file(paths, args.long_minutes, long_path)
        print(f"long file: {long_seconds / 60:.1f} min joined from those recordings")
        for name, flags in decoders.items():
            for label, inputs, seconds_of_audio in ((f"{len(paths)} files", list(map(str, paths)), clips_seconds),
                                                    (f"one {long_seconds / 60:.0f}-min file", [str(long_path)],
                                                     long_seconds)):
                wall, peak_mb, status = run_transcribe([*inputs, "--model", args.model, *flags])
                rows.append((name, label, seconds_of_audio, wall, peak_mb, status))
                print(f"  {name:<16} {label:<16} RTF {wall / seconds_of_audio:.4f}  peak {peak_mb:.0f} MB"
                      f"{'' if status == 0 else f'  (exit {status})'}", flush=True)
    print()
    print("| decoding | input | audio (min) | wall (s) | real-time factor | peak memory (MB) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, label, seconds_of_audio, wall, peak_mb, _ in rows:
        print(f"| {name} | {label} | {seconds_of_audio / 60:.1f} | {wall:.1f} | {wall / seconds_of_audio:.4f} | "
              f"{peak_mb:.0f} |")
    return 1 if any(row[-1] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
