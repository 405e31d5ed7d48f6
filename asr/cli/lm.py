"""`asr lm`: n-gram language models.

    asr lm build --text corpus.txt --order 3 --unit word --smoothing kneser-ney --out lm.arpa
    asr lm build --text ../shared/data/ljspeech/metadata_all_text.csv --text-column 3 \
        --normalizer lower_no_punct --order 4 --unit char --smoothing kneser-ney --out data/lm/lj_char4.arpa
    asr lm tune --model exp/run/best.pt --manifest data/dev.jsonl --lm lm.arpa   (see asr/cli/lm_tune.py)

The text has one sentence per line. With `--text-column N` each line is split on `--separator`
(default `|`) and field N (counted from 1) is the sentence: LJSpeech's `metadata.csv` and
`metadata_all_text.csv` hold `id|raw text|normalized text`, so column 3 is the normalized text.
Lines that are empty after normalisation are skipped. Char models write the space as `<space>`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from asr.cli import report_error
from asr.text import NORMALIZERS, get_normalizer

EXIT_BAD_INPUT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from asr.decoding.lm import SMOOTHINGS, UNITS

    actions = parser.add_subparsers(dest="lm_command", required=True, metavar="ACTION")
    build = actions.add_parser("build", help="estimate an n-gram model from text and write it as ARPA",
                               description="Estimate an n-gram model from text (one sentence per line) "
                                           "and write it as an ARPA file.")
    build.add_argument("--text", required=True, help="training text, one sentence per line (.gz accepted)")
    build.add_argument("--text-column", type=int, default=None,
                       help="take field N (from 1) of each line split on --separator, e.g. 3 for LJSpeech")
    build.add_argument("--separator", default="|", help="field separator for --text-column (default '|')")
    build.add_argument("--order", type=int, default=3, help="n-gram order (default 3)")
    build.add_argument("--unit", choices=UNITS, default="word", help="word or char tokens (default word)")
    build.add_argument("--smoothing", choices=SMOOTHINGS, default="kneser-ney")
    build.add_argument("--add-k", type=float, default=None, help="add-k only: pseudo-count (default 1)")
    build.add_argument("--katz-max-count", type=int, default=None,
                       help="katz only: counts up to this get Good-Turing discounts (default 5)")
    build.add_argument("--min-count", type=int, default=1, help="tokens seen fewer times become <unk> (default 1)")
    build.add_argument("--normalizer", choices=sorted(NORMALIZERS), default="none",
                       help="text normaliser applied to every line (default none)")
    build.add_argument("--dev-text", default=None, help="held-out text (same format) to report the perplexity of")
    build.add_argument("--out", required=True, help="ARPA file to write (.gz compresses)")
    build.set_defaults(lm_run=run_build)

    from asr.cli import lm_tune

    tune = actions.add_parser("tune", help="grid-search the LM weight and word bonus on a dev manifest",
                              description=lm_tune.__doc__.split("\n\n")[0])
    lm_tune.add_arguments(tune)
    tune.set_defaults(lm_run=lm_tune.run)


def read_sentences(path: str | Path, normalizer: str, column: int | None, separator: str) -> list[str]:
    """The normalised non-empty sentences of a text file; errors name the file and line."""
    import gzip

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text file not found: {path}")
    normalize = get_normalizer(normalizer)
    opener = gzip.open if path.suffix == ".gz" else open
    sentences = []
    with opener(path, "rt", encoding="utf-8") as stream:
        for line_number, line in enumerate(stream, start=1):
            text = line.rstrip("\r\n")
            if column is not None:
                fields = text.split(separator)
                if len(fields) < column:
                    if not text.strip():
                        continue
                    raise ValueError(f"{path}:{line_number}: {len(fields)} field(s) split on {separator!r}, "
                                     f"--text-column asks for field {column}")
                text = fields[column - 1]
            text = normalize(text).strip()
            if text:
                sentences.append(text)
    return sentences


def _check_flags(args: argparse.Namespace) -> None:
    if args.order < 1:
        raise ValueError(f"--order must be >= 1, got {args.order}")
    if args.text_column is not None and args.text_column < 1:
        raise ValueError(f"--text-column counts from 1, got {args.text_column}")
    if not args.separator:
        raise ValueError("--separator must not be empty")
    if args.add_k is not None and args.smoothing != "add-k":
        raise ValueError(f"--add-k applies to --smoothing add-k, not {args.smoothing}")
    if args.katz_max_count is not None and args.smoothing != "katz":
        raise ValueError(f"--katz-max-count applies to --smoothing katz, not {args.smoothing}")
    if args.min_count < 1:
        raise ValueError(f"--min-count must be >= 1, got {args.min_count}")


def run_build(args: argparse.Namespace) -> int:
    from asr.decoding.lm import estimate, tokenize, write_arpa

    _check_flags(args)
    sentences = read_sentences(args.text, args.normalizer, args.text_column, args.separator)
    if not sentences:
        raise ValueError(f"{args.text} holds no text (after normalisation with {args.normalizer!r})")
    dev = read_sentences(args.dev_text, args.normalizer, args.text_column, args.separator) if args.dev_text else None
    if dev is not None and not dev:
        raise ValueError(f"{args.dev_text} holds no text (after normalisation with {args.normalizer!r})")
    options = {}
    if args.add_k is not None:
        options["add_k"] = args.add_k
    if args.katz_max_count is not None:
        options["katz_max_count"] = args.katz_max_count

    start = time.perf_counter()
    tokens = [tokenize(sentence, args.unit) for sentence in sentences]
    model = estimate(tokens, args.order, args.smoothing, unit=args.unit, min_count=args.min_count, **options)
    seconds = time.perf_counter() - start
    write_arpa(model, args.out)
    print(f"{args.out}: order {model.order} {model.unit} {args.smoothing} model from {len(sentences)} sentences, "
          f"{sum(len(sentence) for sentence in tokens)} tokens, estimated in {seconds:.1f} s")
    for length, count in enumerate(model.num_ngrams, start=1):
        print(f"ngram {length}={count}")
    if dev is not None:
        dev_tokens = [tokenize(sentence, args.unit) for sentence in dev]
        vocabulary = set(model.vocabulary)
        num_tokens = sum(len(sentence) + 1 for sentence in dev_tokens)  # + </s>
        num_oov = sum(token not in vocabulary for sentence in dev_tokens for token in sentence)
        print(f"dev perplexity: {model.perplexity(dev_tokens):.2f} ({len(dev)} sentences, {num_tokens} tokens "
              f"with </s>, {num_oov} out of vocabulary, scored as <unk>)")
    return 0


def run(args: argparse.Namespace) -> int:
    # User errors (missing files, bad text, incompatible flags) end in one message and exit status 2;
    # anything else is a bug and keeps its traceback.
    try:
        return args.lm_run(args)
    except (OSError, ValueError) as error:
        report_error(f"lm {args.lm_command}", error)
        return EXIT_BAD_INPUT
