"""The decoder options shared by `asr transcribe`, `asr evaluate` and `asr lm tune`.

A flag that is not given keeps the model's own decoding default (the checkpoint's `decoding` section),
so a model tuned by `asr lm tune` decodes with its LM and weights without any flag.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from asr.config import ConfigError, DecodingConfig


def add_decoding_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("decoding (default: the model's own decoding settings)")
    group.add_argument("--decoder", choices=["greedy", "beam"], default=None,
                       help="greedy: best path; beam: CTC prefix beam search (implied by --lm and --hotwords)")
    group.add_argument("--beam-size", type=int, default=None, help="prefixes kept per frame (beam)")
    group.add_argument("--lm", default=None, help="n-gram LM in ARPA format (`asr lm build`); 'none' drops the "
                                                  "model's default LM")
    group.add_argument("--lm-weight", type=float, default=None, help="alpha: weight of the LM's log-probabilities")
    group.add_argument("--word-bonus", type=float, default=None,
                       help="beta: bonus per word (per character with a character LM)")
    group.add_argument("--hotwords", default=None,
                       help="comma-separated words or phrases to boost, e.g. 'new york,boston'")
    group.add_argument("--hotword-weight", type=float, default=None, help="bonus per token of a hotword")
    group.add_argument("--ctc-weight", type=float, default=None,
                       help="joint CTC/attention models: weight of the CTC prefix score in beam search (0: attention only)")
    group.add_argument("--length-penalty", type=float, default=None,
                       help="attention models: rank hypotheses by log-prob / (length + 1) ** this")


def decoding_from_args(args: argparse.Namespace, defaults: DecodingConfig) -> DecodingConfig:
    """The model's decoding defaults overridden by the flags given; raises ConfigError on conflicts."""
    changes: dict[str, object] = {}
    if args.beam_size is not None:
        changes["beam_size"] = args.beam_size
        changes["nbest"] = min(defaults.nbest, args.beam_size)
    if args.lm is not None:
        if args.lm.lower() == "none":
            changes["lm"] = ""
        else:
            if not Path(args.lm).is_file():
                raise FileNotFoundError(f"LM file not found: {args.lm}")
            changes["lm"] = str(Path(args.lm).resolve())
    for flag, name in [("lm_weight", "lm_weight"), ("word_bonus", "word_bonus"), ("hotword_weight", "hotword_weight"),
                       ("ctc_weight", "ctc_weight"), ("length_penalty", "length_penalty")]:
        if getattr(args, flag) is not None:
            changes[name] = getattr(args, flag)
    if args.hotwords is not None:
        changes["hotwords"] = tuple(word.strip() for word in args.hotwords.split(",") if word.strip())
    beam_only = [flag for flag, given in [("--beam-size", args.beam_size is not None),
                                          ("--lm", args.lm is not None and args.lm.lower() != "none"),
                                          ("--hotwords", bool(changes.get("hotwords")))] if given]
    if args.decoder == "greedy" and beam_only:
        raise ConfigError(f"--decoder greedy cannot use {', '.join(beam_only)} (they need --decoder beam)")
    if args.decoder == "greedy":
        changes.update(decoder="greedy", lm="", hotwords=())
    elif args.decoder == "beam" or beam_only:
        changes["decoder"] = "beam"
    decoding = dataclasses.replace(defaults, **changes)
    decoding.validate()
    return decoding


def describe(decoding: DecodingConfig, attention: bool = False, joint: bool = False) -> str:
    """One line naming the decoder and its settings, for reports (`attention`, `joint`: the model's kind)."""
    if decoding.decoder == "greedy":
        return "greedy (attention decoder)" if attention else "greedy"
    parts = [f"beam {decoding.beam_size}"]
    if attention:
        parts[0] += " (attention decoder)"
        parts.append(f"length penalty {decoding.length_penalty:g}")
        if joint:
            parts.append(f"CTC prefix rescoring, weight {decoding.ctc_weight:g}")
    if decoding.lm:
        parts.append(f"lm {decoding.lm} ({decoding.lm_kind}), alpha {decoding.lm_weight:g}, "
                     f"beta {decoding.word_bonus:g}")
    if decoding.hotwords:
        parts.append(f"hotwords {', '.join(decoding.hotwords)} (+{decoding.hotword_weight:g}/token)")
    return ", ".join(parts)
