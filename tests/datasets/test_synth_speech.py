"""Tests for datasets/synth_speech.py: known answers for the channel, then real engine runs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile

from tests.script_loader import load_script


if shutil.which("espeak-ng") is None or shutil.which("flite") is None:
    pytest.skip("espeak-ng and flite are needed for synthetic speech: apt-get install -y espeak-ng flite",
                allow_module_level=True)

synth = load_script("datasets/synth_speech.py", "synth_speech_recipe")

TEXTS = ["seven", "three two"]
NUM_VARIANTS = 3
SAMPLE_RATE = 8000


def _dominant_frequency(samples: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1.0 / sample_rate)[np.argmax(spectrum)])


def _tone(frequency: float, seconds: float, sample_rate: int) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * frequency * np.arange(round(seconds * sample_rate)) / sample_rate)


# --- Channel: known answers -------------------------------------------------------------------------

def test_warp_scales_frequency_and_duration():
    source_rate, target_rate, warp = 22050, 8000, 1.1
    tone = _tone(200.0, 1.0, source_rate)
    warped = synth.warp_and_resample(tone, source_rate, target_rate, warp)
    assert _dominant_frequency(warped, target_rate) == pytest.approx(220.0, abs=2.0)
    assert warped.size == pytest.approx(target_rate / warp, abs=2)
    plain = synth.warp_and_resample(tone, source_rate, target_rate, 1.0)
    assert plain.size == target_rate and _dominant_frequency(plain, target_rate) == pytest.approx(200.0, abs=2.0)


def test_trim_silence_keeps_margins_and_pads_when_short():
    rate = 16000
    signal = np.concatenate([np.zeros(rate // 2), _tone(300.0, 0.3, rate), np.zeros(rate // 2)])
    trimmed = synth.trim_silence(signal, rate, lead_seconds=0.05, trail_seconds=0.1)
    assert trimmed.size == round(0.45 * rate)
    lead = round(0.05 * rate)
    assert np.all(trimmed[:lead] == 0) and np.any(trimmed[lead:lead + 10])
    # Speech from the first sample: the lead margin has to be padded with zeros.
    padded = synth.trim_silence(_tone(300.0, 0.3, rate), rate, lead_seconds=0.1, trail_seconds=0.0)
    assert padded.size == round(0.4 * rate) and np.all(padded[:round(0.1 * rate)] == 0)


@pytest.mark.parametrize("colour, slope", [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_coloured_noise_has_unit_power_and_its_spectral_slope(colour, slope):
    rate = 16000
    noise = synth.coloured_noise(4 * rate, colour, rate, np.random.default_rng(0))
    assert np.mean(noise ** 2) == pytest.approx(1.0)
    frequencies, density = scipy.signal.welch(noise, rate, nperseg=2048)
    band = (frequencies >= 100) & (frequencies <= 4000)
    fitted = np.polyfit(np.log10(frequencies[band]), np.log10(density[band]), 1)[0]
    assert fitted == pytest.approx(slope, abs=0.1)


def test_add_noise_reaches_the_requested_snr():
    rate = 8000
    tone = _tone(440.0, 1.0, rate)
    noisy = synth.add_noise(tone, rate, snr_db=15.0, colour="pink", rng=np.random.default_rng(1))
    measured = 10 * math.log10(np.mean(tone ** 2) / np.mean((noisy - tone) ** 2))
    assert measured == pytest.approx(15.0, abs=0.01)


def test_impulse_response_decays_60_db_over_rt60():
    rate, rt60 = 16000, 0.5
    response = synth.room_impulse_response(rate, rt60, direct_to_reverberant_db=6.0, rng=np.random.default_rng(2))
    assert response.size == round(rt60 * rate) and response[0] == 1.0
    assert 10 * math.log10(1.0 / np.sum(response[1:] ** 2)) == pytest.approx(6.0)
    # Schroeder backward integration of the tail: 60 dB per rt60 means 24 dB from 0.1 to 0.5 rt60.
    decay = np.cumsum(response[1:][::-1] ** 2)[::-1]
    decay_db = 10 * np.log10(decay / decay[0])
    drop = decay_db[round(0.1 * rt60 * rate)] - decay_db[round(0.5 * rt60 * rate)]
    assert drop == pytest.approx(24.0, abs=3.0)


def test_normalise_peak_sets_the_level():
    scaled = synth.normalise_peak(_tone(100.0, 0.1, 8000) * 3.0, peak_dbfs=-6.0)
    assert np.abs(scaled).max() == pytest.approx(10 ** (-6 / 20))


# --- Texts and arguments ----------------------------------------------------------------------------

def test_parse_texts_from_words_and_file(tmp_path):
    assert synth.parse_texts("zero, one,two") == ["zero", "one", "two"]
    lines = tmp_path / "lines.txt"
    lines.write_text("Printing, in 1820.\n\n  second line \n", encoding="utf-8")
    assert synth.parse_texts(str(lines)) == ["Printing, in 1820.", "second line"]
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        synth.parse_texts(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="position"):
        synth.parse_texts("one,,two")


@pytest.mark.parametrize("argv, message", [
    (["--digits", "--texts", "one", "--out", "o", "--num-variants", "1", "--seed", "0"], "not allowed"),
    (["--out", "o", "--num-variants", "1", "--seed", "0"], "--texts or --digits"),
    (["--digits", "--num-variants", "1", "--seed", "0"], "--out"),
    (["--digits", "--out", "o", "--num-variants", "1", "--seed", "0", "--noise-snr", "30:10"], "--noise-snr"),
    (["--digits", "--out", "o", "--num-variants", "1", "--seed", "0", "--noise-snr", "loud"], "--noise-snr"),
    (["--digits", "--out", "o", "--num-variants", "1", "--seed", "0", "--engines", "festival"], "--engines"),
])
def test_cli_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        synth.get_args(argv)
    assert message in capsys.readouterr().err


def test_cli_parses_ranges():
    args = synth.get_args(["--digits", "--out", "o", "--num-variants", "2", "--seed", "1",
                           "--noise-snr", "none", "--warp", "1:1"])
    assert args.noise_snr is None and args.warp == (1.0, 1.0) and args.engines == list(synth.ENGINES)


def test_generate_rejects_bad_options(tmp_path):
    with pytest.raises(ValueError, match="reverb_probability"):
        synth.generate(["one"], tmp_path, num_variants=1, seed=0, reverb_probability=1.5)
    with pytest.raises(ValueError, match="text 1"):
        synth.generate(["one", "  "], tmp_path, num_variants=1, seed=0)


# --- Engines ----------------------------------------------------------------------------------------

def test_available_voices_cover_both_engines_and_several_accents():
    voices = synth.available_voices()
    engines = {voice.engine for voice in voices}
    assert engines == {"espeak-ng", "flite"}
    assert len({voice.name for voice in voices if voice.engine == "espeak-ng"}) >= 3
    assert synth.Voice("flite", "awb_time") not in voices  # limited domain: clock times only
    assert all(voice.variant not in synth.ESPEAK_EXCLUDED_VARIANTS for voice in voices)


def test_a_failing_engine_call_names_the_text_and_the_voice():
    # Past the voice check, straight to the engine: espeak-ng exits with an error for a name that
    # matches no voice, and that exit status must surface.
    with pytest.raises(synth.SynthesisError, match=r"exit status .*'seven'.*'zzq'"):
        synth._run_engine("seven", synth.Voice("espeak-ng", "zzq"), synth.EspeakSettings())


@pytest.mark.parametrize("voice, name", [
    (synth.Voice("espeak-ng", "no-such-voice"), "no-such-voice"),  # espeak-ng would speak Norwegian
    (synth.Voice("espeak-ng", "en-us", "no-such-variant"), "no-such-variant"),  # ignored by espeak-ng
    (synth.Voice("flite", "no-such-voice"), "no-such-voice"),  # flite would use kal
])
def test_voices_an_engine_would_replace_silently_are_refused(voice, name):
    with pytest.raises(ValueError, match=name):
        synth.synthesize("seven", voice)


@pytest.mark.parametrize("voice", [synth.Voice("espeak-ng", "en-gb-x-rp", "f3"), synth.Voice("flite", "slt")])
def test_engines_are_deterministic(voice):
    first, first_rate = synth.synthesize("three two", voice)
    second, second_rate = synth.synthesize("three two", voice)
    assert first_rate == second_rate and np.array_equal(first, second) and first.size > 0


# --- End to end -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same request three times: seed 5 serially, seed 5 on two workers, seed 6."""
    root = tmp_path_factory.mktemp("synth")
    common = dict(texts=TEXTS, num_variants=NUM_VARIANTS, sample_rate=SAMPLE_RATE, progress=False)
    return {
        "serial": synth.generate(out_dir=root / "serial", seed=5, jobs=1, **common),
        "parallel": synth.generate(out_dir=root / "parallel", seed=5, jobs=2, **common),
        "other_seed": synth.generate(out_dir=root / "other_seed", seed=6, jobs=1, **common),
    }


