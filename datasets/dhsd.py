"""Recipe: DHSD (German handwritten words: city and street names) -> train/dev/all manifests, split by writer.

    python datasets/dhsd.py --root ../shared/data/dhsd --out data/dhsd [--dev-writers 16,17]

Reads ROOT/labels.csv (`file_name,text,writer_id`, images under ROOT/german_hw_data/writerN/) and writes
OUT/train.jsonl (every writer but the dev ones), OUT/dev.jsonl (the dev writers) and OUT/all.jsonl. The
split is by writer, never by image, so dev accuracy predicts accuracy on a new hand: the dev writers'
images are never seen in training. The default dev writers are 16 and 17, the two highest writer ids
of the 17 in the shared copy, picked by that rule before any model was trained.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from asr.data.importers import import_image_csv, split_by_speaker  # noqa: E402
from asr.data.manifest import write_manifest  # noqa: E402

LABELS_FILE = "labels.csv"
DEFAULT_DEV_WRITERS = "16,17"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help=f"DHSD directory (holds {LABELS_FILE} and german_hw_data/)")
    parser.add_argument("--out", required=True, help="directory for train.jsonl, dev.jsonl, all.jsonl")
    parser.add_argument("--dev-writers", default=DEFAULT_DEV_WRITERS,
                        help=f"comma-separated writer ids held out for dev (default: {DEFAULT_DEV_WRITERS})")
    args = parser.parse_args(argv)

    dev_writers = [writer.strip() for writer in args.dev_writers.split(",") if writer.strip()]
    try:
        items = import_image_csv(Path(args.root) / LABELS_FILE, args.root)
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
