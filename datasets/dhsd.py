"""Recipe: DHSD (German handwritten words: city and street names) -> train/dev/all manifests, split by writer.

    python datasets/dhsd.py --root ../shared/data/dhsd --out data/dhsd [--dev-writers 16,17] [--no-errata]

Reads ROOT/labels.csv (`file_name,text,writer_id`, images under ROOT/german_hw_data/writerN/), corrects
the labels listed in datasets/dhsd_errata.csv (45 images whose label names another word of the writer's
list than the image shows, 14 of them in dev writer 16; see that file), and writes
OUT/train.jsonl (every writer but the dev ones), OUT/dev.jsonl (the dev writers) and OUT/all.jsonl. The
split is by writer, never by image, so dev accuracy predicts accuracy on a new hand: the dev writers'
images are never seen in training. The default dev writers are 16 and 17, the two highest writer ids
of the 17 in the shared copy, picked by that rule before any model was trained.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from asr.data.importers import import_image_csv, split_by_speaker  # noqa: E402
from asr.data.manifest import ManifestItem, write_manifest  # noqa: E402

LABELS_FILE = "labels.csv"
DEFAULT_DEV_WRITERS = "16,17"
ERRATA_FILE = Path(__file__).resolve().parent / "dhsd_errata.csv"


def read_errata(path: Path) -> dict[str, tuple[str, str]]:
    """`file_name,corpus_text,text` rows (lines starting with # are comments) -> {file_name: (corpus_text, text)}."""
    errata: dict[str, tuple[str, str]] = {}
    with path.open(encoding="utf-8", newline="") as stream:
        for line_number, line in enumerate(stream, start=1):
            if line.startswith("#") or not line.strip():
                continue
            row = next(csv.reader([line]))
            if row == ["file_name", "corpus_text", "text"]:
                continue
            if len(row) != 3 or not row[2].strip():
                raise ValueError(f"{path}: line {line_number}: expected file_name,corpus_text,text, got {row}")
            errata[row[0]] = (row[1], row[2])
    return errata


def apply_errata(items: list[ManifestItem], errata: dict[str, tuple[str, str]], root: Path) -> list[ManifestItem]:
    """`items` with the texts the errata correct. Every erratum must find its image with the corpus text it
    expects, so a different release of the corpus is reported, not half-corrected."""
    by_file = {Path(item.path).resolve(): item for item in items}
    problems = []
    for file_name, (corpus_text, text) in errata.items():
        item = by_file.get((root / file_name).resolve())
        if item is None:
            problems.append(f"{file_name}: not in {LABELS_FILE}")
        elif item.text != corpus_text:
            problems.append(f"{file_name}: {LABELS_FILE} says {item.text!r}, the erratum expects {corpus_text!r}")
    if problems:
        raise ValueError(f"{ERRATA_FILE.name} does not fit this copy of DHSD:\n  " + "\n  ".join(problems))
    corrected = {by_file[(root / file_name).resolve()].id: text for file_name, (_, text) in errata.items()}
    return [replace(item, text=corrected[item.id]) if item.id in corrected else item for item in items]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help=f"DHSD directory (holds {LABELS_FILE} and german_hw_data/)")
    parser.add_argument("--out", required=True, help="directory for train.jsonl, dev.jsonl, all.jsonl")
    parser.add_argument("--dev-writers", default=DEFAULT_DEV_WRITERS,
                        help=f"comma-separated writer ids held out for dev (default: {DEFAULT_DEV_WRITERS})")
    parser.add_argument("--no-errata", action="store_true",
                        help=f"keep the corpus's labels as they are (do not apply {ERRATA_FILE.name})")
    args = parser.parse_args(argv)

    dev_writers = [writer.strip() for writer in args.dev_writers.split(",") if writer.strip()]
    try:
        items = import_image_csv(Path(args.root) / LABELS_FILE, args.root)
        if not args.no_errata:
            errata = read_errata(ERRATA_FILE)
            items = apply_errata(items, errata, Path(args.root))
            print(f"corrected the {len(errata)} labels listed in {ERRATA_FILE}")
        train, dev = split_by_speaker(items, dev_writers)
    except (OSError, ValueError) as error:
        print(f"dhsd: error: {error}", file=sys.stderr)
        return 2

    out = Path(args.out)
    for name, split in (("train", train), ("dev", dev), ("all", items)):
        write_manifest(out / f"{name}.jsonl", split)
        writers = Counter(item.speaker for item in split)
        num_chars = sum(len(item.text) for item in split)
        print(f"{out / f'{name}.jsonl'}: {len(split)} images, {num_chars} characters, {len(writers)} writers "
              f"({', '.join(sorted(writers, key=int))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
