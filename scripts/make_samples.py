"""Write the bundled sample audio (asr/pretrained/samples/) with the project's own speech synthesis.

The samples are synthetic on purpose: the real corpora may not be redistributed inside the package.
They are spoken by voices at default settings, trimmed and level-normalised like the synthetic training
data, at 16 kHz (the transcriber resamples them to the model's rate).

    .venv/bin/python scripts/make_samples.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datasets.synth_speech import (  # noqa: E402  (the recipe lives outside the package)
    ESPEAK, FLITE, Voice, normalise_peak, synthesize, trim_silence, warp_and_resample)

SAMPLE_RATE = 16_000
SAMPLES = [  # (file stem, text, voice)
    ("seven_flite_slt", "seven", Voice(FLITE, "slt")),
    ("three_espeak_en_us", "three", Voice(ESPEAK, "en-us")),
    ("nine_flite_rms", "nine", Voice(FLITE, "rms")),
    # The default English model's sample: a sentence in the style of the LJSpeech books, but not one of
    # their lines (tests/test_pretrained.py holds its reference).
    ("sentence_flite_slt", "the prisoners were taken to the old jail in the morning", Voice(FLITE, "slt")),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "asr" / "pretrained" / "samples")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for stem, text, voice in SAMPLES:
        samples, engine_rate = synthesize(text, voice)
        samples = trim_silence(samples, engine_rate, lead_seconds=0.1, trail_seconds=0.1)
        samples = normalise_peak(warp_and_resample(samples, engine_rate, SAMPLE_RATE, 1.0), peak_dbfs=-3.0)
        path = args.out / f"{stem}.flac"
        soundfile.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
        print(f"{path}: {text!r} by {voice.speaker}, {len(samples) / SAMPLE_RATE:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
