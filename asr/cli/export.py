"""`asr export --model M --out model.ts [--example FILE]`: the inference model as one TorchScript file.

See asr/export.py for what the file holds and how to run it without the project's code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from asr.cli import report_error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="bundled model name or checkpoint (default: the default model)")
    parser.add_argument("--out", required=True, help="TorchScript file to write")
    parser.add_argument("--example", default=None,
                        help="an audio file (an image for an image model) to trace with (default: a bundled sample)")


def run(args: argparse.Namespace) -> int:
    import torch

    from asr.export import export_torchscript
    from asr.inference import PRETRAINED_DIR, load_model
    from asr.training.state import CheckpointError

    try:
        transcriber = load_model(args.model)
        example_path = Path(args.example) if args.example else next(
            path for path in sorted((PRETRAINED_DIR / "samples").iterdir())
            if path.suffix.lower() in transcriber.input_extensions)
        raw = transcriber.frontend.load(example_path) if transcriber.is_image else None
        if raw is None:
            from asr.audio import load_audio

            raw = load_audio(example_path, transcriber.sample_rate)
        out = export_torchscript(transcriber, raw, args.out)
    except (OSError, ValueError, CheckpointError, StopIteration) as error:
        report_error("export", error or "no bundled sample for this kind of model: give --example")
        return 2
    with torch.no_grad():
        frames = torch.jit.load(str(out))(raw).shape[0]
    print(f"{out}: TorchScript, {out.stat().st_size / 1e6:.1f} MB; traced on {example_path} ({frames} output frames)")
    return 0
