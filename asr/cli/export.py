"""`asr export --model M --out FILE [--format torchscript|onnx] [--example FILE]`.

TorchScript: front-end, encoder and head in one file. ONNX: the encoder and head (features in), with
the vocabulary and config in a .json beside it. See asr/export.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from asr.cli import report_error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="bundled model name or checkpoint (default: the default model)")
    parser.add_argument("--out", required=True, help="file to write (.ts for TorchScript, .onnx for ONNX)")
    parser.add_argument("--format", choices=("torchscript", "onnx"), default="torchscript",
                        help="torchscript: waveform (or image) in; onnx: features in (ONNX has no complex STFT)")
    parser.add_argument("--example", default=None,
                        help="an audio file (an image for an image model) to trace with (default: a bundled sample)")


def run(args: argparse.Namespace) -> int:
    import torch

    from asr.export import export_onnx, export_torchscript
    from asr.inference import PRETRAINED_DIR, load_model
    from asr.training.state import CheckpointError

    try:
        transcriber = load_model(args.model)
        if transcriber.is_attention:
            # A search loop over decoder steps does not trace into one static graph.
            raise ValueError("export covers CTC models (front-end, encoder, CTC head); attention and joint "
                             "models are not exportable yet")
        samples = [path for path in sorted((PRETRAINED_DIR / "samples").iterdir())
                   if path.suffix.lower() in transcriber.input_extensions]
        if not args.example and not samples:
            raise ValueError("no bundled sample for this kind of model: give --example")
        example_path = Path(args.example) if args.example else samples[0]
        raw = transcriber.frontend.load(example_path) if transcriber.is_image else None
        if raw is None:
            from asr.audio import load_audio

            raw = load_audio(example_path, transcriber.sample_rate)
        if args.format == "onnx":
            with torch.no_grad():
                out = export_onnx(transcriber, transcriber.frontend(raw), args.out)
        else:
            out = export_torchscript(transcriber, raw, args.out)
    except ImportError as error:
        report_error("export", f"{error}: ONNX export needs the export extra (pip install -e '.[export]')")
        return 2
    except (OSError, ValueError, CheckpointError) as error:
        report_error("export", error)
        return 2
    if args.format == "torchscript":
        with torch.no_grad():
            frames = torch.jit.load(str(out))(raw).shape[0]
        print(f"{out}: TorchScript, {out.stat().st_size / 1e6:.1f} MB; traced on {example_path} "
              f"({frames} output frames)")
    else:
        print(f"{out}: ONNX, {out.stat().st_size / 1e6:.1f} MB, features in; vocabulary and config in "
              f"{out.with_suffix('.json')}; traced on {example_path}")
    return 0
