"""Tests for datasets/render_lines.py: font discovery, spliced texts, rendering, seeded reruns."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asr.data.manifest import read_manifest
from tests.script_loader import load_script

render = load_script("datasets/render_lines.py", "render_lines_recipe")

TEXTS = ["Groß Köris", "Wettin-Löbejün", "Söllingen"]


def test_splice_keeps_the_alphabet_and_repeats_with_the_seed():
    alphabet = set("".join(TEXTS)) | {" ", "-"}
    for seed in range(20):
        text = render.splice(TEXTS, np.random.default_rng(seed))
        assert text and set(text) <= alphabet
        assert text == render.splice(TEXTS, np.random.default_rng(seed))


def test_plan_texts_mixes_given_and_spliced_texts():
    planned = render.plan_texts(TEXTS, 200, 0.5, seed=3)
    given = sum(text in TEXTS for text in planned)
    assert 60 < given < 140 and planned == render.plan_texts(TEXTS, 200, 0.5, seed=3)
    assert all(text in TEXTS for text in render.plan_texts(TEXTS, 20, 0.0, seed=3))


def test_read_texts_from_a_text_file(tmp_path):
    (tmp_path / "lines.txt").write_text("Ulm\n\n  Bonn \n", encoding="utf-8")
    assert render.read_texts(tmp_path / "lines.txt") == ["Ulm", "Bonn"]
    with pytest.raises(FileNotFoundError):
        render.read_texts(tmp_path / "absent.txt")


needs_fonts = pytest.mark.skipif(shutil.which("fc-list") is None, reason="fontconfig (fc-list) is not installed")


@needs_fonts
def test_fonts_found_cover_the_characters_and_unknown_script_fails():
    fonts = render.find_fonts("Großß äöü")
    assert fonts and all(Path(font.path).is_file() for font in fonts)
    assert all(set(font.characters) <= set("Großäöü") for font in fonts)
    assert render.fonts_for("Groß", fonts) and all(font.covers("Groß") for font in render.fonts_for("Groß", fonts))
    with pytest.raises(FileNotFoundError, match="no installed font has"):
        render.find_fonts("\U00013000")  # an Egyptian hieroglyph: no such font here
    with pytest.raises(FileNotFoundError, match="no installed font has every character of 'x'"):
        render.fonts_for("x", fonts)


@needs_fonts
def test_rendered_line_is_dark_ink_on_light_paper():
    font = render.find_fonts("Groß")[0]
    pixels = render.render_text("Groß", font, np.random.default_rng(0))
    assert pixels.dtype == np.uint8 and pixels.ndim == 2
    assert pixels.shape[0] >= render.FONT_SIZE[0] // 2 and pixels.shape[1] > pixels.shape[0]
    assert np.median(pixels) >= render.PAPER_GREY[0] - 30 and pixels.min() <= render.INK_GREY[1] + 40


@needs_fonts
def test_recipe_writes_the_same_images_for_the_same_seed(tmp_path, capsys):
    (tmp_path / "texts.txt").write_text("\n".join(TEXTS), encoding="utf-8")
    arguments = ["--texts-from", str(tmp_path / "texts.txt"), "--num-images", "4", "--seed", "2",
                 "--size", "128x32"]
    assert render.main(arguments + ["--out", str(tmp_path / "a")]) == 0
    assert render.main(arguments + ["--out", str(tmp_path / "b"), "--workers", "2"]) == 0
    items = read_manifest(tmp_path / "a" / "manifest.jsonl")
    assert len(items) == 4 and all(item.kind == "image" for item in items)
    for item in items:
        assert Image.open(item.path).size == (128, 32)
        twin = tmp_path / "b" / item.path.relative_to(tmp_path / "a")
        assert hashlib.sha256(item.path.read_bytes()).digest() == hashlib.sha256(twin.read_bytes()).digest()
    assert render.main(arguments + ["--out", str(tmp_path / "c"), "--size", "wide"]) == 2
    assert "--size must be WIDTHxHEIGHT" in capsys.readouterr().err
