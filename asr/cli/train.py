"""`asr train --config X.yaml [--set section.field=value ...] [--resume [CHECKPOINT]]`"""

from __future__ import annotations

import argparse
from pathlib import Path

from asr.config import ConfigError, load_config
from asr.data.manifest import ManifestError
from asr.text import UnknownCharacterError
from asr.training.setup import DataError
from asr.cli import report_error
from asr.training.state import CheckpointError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="YAML experiment config (see configs/)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override one config field; repeatable, e.g. --set optim.lr=3e-4")
    parser.add_argument("--resume", nargs="?", const="last", default=None, metavar="CHECKPOINT",
                        help="continue exactly where a run stopped: a checkpoint path, or no value for "
                             "OUT_DIR/last.pt")


def run(args: argparse.Namespace) -> int:
    from asr.training.loop import TrainingInterrupted, fit  # torch-heavy imports once the arguments are valid

    try:
        config = load_config(args.config, args.overrides)
        resume = args.resume
        if resume == "last":
            resume = Path(config.train.out_dir) / "last.pt"
        fit(config, resume)
    except (ConfigError, DataError, ManifestError, UnknownCharacterError, CheckpointError, FileNotFoundError) as error:
        report_error("train", error)
        return 2
    except TrainingInterrupted as interrupted:
        report_error("train", interrupted)
        return 128 + interrupted.signal_number  # the shell's convention for "ended by this signal"
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once, the last periodic checkpoint stands
        report_error("train", "interrupted; the last checkpoint is in the run's out_dir: continue with --resume")
        return 130
    return 0
