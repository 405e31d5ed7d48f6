"""`asr caption IMAGES... --model M [--format txt|json] [--output-dir D] [--attention-plot DIR] [--beam-size K]`:
describe pictures in words with a captioning model (model.name cnn_attention, features.kind picture).

The same machinery as `asr transcribe`; only the inputs (pictures) and the outputs (no word times) differ.
"""

from __future__ import annotations

import argparse

from asr.cli import transcribe
from asr.cli.decoding import add_decoding_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="IMAGE",
                        help="image files (.png .jpg .jpeg .tif .tiff .bmp), or directories searched for them")
    parser.add_argument("--model", required=True, help="captioning checkpoint path or bundled model name")
    parser.add_argument("--format", choices=["txt", "json"], default="txt",
                        help="txt: 'path<TAB>caption' per image (the caption alone for one image); json: one object per line")
    parser.add_argument("--output-dir", default=None, help="write <stem>.<format> per image instead of printing")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    parser.add_argument("--attention-plot", default=None, metavar="DIR",
                        help="write DIR/<stem>.png per image: where each word of the caption looked")
    add_decoding_arguments(parser)
    parser.set_defaults(chunk_seconds=transcribe.CHUNK_SECONDS)  # unused: pictures are not chunked


def run(args: argparse.Namespace) -> int:
    return transcribe.run(args, command="caption")
