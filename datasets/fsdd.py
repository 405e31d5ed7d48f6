"""Recipe: Free Spoken Digit Dataset -> train/dev/all manifests, split by speaker.

    python datasets/fsdd.py --root ../shared/data/fsdd --out data/fsdd [--dev-speaker lucas]

Writes OUT/train.jsonl (every speaker but the dev one), OUT/dev.jsonl (the dev speaker) and OUT/all.jsonl.
The split is by speaker, never by utterance, so dev accuracy predicts accuracy on a new voice.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

# Recipes run as scripts from a checkout (`python datasets/fsdd.py`), where only datasets/ is on the
# path; make the package next to it importable when it is not installed.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from asr.data.importers import import_fsdd, split_by_speaker  # noqa: E402
from asr.data.manifest import write_manifest  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="FSDD directory (holds recordings/)")
    parser.add_argument("--out", required=True, help="directory for train.jsonl, dev.jsonl, all.jsonl")
    parser.add_argument("--dev-speaker", default="lucas", help="speaker held out for dev (default: lucas)")
    args = parser.parse_args(argv)

    try:
        items = import_fsdd(args.root)
        train, dev = split_by_speaker(items, [args.dev_speaker])
    except (OSError, ValueError) as error:
        print(f"fsdd: error: {error}", file=sys.stderr)
        return 2

    out = Path(args.out)
    for name, split in (("train", train), ("dev", dev), ("all", items)):
        write_manifest(out / f"{name}.jsonl", split)
        per_speaker = Counter(item.speaker for item in split)
        hours = sum(item.duration for item in split) / 3600
        speakers = ", ".join(f"{speaker} {count}" for speaker, count in sorted(per_speaker.items()))
        print(f"{out / f'{name}.jsonl'}: {len(split)} items, {hours:.2f} h ({speakers})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
