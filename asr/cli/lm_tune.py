"""`asr lm tune --model M --manifest DEV --lm LM.arpa`: grid-search alpha and beta on a dev manifest and write
the best pair (with the LM and decoder) into the checkpoint's decoding defaults.

Registered as the `tune` action of `asr lm` (see asr/cli/lm.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from asr.cli import report_error


def _floats(text: str) -> list[float]:
    try:
        return [float(value) for value in text.split(",") if value.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint (or bundled model name) to tune")
    parser.add_argument("--manifest", required=True, help="dev manifest with reference transcripts")
    parser.add_argument("--lm", required=True, help="n-gram LM, ARPA (`asr lm build`)")
    parser.add_argument("--lm-weights", type=_floats, default=[0.0, 0.25, 0.5, 0.75, 1.0, 1.5],
                        help="alpha values to try, comma-separated")
    parser.add_argument("--word-bonuses", type=_floats, default=[-1.0, 0.0, 1.0, 2.0, 3.0],
                        help="beta values to try, comma-separated")
    parser.add_argument("--beam-size", type=int, default=None, help="beam width (default: the model's, 32 if none)")
    parser.add_argument("--output", default=None,
                        help="checkpoint to write (default: update the model file in place)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")


def run(args: argparse.Namespace) -> int:
    import torch

    from asr.config import ConfigError
    from asr.data.manifest import ManifestError, read_manifest
    from asr.decoding.ctc_beam import load_lm
    from asr.decoding.tune import grid_search
    from asr.inference import PRETRAINED_DIR, Transcriber, resolve_model_path
    from asr.training.state import CheckpointError, load_checkpoint, save_checkpoint

    if not args.lm_weights or not args.word_bonuses:
        report_error("lm tune", "--lm-weights and --word-bonuses need at least one value each")
        return 2
    try:
        items = read_manifest(args.manifest)
        model_path = resolve_model_path(args.model)
        if args.output is None and model_path.parent.resolve() == PRETRAINED_DIR.resolve():
            raise ConfigError(f"{args.model} is a bundled model: give --output for the tuned copy")
        transcriber = Transcriber.from_checkpoint(model_path, args.device)
        if not Path(args.lm).is_file():
            raise FileNotFoundError(f"LM file not found: {args.lm}")
        base = dataclasses.replace(transcriber.decoding, decoder="beam", lm=str(Path(args.lm).resolve()),
                                   beam_size=args.beam_size or transcriber.decoding.beam_size)
        base.validate()
        lm = load_lm(args.lm)
    except (FileNotFoundError, CheckpointError, ManifestError, ConfigError, ValueError) as error:
        report_error("lm tune", error)
        return 2

    emissions, references, num_failed = [], [], 0
    for start in range(0, len(items), args.batch_size):
        loaded = []
        for item in items[start:start + args.batch_size]:
            try:
                loaded.append((item, transcriber._load_features(item.path)[0]))
            except (OSError, ValueError) as error:
                num_failed += 1
                report_error("lm tune", f"item {item.id}: {error}")
        if not loaded:
            continue
        with torch.no_grad():
            log_probs, output_lens = transcriber.emissions([features for _, features in loaded])
        for (item, _), row, length in zip(loaded, log_probs.cpu(), output_lens.tolist()):
            emissions.append(row[:length])
            references.append(transcriber.normalize(item.text))
    if not emissions:
        report_error("lm tune", f"no item of {args.manifest} could be read")
        return 1

    print(f"tuning on {len(emissions)} utterances of {args.manifest}, beam {base.beam_size}, LM {args.lm}")
    grid = grid_search(emissions, references, transcriber.vocabulary, base, lm, args.lm_weights, args.word_bonuses)
    print("alpha\tbeta\tWER %\tCER %")
    for point in sorted(grid, key=lambda point: (point.lm_weight, point.word_bonus)):
        print(f"{point.lm_weight:g}\t{point.word_bonus:g}\t{point.wer:.2f}\t{point.cer:.2f}")
    best = grid[0]
    print(f"best: alpha {best.lm_weight:g}, beta {best.word_bonus:g}: WER {best.wer:.2f}%, CER {best.cer:.2f}%")

    tuned = dataclasses.replace(base, lm_weight=best.lm_weight, word_bonus=best.word_bonus)
    checkpoint = load_checkpoint(model_path)
    tuned_config = transcriber.config.replace(decoding=tuned).to_dict()
    checkpoint["config"] = {**checkpoint["config"], "decoding": tuned_config["decoding"]}
    output = Path(args.output) if args.output else model_path
    save_checkpoint(output, checkpoint)
    print(f"decoding defaults written to {output}")
    if num_failed:
        print(f"{num_failed} of {len(items)} items could not be read", file=sys.stderr)
        return 1
    return 0
