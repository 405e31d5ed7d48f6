"""`asr evaluate --model M --manifest F [--output per_utterance.jsonl] [decoder options]`: WER, CER and S/D/I."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from asr.data.manifest import ManifestError
from asr.cli import report_error
from asr.cli.decoding import add_decoding_arguments, decoding_from_args, describe
from asr.config import ConfigError
from asr.training.state import CheckpointError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="bundled model name or checkpoint path")
    parser.add_argument("--manifest", required=True, help="JSONL manifest with reference transcripts")
    parser.add_argument("--output", default=None, help="per-utterance JSONL: id, reference, hypothesis, errors")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    add_decoding_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from asr.inference import load_model
    from asr.data.manifest import read_manifest
    from asr.metrics import corpus_counts, edit_counts

    try:
        items = read_manifest(args.manifest)  # the cheaper check first
        transcriber = load_model(args.model, args.device)
        transcriber.set_decoding(decoding_from_args(args, transcriber.decoding))
    except (FileNotFoundError, CheckpointError, ManifestError, ConfigError, ValueError) as error:
        report_error("evaluate", error)
        return 2
    by_path = {}
    for item in items:
        by_path.setdefault(Path(item.path), []).append(item)
    references, hypotheses, decoded, failed = [], [], [], []
    for result in transcriber.transcribe_files([item.path for item in items], args.batch_size):
        item = by_path[result.path].pop(0)
        if result.error is not None:
            failed.append(item.id)
            report_error("evaluate", f"item {item.id}: {result.error}")
            continue
        references.append(transcriber.normalize(item.text))
        hypotheses.append(result.hypothesis.text)
        decoded.append(item)
    if not decoded:
        report_error("evaluate", f"no item of {args.manifest} could be decoded")
        return 1
    word_counts = edit_counts(references, hypotheses, unit="word")
    char_counts = edit_counts(references, hypotheses, unit="char")
    words, chars = corpus_counts(word_counts), corpus_counts(char_counts)
    print(f"decoder: {describe(transcriber.decoding)}")
    print(f"items: {len(decoded)} decoded, {len(failed)} failed")
    print(f"WER: {100 * words.rate:.2f}% ({words.errors} errors / {words.reference_length} words: "
          f"S={words.substitutions} D={words.deletions} I={words.insertions})")
    print(f"CER: {100 * chars.rate:.2f}% ({chars.errors} errors / {chars.reference_length} characters: "
          f"S={chars.substitutions} D={chars.deletions} I={chars.insertions})")
    if args.output:
        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", encoding="utf-8") as stream:
            for item, reference, hypothesis, word, char in zip(decoded, references, hypotheses, word_counts, char_counts):
                record = {"id": item.id, "reference": reference, "hypothesis": hypothesis,
                          "word_errors": {"S": word.substitutions, "D": word.deletions, "I": word.insertions,
                                          "N": word.reference_length},
                          "char_errors": {"S": char.substitutions, "D": char.deletions, "I": char.insertions,
                                          "N": char.reference_length}}
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"per-utterance results: {output}")
    return 1 if failed else 0
