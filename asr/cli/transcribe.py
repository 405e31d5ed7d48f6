"""`asr transcribe PATHS... [--model M] [--format txt|json|srt|vtt|tsv] [--output-dir D] [decoder options]`:
audio files, or image files for a handwriting model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asr.cli import report_error
from asr.cli.decoding import add_decoding_arguments, decoding_from_args
from asr.config import ConfigError
from asr.inference import CHUNK_SECONDS
from asr.training.state import CheckpointError

PAST_TENSE = {"transcribe": "transcribed", "caption": "captioned"}  # for the closing count of failures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="audio files (image files: .png .jpg .jpeg .tif .tiff .bmp "
                                                        "for a handwriting model), or directories searched for them")
    parser.add_argument("--model", default=None, help="bundled model name or checkpoint path (default: the "
                                                      "bundled default model)")
    parser.add_argument("--format", choices=["txt", "json", "srt", "vtt", "tsv"], default="txt",
                        help="txt: 'path<TAB>text' per file (text alone for a single file); json: one object per "
                             "line, with word timestamps; srt, vtt: subtitles; tsv: start, end, word, confidence")
    parser.add_argument("--output-dir", default=None,
                        help="write one file per input, named after it (<stem>.<format>), instead of printing")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--chunk-seconds", type=float, default=CHUNK_SECONDS,
                        help="recordings longer than this are transcribed in pieces of at most this length, cut at "
                             "pauses (memory stays that of one piece; word times run on across pieces)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    parser.add_argument("--attention-plot", default=None, metavar="DIR",
                        help="attention models: write DIR/<stem>.png per input, the attention weights over the "
                             "input with the emitted tokens")
    add_decoding_arguments(parser)


def run(args: argparse.Namespace, command: str = "transcribe") -> int:
    from asr.cli.formats import TIMED_FORMATS, render
    from asr.inference import expand_audio_paths, load_model

    if args.batch_size < 1:
        report_error(command, f"--batch-size must be positive, got {args.batch_size}")
        return 2
    if not args.chunk_seconds >= 1.0:
        report_error(command, f"--chunk-seconds must be at least 1, got {args.chunk_seconds}")
        return 2
    try:
        transcriber = load_model(args.model, args.device)
        transcriber.set_decoding(decoding_from_args(args, transcriber.decoding))
        transcriber.chunk_seconds = args.chunk_seconds
    except (FileNotFoundError, CheckpointError, ConfigError, ValueError) as error:
        report_error(command, error)
        return 2
    is_caption_model = transcriber.config.features.kind == "picture"
    if (command == "caption") != is_caption_model:
        report_error(command, "captioning needs a picture model: use `asr caption`" if is_caption_model else
                     "this model does not caption pictures: use `asr transcribe`")
        return 2
    if args.attention_plot and not transcriber.is_attention:
        report_error(command, "--attention-plot needs an attention model (model.name *_attention or *_joint)")
        return 2
    timestamps = args.format in TIMED_FORMATS and transcriber.has_timestamps
    if not transcriber.has_timestamps and args.format in ("srt", "vtt", "tsv"):
        report_error(command, f"--format {args.format} needs word times: an audio model with a CTC head")
        return 2
    paths = expand_audio_paths(args.paths, transcriber.input_extensions)
    if not paths:
        kind = "image" if transcriber.is_image else "audio"
        report_error(command, f"no {kind} files found in {' '.join(args.paths)}")
        return 1
    if len(paths) > 1 and args.format in ("srt", "vtt", "tsv") and args.output_dir is None:
        report_error(command, f"--format {args.format} with {len(paths)} input files needs --output-dir "
                              "(one output file per input)")
        return 2
    output_names = _output_names(paths, args.format) if args.output_dir else {}
    num_failed = 0
    for result in transcriber.transcribe_files(paths, args.batch_size, timestamps=timestamps):
        if result.error is not None:
            num_failed += 1
            report_error(command, result.error)
            continue
        if args.attention_plot:
            if result.attention is None:
                report_error(command, f"{result.path}: no attention plot (a long recording decoded in pieces)")
            else:
                transcriber.write_attention_plot(result, args.attention_plot)
        if args.output_dir:
            target = Path(args.output_dir) / output_names[result.path]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(result, args.format), encoding="utf-8")
            print(f"{result.path}\t{target}", flush=True)
        elif args.format == "txt" and len(paths) > 1:
            print(f"{result.path}\t{result.hypothesis.text}", flush=True)
        else:
            sys.stdout.write(render(result, args.format))
            sys.stdout.flush()
    if num_failed:
        print(f"{num_failed} of {len(paths)} files could not be {PAST_TENSE[command]}", file=sys.stderr)
        return 1
    return 0


def _output_names(paths: list[Path], output_format: str) -> dict[Path, str]:
    """<stem>.<format> per input; inputs sharing a stem get -2, -3 ... in the order given."""
    names: dict[Path, str] = {}
    taken: set[str] = set()
    for path in paths:
        name, count = f"{path.stem}.{output_format}", 1
        while name in taken:
            count += 1
            name = f"{path.stem}-{count}.{output_format}"
        taken.add(name)
        names[path] = name
    return names
