"""The `asr` command: one thin argparse layer over importable functions.

Every subcommand module exposes `add_arguments(parser)` and `run(args) -> int` (the exit status).
They are listed here explicitly, with no string imports, so the catalogue of commands is readable
in one place.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from asr.cli import caption, data, evaluate, export, lm, train, transcribe

SUBCOMMANDS = {
    "transcribe": (transcribe, "transcribe audio files and directories"),
    "caption": (caption, "describe pictures in words with a captioning model"),
    "train": (train, "train a model from a YAML config"),
    "evaluate": (evaluate, "WER/CER report of a model on a manifest"),
    "data": (data, "import, summarise and check JSONL manifests"),
    "lm": (lm, "n-gram language models: estimate from text, write ARPA, tune the weights"),
    "export": (export, "the inference model as one TorchScript file"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asr", description="Sequence recognition: speech and handwriting; image captioning.")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # its font cache notices are not ours to show
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
