"""`asr evaluate --model M --manifest F [--output per_utterance.jsonl] [--attention-plot DIR] [decoder options]`:
WER, CER and S/D/I; BLEU-1 to BLEU-4 for a captioning model (its pictures' captions are the references)."""

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
    parser.add_argument("--manifest", required=True, help="JSONL manifest with reference transcripts (captions: "
                                                          "one line per caption, several per picture)")
    parser.add_argument("--output", default=None, help="per-utterance JSONL: id, reference, hypothesis, errors")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--attention-plot", default=None, metavar="DIR",
                        help="attention models: write DIR/<stem>.png for the --worst items (most errors)")
    parser.add_argument("--worst", type=int, default=None,
                        help="how many of the worst items --attention-plot shows (default 10)")
    add_decoding_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from asr.inference import load_model
    from asr.data.manifest import read_manifest
    try:
        items = read_manifest(args.manifest)  # the cheaper check first
        transcriber = load_model(args.model, args.device)
        transcriber.set_decoding(decoding_from_args(args, transcriber.decoding))
    except (FileNotFoundError, CheckpointError, ManifestError, ConfigError, ValueError) as error:
        report_error("evaluate", error)
        return 2
    if args.worst is not None and (args.worst < 1 or not args.attention_plot):
        report_error("evaluate", f"--worst takes a positive count and goes with --attention-plot, got {args.worst}")
        return 2
    num_worst = args.worst or 10
    if args.attention_plot and not transcriber.is_attention:
        report_error("evaluate", "--attention-plot needs an attention model (model.name *_attention or *_joint)")
        return 2
    # A file is decoded once however many references it has (a picture has several captions).
    items_of_path: dict[Path, list] = {}
    for item in items:
        items_of_path.setdefault(Path(item.path), []).append(item)
    results, failed = {}, []
    for result in transcriber.transcribe_files(list(items_of_path), args.batch_size):
        if result.error is not None:
            ids = [item.id for item in items_of_path[result.path]]
            failed.extend(ids)
            report_error("evaluate", f"item{'s' if len(ids) > 1 else ''} {', '.join(ids)}: {result.error}")
            continue
        results[result.path] = result
    if not results:
        report_error("evaluate", f"no item of {args.manifest} could be decoded")
        return 1
    is_joint = transcriber.is_attention and transcriber.model.is_joint
    print(f"decoder: {describe(transcriber.decoding, transcriber.is_attention, is_joint)}")
    if transcriber.vocabulary.unit == "word":
        records, errors_of = _caption_report(transcriber, items_of_path, results)
    else:
        records, errors_of = _transcript_report(transcriber, items_of_path, results, len(failed))
    if args.output:
        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", encoding="utf-8") as stream:
            for record in records:
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"per-utterance results: {output}")
    if args.attention_plot:
        worst = sorted(results, key=lambda path: -errors_of[path])[:num_worst]
        for path in worst:
            if results[path].attention is not None:
                transcriber.write_attention_plot(results[path], args.attention_plot)
        print(f"attention plots of the {len(worst)} worst items: {args.attention_plot}")
    return 1 if failed else 0


def _caption_report(transcriber, items_of_path: dict[Path, list], results: dict) -> tuple[list, dict]:
    """Corpus BLEU of a captioning model, every caption of a picture a reference; -> per-picture records,
    and each picture's word errors against its closest caption (for picking the worst)."""
    from asr.metrics import corpus_bleu, edit_counts

    paths = list(results)
    hypotheses = [results[path].hypothesis.text for path in paths]
    references = [[transcriber.normalize(item.text) for item in items_of_path[path]] for path in paths]
    bleu = corpus_bleu([text.split() for text in hypotheses],
                       [[reference.split() for reference in group] for group in references])
    print(f"pictures: {len(paths)} captioned, {len(items_of_path) - len(paths)} failed; "
          f"{sum(map(len, references))} reference captions")
    print("BLEU: " + ", ".join(f"BLEU-{order} {100 * value:.2f}" for order, value in enumerate(bleu.bleu, 1))
          + f" (brevity penalty {bleu.brevity_penalty:.3f})")
    errors_of = {path: min(count.errors for count in edit_counts(group, [hypothesis] * len(group), "word"))
                 for path, hypothesis, group in zip(paths, hypotheses, references)}
    records = [{"image": str(path), "hypothesis": hypothesis, "references": group, "word_errors": errors_of[path]}
               for path, hypothesis, group in zip(paths, hypotheses, references)]
    return records, errors_of


def _transcript_report(transcriber, items_of_path: dict[Path, list], results: dict,
                       num_failed: int) -> tuple[list, dict]:
    """WER and CER with S/D/I against each item's transcript; -> per-item records, and each file's
    character errors (for picking the worst)."""
    from asr.metrics import corpus_counts, edit_counts

    decoded = [(item, path) for path in results for item in items_of_path[path]]
    references = [transcriber.normalize(item.text) for item, _ in decoded]
    hypotheses = [results[path].hypothesis.text for _, path in decoded]
    word_counts = edit_counts(references, hypotheses, unit="word")
    char_counts = edit_counts(references, hypotheses, unit="char")
    words, chars = corpus_counts(word_counts), corpus_counts(char_counts)
    print(f"items: {len(decoded)} decoded, {num_failed} failed")
    print(f"WER: {100 * words.rate:.2f}% ({words.errors} errors / {words.reference_length} words: "
          f"S={words.substitutions} D={words.deletions} I={words.insertions})")
    print(f"CER: {100 * chars.rate:.2f}% ({chars.errors} errors / {chars.reference_length} characters: "
          f"S={chars.substitutions} D={chars.deletions} I={chars.insertions})")
    errors_of: dict[Path, int] = {}
    for (_, path), char in zip(decoded, char_counts):
        errors_of[path] = errors_of.get(path, 0) + char.errors
    records = [{"id": item.id, "reference": reference, "hypothesis": hypothesis,
                "word_errors": {"S": word.substitutions, "D": word.deletions, "I": word.insertions,
                                "N": word.reference_length},
                "char_errors": {"S": char.substitutions, "D": char.deletions, "I": char.insertions,
                                "N": char.reference_length}}
               for (item, _), reference, hypothesis, word, char in zip(decoded, references, hypotheses,
                                                                       word_counts, char_counts)]
    return records, errors_of
