"""Find transcripts that belong to another file of the same speaker or writer: swapped labels in a corpus.

    asr evaluate --model MODEL --manifest M.jsonl --decoder greedy --output results.jsonl
    python scripts/audit_labels.py --manifest M.jsonl --results results.jsonl --out exp/audit [--max-cer 0.4]

A corpus whose labels were matched to files by list position can shift or swap a run of them: the model
then reads the image (or hears the clip) right and is scored wrong. An item is a *suspect* when its own
transcript is far from the model's hypothesis (CER above --max-cer) while another transcript of the same
speaker explains the hypothesis at most half as badly; that transcript is the suggestion. The item whose
transcript the suggestion took is listed too (its own file then shows something else), so a shifted run
is listed whole even where the model misreads some of it.

The audit only points: a person looks at every suspect (OUT/suspects.png shows the images with the corpus
label and the suggestion) and writes what the file really says into the corpus recipe's errata, never the
model's guess. OUT/suspects.csv lists `id,path,corpus_text,hypothesis,suggestion,cer,suggestion_cer,reason`.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.data.manifest import ManifestItem, read_manifest  # noqa: E402
from asr.metrics import edit_counts  # noqa: E402


@dataclass
class Suspect:
    item: ManifestItem
    hypothesis: str
    suggestion: str  # the same speaker's transcript that fits the hypothesis best ("" for a displaced one)
    cer: float
    suggestion_cer: float  # nan without a suggestion
    reason: str


def _cer(refs: list[str], hyp: str) -> list[float]:
    return [counts.rate for counts in edit_counts(refs, [hyp] * len(refs), "char")]


def find_suspects(items: list[ManifestItem], hypotheses: dict[str, str], max_cer: float = 0.4) -> list[Suspect]:
    """Suspects among `items` (grouped by `speaker`) given the model's hypothesis per item id, in the
    manifest's order. Items without a hypothesis are skipped."""
    by_speaker: dict[str, list[ManifestItem]] = defaultdict(list)
    for item in items:
        if item.id in hypotheses:
            by_speaker[item.speaker].append(item)

    suspects: dict[str, Suspect] = {}
    for group in by_speaker.values():
        texts = [item.text for item in group]
        owner_of_text = {item.text: item for item in group}
        found = []
        for item in group:
            hypothesis = hypotheses[item.id]
            own_cer = _cer([item.text], hypothesis)[0]
            if own_cer <= max_cer:
                continue
            fits = _cer(texts, hypothesis)
            best = min(range(len(group)), key=fits.__getitem__)
            if texts[best] == item.text or fits[best] > own_cer / 2:
                continue
            found.append(Suspect(item, hypothesis, texts[best], own_cer, fits[best],
                                 "hypothesis fits another transcript of this speaker"))
        suspects.update((suspect.item.id, suspect) for suspect in found)
        # The item whose transcript a suspect's file seems to show holds a label that is not its own file's.
        for suspect in found:
            donor = owner_of_text[suspect.suggestion]
            if donor.id not in suspects:
                hypothesis = hypotheses[donor.id]
                suspects[donor.id] = Suspect(donor, hypothesis, "", _cer([donor.text], hypothesis)[0], math.nan,
                                             f"its transcript seems to be shown by {suspect.item.id}")
    order = {item.id: index for index, item in enumerate(items)}
    return sorted(suspects.values(), key=lambda suspect: order[suspect.item.id])


def write_contact_sheet(suspects: list[Suspect], path: Path, row_height: int = 80) -> None:
    """One row per suspect: the image at `row_height`, with its id, corpus label, hypothesis and suggestion."""
    from PIL import Image, ImageDraw, ImageFont

    font_size = max(10, row_height // 6)
    try:  # a system font that draws umlauts and ß, where Pillow's default font draws boxes
        font = ImageFont.truetype("DejaVuSans.ttf", font_size)
    except OSError:
        font = ImageFont.load_default(size=font_size)
    line_height = max(12, row_height // 5)
    text_width, image_width = 10 * row_height, 4 * row_height
    sheet = Image.new("RGB", (image_width + text_width, max(1, len(suspects)) * row_height), "white")
    draw = ImageDraw.Draw(sheet)
    for row, suspect in enumerate(suspects):
        top = row * row_height
        with Image.open(suspect.item.path) as image:
            picture = image.convert("RGBA")
        paper = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        paper.alpha_composite(picture)
        scale = min(row_height / paper.height, image_width / paper.width)
        paper = paper.resize((max(1, round(paper.width * scale)), max(1, round(paper.height * scale))))
        sheet.paste(paper.convert("RGB"), (0, top))
        lines = (suspect.item.id, f"corpus:     {suspect.item.text}", f"model:      {suspect.hypothesis}",
                 f"suggestion: {suspect.suggestion or '-'}")
        for index, line in enumerate(lines):
            draw.text((image_width + 8, top + 2 + line_height * index), line, fill="black", font=font)
        draw.line((0, top + row_height - 1, sheet.width, top + row_height - 1), fill=(200, 200, 200))
    sheet.save(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, help="JSONL manifest (items grouped by their speaker field)")
    parser.add_argument("--results", required=True, help="per-utterance JSONL of `asr evaluate --output`")
    parser.add_argument("--out", required=True, help="directory for suspects.csv (and suspects.png for images)")
    parser.add_argument("--max-cer", type=float, default=0.4,
                        help="items whose own transcript scores at most this CER are not suspected (default 0.4)")
    args = parser.parse_args(argv)

    items = read_manifest(args.manifest)
    hypotheses = {}
    with open(args.results, encoding="utf-8") as results:
        for line in results:
            if line.strip():
                row = json.loads(line)
                hypotheses[row["id"]] = row["hypothesis"]
    missing = sum(item.id not in hypotheses for item in items)
    suspects = find_suspects(items, hypotheses, args.max_cer)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "suspects.csv", "w", newline="", encoding="utf-8") as table:
        writer = csv.writer(table)
        writer.writerow(["id", "path", "corpus_text", "hypothesis", "suggestion", "cer", "suggestion_cer", "reason"])
        for suspect in suspects:
            writer.writerow([suspect.item.id, suspect.item.path, suspect.item.text, suspect.hypothesis,
                             suspect.suggestion, f"{suspect.cer:.3f}", f"{suspect.suggestion_cer:.3f}",
                             suspect.reason])
    per_speaker = defaultdict(int)
    for suspect in suspects:
        per_speaker[suspect.item.speaker] += 1
    print(f"{len(items)} items ({missing} without a hypothesis), {len(suspects)} suspects: "
          + ", ".join(f"{speaker}: {count}" for speaker, count in per_speaker.items()))
    print(f"wrote {out / 'suspects.csv'}")
    if suspects and all(item.kind == "image" for item in items):
        write_contact_sheet(suspects, out / "suspects.png")
        print(f"wrote {out / 'suspects.png'}: look at every row before correcting a label")
    return 0


if __name__ == "__main__":
    sys.exit(main())
