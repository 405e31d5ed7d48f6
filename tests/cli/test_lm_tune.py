"""`asr lm tune`: the grid search's best alpha and beta land in the checkpoint's decoding defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from asr.cli.main import main
from asr.data.manifest import write_manifest
from asr.inference import load_model
from tests.conftest import DIGIT_WORDS, copy_fsdd_items


@pytest.fixture
def dev_manifest(tmp_path: Path) -> Path:
    items = copy_fsdd_items(tmp_path / "audio", ["lucas"], range(0, 3), range(0, 2))
    path = tmp_path / "dev.jsonl"
    write_manifest(path, items)
    return path


@pytest.fixture
def word_lm(tmp_path: Path) -> Path:
    text = tmp_path / "digits.txt"
    text.write_text("\n".join(DIGIT_WORDS) + "\n")
    path = tmp_path / "digits.arpa"
    assert main(["lm", "build", "--text", str(text), "--order", "1", "--out", str(path)]) == 0
    return path


def test_the_best_grid_point_is_written_into_a_copy_of_the_model(model_path, dev_manifest, word_lm, tmp_path,
                                                                   capsys):
    tuned = tmp_path / "tuned.pt"
    assert main(["lm", "tune", "--model", str(model_path), "--manifest", str(dev_manifest), "--lm", str(word_lm),
                 "--lm-weights", "0,0.5", "--word-bonuses", "1.5,-2", "--beam-size", "4",
                 "--output", str(tuned)]) == 0
    out = capsys.readouterr().out
    grid = [tuple(map(float, line.split("\t"))) for line in out.splitlines() if re.fullmatch(r"[-\d.]+(\t[-\d.]+){3}", line)]
    assert len(grid) == 4
    decoding = load_model(tuned).decoding
    assert decoding.decoder == "beam" and decoding.beam_size == 4
    assert Path(decoding.lm) == word_lm.resolve()
    assert f"best: alpha {decoding.lm_weight:g}, beta {decoding.word_bonus:g}" in out
    lowest_wer = min(wer for _, _, wer, _ in grid)
    assert (decoding.lm_weight, decoding.word_bonus) in [(alpha, beta) for alpha, beta, wer, _ in grid
                                                          if wer == lowest_wer]
    untouched = load_model(model_path).decoding
    assert untouched.decoder == "greedy" and not untouched.lm


def test_a_bundled_model_is_not_overwritten(dev_manifest, word_lm, capsys):
    assert main(["lm", "tune", "--model", "fsdd-digits", "--manifest", str(dev_manifest),
                 "--lm", str(word_lm)]) == 2
    assert "give --output" in capsys.readouterr().err
