"""Bundled models: each one reads the bundled samples of its kind, whose file names carry the reference."""

from __future__ import annotations

import pytest

from asr.inference import PRETRAINED_DIR, available_models, load_model

SAMPLES = PRETRAINED_DIR / "samples"


def reference_of(sample_name: str) -> str:
    """Samples are named TEXT_SOURCE... for audio (nine_flite_rms.flac) and digits_TEXT_SOURCE for images."""
    parts = sample_name.split("_")
    return parts[1] if parts[0] == "digits" else parts[0]


# Which bundled samples each model must read without an error. english-small (dev WER 93% greedy) is
# too weak for a known-answer sample; its subtitle timing is tested on a real LJSpeech clip instead
# (tests/cli/test_transcribe_formats.py).
SAMPLES_OF = {"fsdd-digits": ".flac", "mnist-digits": ".png", "english-small": None}


def test_every_bundled_model_is_listed_here():
    assert sorted(SAMPLES_OF) == available_models()


@pytest.mark.parametrize("name", [name for name, suffix in SAMPLES_OF.items() if suffix])
def test_bundled_model_reads_its_samples(name):
    transcriber = load_model(name)
    samples = sorted(path for path in SAMPLES.iterdir() if path.suffix.lower() == SAMPLES_OF[name])
    assert samples, f"no bundled sample for {name}"
    results = transcriber.transcribe_files(samples)
    assert {result.path.name: result.hypothesis.text for result in results} == {
        path.name: reference_of(path.name) for path in samples}


def test_every_bundled_model_has_a_model_card():
    for name in available_models():
        card = PRETRAINED_DIR / f"{name}.md"
        assert card.is_file(), f"{name} has no model card"
        assert "Training time" in card.read_text() and "Dev figures" in card.read_text()
