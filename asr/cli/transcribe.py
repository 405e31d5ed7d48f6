"""`asr transcribe PATHS... [--model M] [--format txt|json]`: audio files, or image files for a handwriting model."""

from __future__ import annotations

import argparse
import json
import sys

from asr.cli import report_error
from asr.training.state import CheckpointError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="audio files (image files: .png .jpg .jpeg .tif .tiff .bmp "
                                                        "for a handwriting model), or directories searched for them")
    parser.add_argument("--model", default=None, help="bundled model name or checkpoint path (default: the "
                                                      "bundled default model)")
    parser.add_argument("--format", choices=["txt", "json"], default="txt",
                        help="txt: 'path<TAB>text' per file (text alone for a single file); json: one object per line")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")


def run(args: argparse.Namespace) -> int:
    from asr.inference import expand_audio_paths, load_model

    if args.batch_size < 1:
        report_error("transcribe", f"--batch-size must be positive, got {args.batch_size}")
        return 2
    try:
        transcriber = load_model(args.model, args.device)
    except (FileNotFoundError, CheckpointError) as error:
        report_error("transcribe", error)
        return 2
    paths = expand_audio_paths(args.paths, transcriber.input_extensions)
    if not paths:
        kind = "image" if transcriber.is_image else "audio"
        report_error("transcribe", f"no {kind} files found in {' '.join(args.paths)}")
        return 1
    num_failed = 0
    for result in transcriber.transcribe_files(paths, args.batch_size):
        if result.error is not None:
            num_failed += 1
            report_error("transcribe", result.error)
            continue
        if args.format == "json":
            record = {"path": str(result.path), "text": result.hypothesis.text, "duration": round(result.duration, 3),
                      "score": round(result.hypothesis.score, 4)}
            print(json.dumps(record, ensure_ascii=False), flush=True)
        elif len(paths) == 1:
            print(result.hypothesis.text, flush=True)
        else:
            print(f"{result.path}\t{result.hypothesis.text}", flush=True)
    if num_failed:
        print(f"{num_failed} of {len(paths)} files could not be transcribed", file=sys.stderr)
        return 1
    return 0
