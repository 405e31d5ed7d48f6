"""Tests for datasets/english.py: dev sentences and dev speakers stay out of training and of the LM text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from asr.data.manifest import read_manifest
from tests.script_loader import load_script

english = load_script("datasets/english.py", "english_recipe")

LJ_LINES = {  # id -> normalised text; chapter LJ002 is dev
    "LJ001-0001": "printing in the only sense",
    "LJ001-0002": "the arts and crafts",
    "LJ001-0003": "a line with no audio here",
    "LJ002-0001": "the prison of newgate",
    "LJ002-0002": "a dev line with no audio",
}
SPEAKERS = {  # speechocean762 speaker -> (utterance, transcript); the first of the sorted ids becomes dev
    "0001": ("u1", "MARK IS GOING TO SEE ELEPHANT"),
    "0002": ("u2", "TWO SIX FOUR EIGHT"),
    "0003": ("u3", "KATE LOVES CHINA"),
}


def write_noise(path: Path, seconds: float, sample_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.random.default_rng(0).uniform(-0.1, 0.1, int(seconds * sample_rate)), sample_rate)


def tiny_corpora(root: Path) -> tuple[Path, Path]:
    lj = root / "lj"
    with_audio = ["LJ001-0001", "LJ001-0002", "LJ002-0001"]
    for utterance_id in with_audio:
        write_noise(lj / "wavs" / f"{utterance_id}.flac", 1.0, 22050)
    (lj / "metadata.csv").write_text("".join(f"{i}|{LJ_LINES[i]}|{LJ_LINES[i]}\n" for i in with_audio))
    (lj / english.LJ_ALL_TEXT).write_text("".join(f"{i}|{text}|{text}\n" for i, text in LJ_LINES.items()))
    so = root / "so762"
    for speaker, (utterance, _) in SPEAKERS.items():
        write_noise(so / "WAVE" / f"SPEAKER{speaker}" / f"{utterance}.flac", 1.0, 16000)
    (so / "wav.scp").write_text("".join(f"{u} WAVE/SPEAKER{s}/{u}.flac\n" for s, (u, _) in SPEAKERS.items()))
    (so / "text").write_text("".join(f"{u} {text}\n" for u, text in SPEAKERS.values()))
    (so / "utt2spk").write_text("".join(f"{u} {s}\n" for s, (u, _) in SPEAKERS.items()))
    return lj, so


def test_splits_lm_text_and_synthesis_texts(tmp_path):
    lj, so = tiny_corpora(tmp_path)
    out = tmp_path / "out"
    assert english.main(["--ljspeech", str(lj), "--speechocean", str(so), "--out", str(out),
                         "--dev-speakers", "1", "--synth-lines", "2", "--seed", "0"]) == 0

    assert [item.id for item in read_manifest(out / "lj_train.jsonl")] == ["LJ001-0001", "LJ001-0002"]
    assert [item.id for item in read_manifest(out / "lj_dev.jsonl")] == ["LJ002-0001"]
    assert [item.speaker for item in read_manifest(out / "so762_dev.jsonl")] == ["0001"]
    assert sorted(item.speaker for item in read_manifest(out / "so762_train.jsonl")) == ["0002", "0003"]

    lm_text = (out / "lm_text.txt").read_text().splitlines()
    # every LJSpeech line outside the dev chapter (with audio or not), then the training speakers' transcripts
    assert lm_text == [LJ_LINES[i] for i in ("LJ001-0001", "LJ001-0002", "LJ001-0003")] + [
        "TWO SIX FOUR EIGHT", "KATE LOVES CHINA"]
    synth_texts = (out / "synth_texts.txt").read_text().splitlines()
    assert len(synth_texts) == len(set(synth_texts)) == 2
    assert set(synth_texts) <= set(lm_text[:3])  # LJSpeech lines only, never a dev line
