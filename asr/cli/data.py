"""`asr data`: import corpora into JSONL manifests, summarise and check manifests.

    asr data import fsdd ../shared/data/fsdd --out data/fsdd/train.jsonl \
        --dev-speakers lucas --dev-out data/fsdd/dev.jsonl
    asr data import images ../shared/data/dhsd/labels.csv --out data/dhsd/train.jsonl \
        --dev-speakers 16,17 --dev-out data/dhsd/dev.jsonl      # CSV of file,text[,writer]
    asr data import coco ../shared/data/coco_mini/annotations/captions_val2017.json \
        --out data/coco/val.jsonl                                # images from ../val2017/, or --image-root
    asr data stats data/fsdd/train.jsonl
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from asr.data.importers import IMPORTERS, split_by_speaker
from asr.data.manifest import ManifestItem, read_manifest, write_manifest

EXIT_BAD_INPUT = 2
# Importers whose images may lie apart from their list; the others find their files from the source alone.
IMPORTERS_WITH_IMAGE_ROOT = ("coco", "images")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    importer = actions.add_parser("import", help="import a corpus into a manifest",
                                  description="Import a corpus in its original layout into a JSONL manifest.")
    importer.add_argument("corpus", choices=sorted(IMPORTERS), help="corpus layout")
    importer.add_argument("source", help="corpus directory (a Kaldi data directory for 'kaldi'; a subset folder such "
                                         "as train-clean-100 for 'librispeech'; a split's TSV for 'commonvoice'; "
                                         "for 'images' a CSV of file,text[,writer] rows, paths relative to its folder; "
                                         "for 'coco' a COCO caption JSON)")
    importer.add_argument("--image-root", default=None,
                          help="folder the image file names are relative to ('images' and 'coco' only; default: "
                               "the CSV's folder for 'images'; for 'coco' ROOT/<split>/ for "
                               "ROOT/annotations/captions_<split>.json when it exists, else the JSON's folder)")
    importer.add_argument("--out", required=True, help="manifest to write (all items, or train with --dev-out)")
    importer.add_argument("--dev-speakers", help="comma-separated speakers (writers, for images) held out for dev")
    importer.add_argument("--dev-out", help="manifest for the dev speakers' items")
    importer.set_defaults(data_run=run_import)

    stats = actions.add_parser("stats", help="summarise a manifest", description="Summarise a manifest.")
    stats.add_argument("manifest", help="JSONL manifest")
    stats.set_defaults(data_run=run_stats)

    check = actions.add_parser("check", help="find broken, suspicious or unusable items in a manifest",
                               description="Open every item of a manifest and report each kind of problem with "
                                           "the ids of its items; exit 1 when any problem is fatal.")
    check.add_argument("manifest", help="JSONL manifest")
    check.add_argument("--model", default=None,
                       help="bundled model name or checkpoint: check its vocabulary, its text normaliser and "
                            "its output frames (CTC lengths); without it, 100 frames per second are assumed")
    check.set_defaults(data_run=run_check)


def _speakers_from_flag(value: str) -> list[str]:
    return [speaker.strip() for speaker in value.split(",") if speaker.strip()]


def run_import(args: argparse.Namespace) -> int:
    if (args.dev_speakers is None) != (args.dev_out is None):
        raise ValueError("--dev-speakers and --dev-out go together: give both or neither")
    dev_speakers = _speakers_from_flag(args.dev_speakers) if args.dev_speakers is not None else []
    if args.dev_speakers is not None and not dev_speakers:
        raise ValueError("--dev-speakers names no speaker")

    if args.image_root is not None and args.corpus not in IMPORTERS_WITH_IMAGE_ROOT:
        raise ValueError(f"--image-root applies only to {' and '.join(map(repr, IMPORTERS_WITH_IMAGE_ROOT))}, "
                         f"not to {args.corpus!r}")

    options = {"image_root": args.image_root} if args.image_root is not None else {}
    items = IMPORTERS[args.corpus](args.source, **options)
    if dev_speakers:
        train, dev = split_by_speaker(items, dev_speakers)
        write_manifest(args.out, train)
        write_manifest(args.dev_out, dev)
        print(f"{args.out}: {len(train)} items; {args.dev_out}: {len(dev)} items")
    else:
        write_manifest(args.out, items)
        print(f"{args.out}: {len(items)} items")
    return 0


def manifest_stats(items: list[ManifestItem]) -> dict[str, float | int | str]:
    """Summary numbers of a manifest, as printed by `asr data stats`."""
    characters = Counter(character for item in items for character in item.text)
    return {
        "items": len(items),
        "hours": sum(item.duration for item in items) / 3600,
        "speakers": len({item.speaker for item in items}),
        "characters": sum(characters.values()),
        "distinct characters": len(characters),
        "character set": "".join(sorted(characters)),
    }


def run_stats(args: argparse.Namespace) -> int:
    stats = manifest_stats(read_manifest(args.manifest))
    width = max(len(name) for name in stats)
    for name, value in stats.items():
        shown = f"{value:.3f}" if isinstance(value, float) else repr(value) if name == "character set" else value
        print(f"{name:<{width}}  {shown}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    import torch

    from asr.data.check import check_items
    from asr.text import BLANK, SPACE

    items = read_manifest(args.manifest)  # a broken line is a ManifestError naming it: exit 2
    if args.model is None:
        report = check_items(items, frames_for=lambda item, seconds: int(seconds * 100) if item.kind == "audio"
                             else 10**9)
    else:
        from asr.inference import load_model

        transcriber = load_model(args.model)
        model, frontend = transcriber.model, transcriber.frontend
        characters = [" " if token == SPACE else token for token in transcriber.vocabulary.tokens if token != BLANK]

        def frames_for(item: ManifestItem, seconds: float) -> int:
            if transcriber.is_image:
                size = torch.tensor([frontend.input_width(item.path)])
            else:
                size = frontend.num_frames(torch.tensor([int(seconds * frontend.config.sample_rate)]))
            return int(model.output_lengths(size)[0])

        # A word vocabulary (captions) turns unknown words into <unk> by design: no character check. Only a
        # model with a CTC head needs as many frames as labels.
        from asr.models import has_ctc_head

        is_char_model = transcriber.vocabulary.unit == "char"
        report = check_items(items, transcriber.normalize, characters if is_char_model else None,
                             frames_for if has_ctc_head(model) else None)
    for line in report.lines():
        print(line)
    fatal = sum(len(ids) for kind, ids in report.problems.items() if kind.fatal)
    print(f"{args.manifest}: {report.num_items} items checked, {len(report.problems)} kind(s) of problem, "
          f"{fatal} fatal finding(s)")
    return 1 if report.fatal else 0


def run(args: argparse.Namespace) -> int:
    # User errors (missing files, bad corpora, bad flags) end in one message and exit status 2, not a
    # traceback; anything else is a bug and keeps its traceback.
    try:
        return args.data_run(args)
    except (OSError, ValueError) as error:
        print(f"asr data {args.data_command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
