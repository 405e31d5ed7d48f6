"""Tests for scripts/audit_labels.py: swapped transcripts are found within a speaker, and only there."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PIL import Image

from asr.data.manifest import ManifestItem, write_manifest
from tests.script_loader import load_script

audit = load_script("scripts/audit_labels.py", "audit_labels")


def item(item_id: str, text: str, speaker: str, path: Path = Path("unused.png")) -> ManifestItem:
    return ManifestItem(id=item_id, path=path, text=text, duration=0.0, speaker=speaker, kind="image")


# Writer 1's image a shows "Rosenweg" (b's label); b shows a word like none on the list; c is read right
# but for one letter; d is misread badly, but like no other label. Writer 2's e is misread as writer 1's
# "Rosenweg": a suggestion may only come from the same writer.
ITEMS = [item("a", "Lindenallee", "1"), item("b", "Rosenweg", "1"), item("c", "Am Markt", "1"),
         item("d", "Bahnhofstraße", "1"), item("e", "Kirchgasse", "2")]
HYPOTHESES = {"a": "Rosenveg", "b": "Qu", "c": "Am Marht", "d": "Xyqz", "e": "Rosenweg"}


def test_a_swapped_label_and_the_label_it_displaced_are_suspects():
    suspects = audit.find_suspects(ITEMS, HYPOTHESES)
    assert [(s.item.id, s.suggestion) for s in suspects] == [("a", "Rosenweg"), ("b", "")]
    assert suspects[0].cer == 8 / 11 and suspects[0].suggestion_cer == 1 / 8
    assert "shown by a" in suspects[1].reason


def test_the_threshold_spares_items_read_close_to_their_label():
    assert audit.find_suspects(ITEMS, HYPOTHESES, max_cer=0.95) == []
    assert [s.item.id for s in audit.find_suspects(ITEMS, {"c": "Rosenweg"})] == []  # only c has a hypothesis


def test_script_writes_the_table_and_a_contact_sheet(tmp_path, capsys):
    items = []
    for entry in ITEMS:
        path = tmp_path / f"{entry.id}.png"
        Image.new("L", (60, 20), 255).save(path)
        items.append(item(entry.id, entry.text, entry.speaker, path))
    write_manifest(tmp_path / "all.jsonl", items)
    with (tmp_path / "results.jsonl").open("w", encoding="utf-8") as results:
        for item_id, hypothesis in HYPOTHESES.items():
            results.write(json.dumps({"id": item_id, "hypothesis": hypothesis}) + "\n")

    assert audit.main(["--manifest", str(tmp_path / "all.jsonl"), "--results", str(tmp_path / "results.jsonl"),
                       "--out", str(tmp_path / "audit")]) == 0
    with (tmp_path / "audit" / "suspects.csv").open(encoding="utf-8") as table:
        rows = list(csv.DictReader(table))
    assert [(row["id"], row["corpus_text"], row["suggestion"]) for row in rows] == [
        ("a", "Lindenallee", "Rosenweg"), ("b", "Rosenweg", "")]
    with Image.open(tmp_path / "audit" / "suspects.png") as sheet:
        assert sheet.height == 2 * 80
    assert "5 items (0 without a hypothesis), 2 suspects: 1: 2" in capsys.readouterr().out