def _audio_bytes(manifest_path: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((manifest_path.parent / "audio").glob("*.flac"))}


def test_same_seed_gives_identical_files_whatever_the_workers(runs):
    serial, parallel = runs["serial"], runs["parallel"]
    assert serial.read_bytes() == parallel.read_bytes()
    assert (serial.parent / "generation.jsonl").read_bytes() == (parallel.parent / "generation.jsonl").read_bytes()
    assert _audio_bytes(serial) == _audio_bytes(parallel)
    assert len(_audio_bytes(serial)) == len(TEXTS) * NUM_VARIANTS


def test_another_seed_gives_other_audio(runs):
    serial, other = _audio_bytes(runs["serial"]), _audio_bytes(runs["other_seed"])
    assert serial.keys() == other.keys()
    assert all(serial[name] != other[name] for name in serial)


def test_manifest_is_valid(runs):
    manifest_path = runs["serial"]
    records = [json.loads(line) for line in manifest_path.read_text(encoding="utf-8").splitlines()]
    assert [record["id"] for record in records] == [f"synth-{index:06d}" for index in range(len(records))]
    assert [record["text"] for record in records] == [text for text in TEXTS for _ in range(NUM_VARIANTS)]
    for record in records:
        assert set(record) == {"id", "audio", "text", "duration", "speaker"}
        assert record["audio"].startswith("audio/") and not Path(record["audio"]).is_absolute()
        samples, rate = soundfile.read(manifest_path.parent / record["audio"])
        assert rate == SAMPLE_RATE
        assert record["duration"] == pytest.approx(samples.size / rate, abs=0.001)
        assert 0.1 < record["duration"] < 5.0
        assert np.abs(samples).max() > 10 ** (-31 / 20)  # the output peak is drawn in [-30, -1] dBFS
    speakers = {voice.speaker for voice in synth.available_voices()}
    plans = [json.loads(line) for line in (manifest_path.parent / "generation.jsonl").open(encoding="utf-8")]
    for record, plan in zip(records, plans, strict=True):
        assert record["speaker"] in speakers
        assert record["speaker"] == f"synth-{plan['engine']}-{plan['voice']}"


def test_manifest_reads_with_the_project_reader(runs):
    from asr.data.manifest import read_manifest

    items = read_manifest(runs["serial"])
    assert len(items) == len(TEXTS) * NUM_VARIANTS and all(item.path.is_file() for item in items)


def test_refuses_to_overwrite_an_earlier_run_unless_asked(runs, tmp_path):
    out_dir = tmp_path / "earlier"
    shutil.copytree(runs["serial"].parent, out_dir)
    with pytest.raises(FileExistsError, match="overwrite"):
        synth.generate(["one"], out_dir, num_variants=1, seed=0, progress=False)
    synth.generate(["one"], out_dir, num_variants=1, seed=0, jobs=1, overwrite=True, progress=False)
    # The larger earlier run's audio is gone: only the one new file remains.
    assert [path.name for path in (out_dir / "audio").iterdir()] == ["000000.flac"]
