"""Recipe: English read speech (LJSpeech clips, speechocean762) -> manifests, LM text and texts to synthesise.

    python datasets/english.py --ljspeech ../shared/data/ljspeech --speechocean ../shared/data/speechocean762 \\
        --out data/english [--dev-chapter LJ002] [--dev-speakers 10] [--synth-lines 2500 --seed 0]

Writes into OUT:
- lj_train.jsonl, lj_dev.jsonl: the LJSpeech clips that have audio. LJSpeech has one reader, so no split
  by speaker exists; dev is a whole chapter (a book section) held out, so its sentences and their topic
  are not in training. It measures new sentences, not a new voice.
- so762_train.jsonl, so762_dev.jsonl: speechocean762 split by speaker (every k-th speaker of the sorted
  ids is dev), so dev measures voices never heard in training.
- lm_text.txt: the normalised LJSpeech transcript lines of all 13,001 clips except the dev chapter's, then
  the transcripts of the speechocean762 training speakers (short sentences and digit strings that the
  LJSpeech books lack), for the n-gram LMs (`asr lm build`). Dev sentences never reach the LM.
- synth_texts.txt: `--synth-lines` of the LJSpeech lines drawn by seed, for `datasets/synth_speech.py`.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from asr.data.importers import import_kaldi, import_ljspeech, split_by_speaker  # noqa: E402
from asr.data.manifest import ManifestItem, write_manifest  # noqa: E402

LJ_ALL_TEXT = "metadata_all_text.csv"
MAX_SYNTH_CHARS = 160  # long lines make long utterances; the training batches cap duration anyway


def chapter(utterance_id: str) -> str:
    """LJSpeech ids are CHAPTER-NUMBER, e.g. LJ002-0017 -> LJ002."""
    return utterance_id.split("-", 1)[0]


def every_kth_speaker(items: list[ManifestItem], count: int) -> list[str]:
    """`count` speakers spread over the sorted ids (deterministic, no seed to forget)."""
    speakers = sorted({item.speaker for item in items})
    if not 0 < count < len(speakers):
        raise ValueError(f"--dev-speakers must be between 1 and {len(speakers) - 1}, got {count}")
    step = len(speakers) / count
    return [speakers[int(index * step)] for index in range(count)]


def lm_lines(ljspeech: Path, dev_chapter: str) -> list[str]:
    """Normalised transcript lines of every LJSpeech clip outside the dev chapter."""
    path = ljspeech / LJ_ALL_TEXT
    lines = []
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split("|")
        if len(fields) != 3:
            raise ValueError(f"{path}: line {line_number}: expected id|raw|normalized")
        if chapter(fields[0]) != dev_chapter and fields[2].strip():
            lines.append(fields[2].strip())
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ljspeech", required=True, help="LJSpeech directory (metadata.csv, wavs/)")
    parser.add_argument("--speechocean", required=True, help="speechocean762 Kaldi directory (wav.scp, text, utt2spk)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--dev-chapter", default="LJ002", help="LJSpeech chapter held out for dev")
    parser.add_argument("--dev-speakers", type=int, default=10, help="speechocean762 speakers held out for dev")
    parser.add_argument("--synth-lines", type=int, default=2500, help="LM lines drawn for synthetic speech")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = Path(args.out)

    try:
        lj_items = import_ljspeech(args.ljspeech)
        so_items = import_kaldi(args.speechocean)
        so_train, so_dev = split_by_speaker(so_items, every_kth_speaker(so_items, args.dev_speakers))
        text = lm_lines(Path(args.ljspeech), args.dev_chapter)
    except (OSError, ValueError) as error:
        print(f"english: error: {error}", file=sys.stderr)
        return 2
    lj_train = [item for item in lj_items if chapter(item.id) != args.dev_chapter]
    lj_dev = [item for item in lj_items if chapter(item.id) == args.dev_chapter]
    if not lj_dev:
        print(f"english: error: no LJSpeech clip of chapter {args.dev_chapter} has audio", file=sys.stderr)
        return 2

    for name, split in (("lj_train", lj_train), ("lj_dev", lj_dev), ("so762_train", so_train), ("so762_dev", so_dev)):
        write_manifest(out / f"{name}.jsonl", split)
        speakers = len({item.speaker for item in split})
        print(f"{out / f'{name}.jsonl'}: {len(split)} items, {sum(i.duration for i in split) / 3600:.2f} h, "
              f"{speakers} speaker(s)")
    so_train_text = [item.text for item in so_train]
    (out / "lm_text.txt").write_text("\n".join(text + so_train_text) + "\n", encoding="utf-8")
    print(f"{out / 'lm_text.txt'}: {len(text)} LJSpeech lines (chapter {args.dev_chapter} left out) and "
          f"{len(so_train_text)} speechocean762 training transcripts")
    candidates = [line for line in text if len(line) <= MAX_SYNTH_CHARS]
    chosen = random.Random(args.seed).sample(candidates, min(args.synth_lines, len(candidates)))
    (out / "synth_texts.txt").write_text("\n".join(chosen) + "\n", encoding="utf-8")
    print(f"{out / 'synth_texts.txt'}: {len(chosen)} lines for datasets/synth_speech.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
