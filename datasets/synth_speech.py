"""Recipe: synthetic speech from many text-to-speech voices -> FLAC files and a manifest.

    python datasets/synth_speech.py --digits --num-variants 300 --seed 1 --sample-rate 8000 --out data/synth_digits
    python datasets/synth_speech.py --texts lines.txt --num-variants 2 --seed 1 --out data/synth_sentences
    python datasets/synth_speech.py --list-voices

Real recordings come from few speakers; synthetic voices add speaker variety. Every text is spoken
`--num-variants` times, each time by a voice drawn from espeak-ng (English accents x voice variants) and
flite (its built-in voices), with its own speaking rate and pitch, and then passed through a seeded
channel: silence trimming with a small margin, a vocal-tract-length warp folded into the resampling,
optional room reverberation, additive coloured noise and a random output level.

Writes OUT/audio/{index:06d}.flac, OUT/manifest.jsonl (the project's manifest format; "speaker" is
"synth-<engine>-<voice>") and OUT/generation.jsonl (every drawn setting, one line per item, for debugging).
The same arguments give byte-identical output, whatever the number of worker processes: each item's
random numbers come from (seed, item index) only, and both engines are deterministic.

Needs the espeak-ng and flite programs (Debian/Ubuntu: apt-get install -y espeak-ng flite).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import functools
import json
import math
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import scipy.signal
import soundfile
from tqdm import tqdm

# Recipes run as scripts from a checkout (`python datasets/synth_speech.py`), where only datasets/ is on
# the path; make the package next to it importable when it is not installed.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from asr.data.manifest import ManifestItem, write_manifest  # noqa: E402

ESPEAK = "espeak-ng"
FLITE = "flite"
ENGINES = (ESPEAK, FLITE)
INSTALL_HINT = "install them with: apt-get install -y espeak-ng flite"
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

DEFAULT_SAMPLE_RATE = 16_000  # Hz; FSDD is 8 kHz, pass --sample-rate 8000 for it
ENGINE_TIMEOUT_SECONDS = 120.0  # one utterance takes ~10-50 ms; a hung engine must not stall a run

# --- Voices -----------------------------------------------------------------------------------------
# espeak-ng variants that are sound effects rather than voices (robots, a demon, a megaphone announcer,
# unvoiced whispers, a test voice): no real test speaker sounds like them. Names as in `--voices=variant`.
ESPEAK_EXCLUDED_VARIANTS = frozenset({
    "Demonic", "UniRobot", "anikaRobot", "announcer", "fast", "whisper", "whisperf",
    "robosoft", "robosoft2", "robosoft3", "robosoft4", "robosoft5", "robosoft6", "robosoft7", "robosoft8",
})
# espeak-ng voices under mb/ need the separate MBROLA synthesiser and its voice databases; without them
# espeak-ng silently falls back to another voice, so only its own formant voices are used.
ESPEAK_MBROLA_PREFIX = "mb/"
# flite voices that are limited-domain: awb_time only speaks clock times.
FLITE_EXCLUDED_VOICES = frozenset({"awb_time"})
# Mean F0 (Hz) of each built-in flite voice as shipped, measured on this project's machine; the drawn
# target mean is a factor of it, so a female voice stays in a plausible range. rms ignores the setting.
FLITE_DEFAULT_F0_HZ = {"kal": 100.0, "kal16": 100.0, "awb": 125.0, "rms": 100.0, "slt": 175.0}

# --- Per-utterance engine settings (ranges are inclusive) -------------------------------------------
ESPEAK_RATE_WPM = (120, 210)  # -s, words per minute; espeak-ng's default is 175
ESPEAK_PITCH = (25, 75)  # -p, espeak-ng's 0-99 scale; default 50
ESPEAK_PITCH_RANGE_PERCENT = (50, 200)  # SSML <prosody range>, percent of the voice's own range
ESPEAK_AMPLITUDE = (70, 130)  # -a, 0-200; default 100 (the output level is set again at the end)
ESPEAK_WORD_GAP_10MS = (0, 4)  # -g, extra pause between words in units of 10 ms
FLITE_DURATION_STRETCH = (0.8, 1.3)  # >1 is slower
FLITE_F0_FACTOR = (0.8, 1.25)  # target mean F0 as a factor of FLITE_DEFAULT_F0_HZ
FLITE_F0_STDDEV_FRACTION = (0.05, 0.2)  # F0 standard deviation as a fraction of the mean: intonation range

# --- Channel ----------------------------------------------------------------------------------------
ACTIVITY_FRAME_SECONDS = 0.010  # frames for finding speech: 10 ms
ACTIVITY_THRESHOLD_DB = -40.0  # a frame is speech when its energy is within 40 dB of the loudest frame
MARGIN_SECONDS = (0.02, 0.15)  # silence kept (or padded) before and after the speech, each end
SILENCE_PEAK = 1e-4  # engine output whose peak is below this (about -80 dBFS) holds no speech
WARP_FACTOR = (0.9, 1.1)  # vocal tract length warp: >1 raises pitch and formants and shortens
MAX_RESAMPLE_DENOMINATOR = 1000  # warp and resampling ratio as a fraction up/down with down <= this
RT60_SECONDS = (0.1, 0.6)  # reverberation time: the impulse response decays by 60 dB over it
DIRECT_TO_REVERBERANT_DB = (0.0, 12.0)  # energy of the direct path over that of the reverberant tail
SIXTY_DB_DECAY = 3.0 * math.log(10.0)  # exp(-SIXTY_DB_DECAY) is -60 dB in amplitude
REVERB_TAIL_KEPT_FRACTION = 0.5  # of RT60: the tail past -30 dB lies under the noise floor (SNR <= 30 dB)
NOISE_SNR_DB = (10.0, 30.0)  # speech-to-noise ratio, speech power measured over its active frames
# Power spectral density of the noise falls as 1/f^exponent: 0 white, 1 pink (-3 dB/octave), 2 brown.
NOISE_SPECTRAL_EXPONENTS = {"white": 0.0, "pink": 1.0, "brown": 2.0}
NOISE_LOWEST_HZ = 20.0  # no noise below the audible range, where brown noise would pile up as drift
REVERB_PROBABILITY = 0.5
PEAK_DBFS = (-30.0, -1.0)  # output peak level; FSDD's recordings peak between about -34 and -3 dBFS

# Item random numbers: one stream for the plan (voice and settings), one for the signal (noise, reverb).
PLAN_STREAM = 0
SIGNAL_STREAM = 1
AUDIO_FILE_PATTERN = re.compile(r"^\d{6,}\.flac$")


class EngineNotFoundError(RuntimeError):
    """espeak-ng or flite is not installed (not on PATH)."""


class SynthesisError(RuntimeError):
    """An engine failed or produced no speech; the message names the text and the voice."""


@dataclasses.dataclass(frozen=True, order=True)
class Voice:
    """A text-to-speech voice: `engine` is "espeak-ng" or "flite"; `variant` is espeak-ng's +variant or ""."""

    engine: str
    name: str
    variant: str = ""

    @property
    def label(self) -> str:
        """The voice as espeak-ng's -v takes it ("en-gb-scotland+m3"), or flite's voice name."""
        return f"{self.name}+{self.variant}" if self.variant else self.name

    @property
    def speaker(self) -> str:
        """The manifest's speaker field."""
        return f"synth-{self.engine}-{self.label}"


@dataclasses.dataclass(frozen=True)
class EspeakSettings:
    rate_wpm: int = 175
    pitch: int = 50
    pitch_range_percent: int = 100
    amplitude: int = 100
    word_gap_10ms: int = 0


@dataclasses.dataclass(frozen=True)
class FliteSettings:
    duration_stretch: float = 1.0
    f0_mean_hz: float | None = None  # None: the voice's own
    f0_stddev_hz: float | None = None


@dataclasses.dataclass(frozen=True)
class ChannelOptions:
    """How the channel varies; validated here, once. None for `noise_snr_db` means no noise."""

    sample_rate: int = DEFAULT_SAMPLE_RATE
    noise_snr_db: tuple[float, float] | None = NOISE_SNR_DB
    reverb_probability: float = REVERB_PROBABILITY
    warp_factor: tuple[float, float] = WARP_FACTOR

    def __post_init__(self) -> None:
        if not isinstance(self.sample_rate, int) or self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive integer (Hz), got {self.sample_rate!r}")
        if self.noise_snr_db is not None:
            _check_range("noise_snr_db", self.noise_snr_db)
        if not 0.0 <= self.reverb_probability <= 1.0:
            raise ValueError(f"reverb_probability must be in [0, 1], got {self.reverb_probability!r}")
        _check_range("warp_factor", self.warp_factor)
        if self.warp_factor[0] <= 0:
            raise ValueError(f"warp_factor must be positive, got {self.warp_factor!r}")


@dataclasses.dataclass(frozen=True)
class ItemPlan:
    """Everything drawn for one item, so the item can be rendered (and logged) without other state."""

    voice: Voice
    engine_settings: EspeakSettings | FliteSettings
    lead_seconds: float
    trail_seconds: float
    warp_factor: float
    rt60_seconds: float | None  # None: no reverberation
    direct_to_reverberant_db: float
    snr_db: float | None  # None: no noise
    noise_colour: str
    peak_dbfs: float


@dataclasses.dataclass(frozen=True)
class _RenderJob:
    index: int
    text: str
    plan: ItemPlan
    seed: int
    sample_rate: int
    audio_path: Path


def _check_range(field: str, value: tuple[float, float]) -> None:
    if len(value) != 2 or not all(math.isfinite(bound) for bound in value) or value[0] > value[1]:
        raise ValueError(f"{field} must be a (low, high) pair of finite numbers with low <= high, got {value!r}")


# --- Engines and voices -----------------------------------------------------------------------------

def require_engines(engines: Sequence[str] = ENGINES) -> None:
    """Raise EngineNotFoundError (with the install command) unless every engine is on PATH."""
    unknown = [engine for engine in engines if engine not in ENGINES]
    if unknown:
        raise ValueError(f"unknown engine(s) {unknown}; choose from {list(ENGINES)}")
    missing = [engine for engine in engines if shutil.which(engine) is None]
    if missing:
        raise EngineNotFoundError(f"text-to-speech program(s) not found on PATH: {', '.join(missing)}; "
                                  f"{INSTALL_HINT}")


def _run_listing(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=ENGINE_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise SynthesisError(f"{' '.join(argv)} failed (exit status {result.returncode}): {result.stderr.strip()}")
    return result.stdout


@functools.cache
def espeak_languages() -> tuple[str, ...]:
    """Language codes of the espeak-ng voices on this machine ("en-gb-scotland", "fr", ...), no MBROLA."""
    require_engines([ESPEAK])
    names = set()
    # Columns: Pty Language Age/Gender VoiceName File [Other languages]
    for line in _run_listing([ESPEAK, "--voices"]).splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5 or fields[1] == "variant" or fields[4].startswith(ESPEAK_MBROLA_PREFIX):
            continue
        names.add(fields[1])
    return tuple(sorted(names))


def espeak_english_voices() -> tuple[str, ...]:
    """English espeak-ng voices: "en-us", "en-gb-x-rp", ..."""
    return tuple(name for name in espeak_languages() if name == "en" or name.startswith("en-"))


@functools.cache
def espeak_variants() -> tuple[str, ...]:
    """Every espeak-ng voice variant on this machine, by the file name that "+variant" takes."""
    require_engines([ESPEAK])
    marker = "!v/"
    names = set()
    for line in _run_listing([ESPEAK, "--voices=variant"]).splitlines()[1:]:
        if marker not in line:
            continue
        # The file name runs to the end of the line or to an "(other-language priority)" list.
        name = line[line.index(marker) + len(marker):].split("(")[0].strip()
        names.add(name)
    return tuple(sorted(names))


@functools.cache
def flite_voices() -> tuple[str, ...]:
    """flite's built-in voices ("Voices available: kal awb_time kal16 awb rms slt")."""
    require_engines([FLITE])
    listing = _run_listing([FLITE, "-lv"])
    _, _, names = listing.partition(":")
    return tuple(sorted(names.split()))


def available_voices(engines: Sequence[str] = ENGINES) -> list[Voice]:
    """Every voice used for drawing, sorted: espeak-ng accents x (default + variants), flite's voices."""
    require_engines(engines)
    voices = []
    if ESPEAK in engines:
        variants = [""] + [name for name in espeak_variants()
                           if name not in ESPEAK_EXCLUDED_VARIANTS and " " not in name]
        voices += [Voice(ESPEAK, name, variant) for name in espeak_english_voices() for variant in variants]
    if FLITE in engines:
        voices += [Voice(FLITE, name) for name in flite_voices() if name not in FLITE_EXCLUDED_VOICES]
    return sorted(voices)


def _check_voice(voice: Voice) -> None:
    """Reject voices that an engine would silently replace by another instead of failing."""
    if voice.engine == ESPEAK:
        # espeak-ng takes the longest language that prefixes an unknown name ("no-such" speaks Norwegian)
        # and ignores an unknown variant; only names matching nothing make it fail.
        if voice.name not in espeak_languages():
            raise ValueError(f"espeak-ng has no voice {voice.name!r} (voice {voice.label!r}); "
                             "see `espeak-ng --voices`")
        if voice.variant and voice.variant not in espeak_variants():
            raise ValueError(f"espeak-ng has no voice variant {voice.variant!r} (voice {voice.label!r}); "
                             "see `espeak-ng --voices=variant`")
    elif voice.engine == FLITE:
        if voice.variant:
            raise ValueError(f"flite voices have no variants (voice {voice.label!r})")
        if voice.name not in flite_voices():
            raise ValueError(f"flite has no built-in voice {voice.name!r}; available: {list(flite_voices())}")
    else:
        raise ValueError(f"voice {voice.label!r}: unknown engine {voice.engine!r}; choose from {list(ENGINES)}")


def _engine_command(text: str, voice: Voice, settings: EspeakSettings | FliteSettings,
                    wav_path: Path) -> tuple[list[str], bytes | None]:
    """argv and standard input for one utterance."""
    if voice.engine == ESPEAK:
        assert isinstance(settings, EspeakSettings)
        # The pitch range has no command-line flag, only SSML; the text is escaped so that "<" or "&"
        # in it is spoken rather than parsed. Text goes through stdin, so a leading "-" is not a flag.
        ssml = f'<speak><prosody range="{settings.pitch_range_percent}%">{xml_escape(text)}</prosody></speak>'
        argv = [ESPEAK, "-v", voice.label, "-s", str(settings.rate_wpm), "-p", str(settings.pitch),
                "-a", str(settings.amplitude), "-g", str(settings.word_gap_10ms), "-m", "--stdin",
                "-w", str(wav_path)]
        return argv, ssml.encode("utf-8")
    assert isinstance(settings, FliteSettings)
    argv = [FLITE, "-voice", voice.name, "--setf", f"duration_stretch={settings.duration_stretch:.4f}"]
    if settings.f0_mean_hz is not None:
        argv += ["--setf", f"int_f0_target_mean={settings.f0_mean_hz:.2f}"]
    if settings.f0_stddev_hz is not None:
        argv += ["--setf", f"int_f0_target_stddev={settings.f0_stddev_hz:.2f}"]
    argv += ["-t", text, "-o", str(wav_path)]
    return argv, None


def _run_engine(text: str, voice: Voice, settings: EspeakSettings | FliteSettings) -> tuple[np.ndarray, int]:
    """Speak `text` into a temporary WAV; returns (samples (num_samples,) float64, sample rate in Hz)."""
    with tempfile.TemporaryDirectory(prefix="synth-speech-") as work_dir:
        wav_path = Path(work_dir) / "utterance.wav"
        argv, stdin = _engine_command(text, voice, settings, wav_path)
        where = f"speaking {text!r} with voice {voice.label!r}"
        try:
            result = subprocess.run(argv, input=stdin, capture_output=True, timeout=ENGINE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as error:
            raise SynthesisError(f"{voice.engine} timed out after {ENGINE_TIMEOUT_SECONDS:.0f} s {where}") from error
        stderr = result.stderr.decode("utf-8", "replace").strip()
        if result.returncode != 0:
            raise SynthesisError(f"{voice.engine} failed (exit status {result.returncode}) {where}: {stderr}")
        # Both engines exit with 0 when they cannot write the file, so its absence is checked too.
        if not wav_path.is_file() or wav_path.stat().st_size == 0:
            raise SynthesisError(f"{voice.engine} wrote no audio {where}: {stderr}")
        try:
            samples, engine_rate = soundfile.read(str(wav_path), dtype="float64", always_2d=True)
        except soundfile.SoundFileError as error:
            raise SynthesisError(f"{voice.engine} wrote an unreadable WAV {where}") from error
    samples = samples.mean(axis=1)
    if samples.size == 0 or np.abs(samples).max() < SILENCE_PEAK:
        raise SynthesisError(f"{voice.engine} produced silence {where}")
    return samples, engine_rate


def synthesize(text: str, voice: Voice,
               settings: EspeakSettings | FliteSettings | None = None) -> tuple[np.ndarray, int]:
    """Speak `text` with `voice`: (samples (num_samples,) float64 in [-1, 1], the engine's rate in Hz).

    Raises ValueError for a voice the engine would silently replace, SynthesisError when the engine fails.
    """
    _check_voice(voice)
    if settings is None:
        settings = EspeakSettings() if voice.engine == ESPEAK else FliteSettings()
    return _run_engine(text, voice, settings)


# --- Signal processing ------------------------------------------------------------------------------

def _frame_energies(samples: np.ndarray, frame_length: int) -> np.ndarray:
    """Mean power of consecutive frames (num_frames,); the last partial frame is zero-padded."""
    num_frames = max(1, math.ceil(samples.size / frame_length))
    padded = np.zeros(num_frames * frame_length)
    padded[:samples.size] = samples
    return np.mean(padded.reshape(num_frames, frame_length) ** 2, axis=1)


def _active_frames(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(frame energies, mask of frames within ACTIVITY_THRESHOLD_DB of the loudest, frame length)."""
    frame_length = max(1, round(ACTIVITY_FRAME_SECONDS * sample_rate))
    energies = _frame_energies(samples, frame_length)
    return energies, energies >= energies.max() * 10.0 ** (ACTIVITY_THRESHOLD_DB / 10.0), frame_length


def trim_silence(samples: np.ndarray, sample_rate: int, lead_seconds: float, trail_seconds: float) -> np.ndarray:
    """Keep the speech plus `lead_seconds` before and `trail_seconds` after it (zero-padded if short).

    The margin is cut from the engine's own output rather than padded, so a soft onset or release
    below the activity threshold (an /f/ before a vowel) survives.
    """
    energies, active, frame_length = _active_frames(samples, sample_rate)
    if energies.max() == 0:
        raise ValueError("cannot trim silence from an all-zero signal")
    active_indices = np.flatnonzero(active)
    start = active_indices[0] * frame_length - round(lead_seconds * sample_rate)
    end = min((active_indices[-1] + 1) * frame_length, samples.size) + round(trail_seconds * sample_rate)
    kept = samples[max(start, 0):min(end, samples.size)]
    return np.pad(kept, (max(0, -start), max(0, end - samples.size)))


def warp_and_resample(samples: np.ndarray, source_rate: int, target_rate: int, warp_factor: float) -> np.ndarray:
    """Resample to `target_rate` as if the signal had been recorded at `source_rate * warp_factor`.

    That scales every frequency (pitch and formants: a shorter or longer vocal tract) by `warp_factor`
    and the duration by its inverse. The ratio is rounded to a fraction with a bounded denominator so
    the polyphase filter stays short; the warp is then exact to about 1e-6.
    """
    ratio = Fraction(target_rate / (source_rate * warp_factor)).limit_denominator(MAX_RESAMPLE_DENOMINATOR)
    if ratio == 1:
        return samples.copy()
    return scipy.signal.resample_poly(samples, ratio.numerator, ratio.denominator)


def room_impulse_response(sample_rate: int, rt60_seconds: float, direct_to_reverberant_db: float,
                          rng: np.random.Generator) -> np.ndarray:
    """A unit direct path followed by exponentially decaying Gaussian noise: (round(rt60 * rate),).

    The amplitude envelope exp(-SIXTY_DB_DECAY * t / rt60) falls by 60 dB at t = rt60; the tail's energy
    is set `direct_to_reverberant_db` below the direct path's.
    """
    length = max(2, round(rt60_seconds * sample_rate))
    times = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * np.exp(-SIXTY_DB_DECAY * times / rt60_seconds)
    tail[0] = 0.0
    tail *= math.sqrt(10.0 ** (-direct_to_reverberant_db / 10.0) / np.sum(tail ** 2))
    tail[0] = 1.0
    return tail


def reverberate(samples: np.ndarray, impulse_response: np.ndarray) -> np.ndarray:
    """Convolve; keep the tail up to REVERB_TAIL_KEPT_FRACTION of the response (past -30 dB is masked)."""
    wet = scipy.signal.fftconvolve(samples, impulse_response)
    return wet[:samples.size + round(REVERB_TAIL_KEPT_FRACTION * impulse_response.size)]


def coloured_noise(num_samples: int, colour: str, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power noise (num_samples,) whose power spectral density falls as 1/f^exponent of `colour`."""
    if colour not in NOISE_SPECTRAL_EXPONENTS:
        raise ValueError(f"unknown noise colour {colour!r}; choose from {sorted(NOISE_SPECTRAL_EXPONENTS)}")
    spectrum = np.fft.rfft(rng.standard_normal(num_samples))
    frequencies = np.fft.rfftfreq(num_samples, d=1.0 / sample_rate)
    gains = np.zeros_like(frequencies)
    audible = frequencies >= NOISE_LOWEST_HZ
    # Power ~ 1/f^exponent, so amplitude ~ 1/f^(exponent / 2).
    gains[audible] = frequencies[audible] ** (-NOISE_SPECTRAL_EXPONENTS[colour] / 2.0)
    noise = np.fft.irfft(spectrum * gains, n=num_samples)
    power = np.mean(noise ** 2)
    if power == 0:  # a clip shorter than one period of NOISE_LOWEST_HZ has no audible bins
        return noise
    return noise / math.sqrt(power)


def speech_power(samples: np.ndarray, sample_rate: int) -> float:
    """Mean power over the active frames, so pauses and margins do not lower the measured SNR."""
    energies, active, _ = _active_frames(samples, sample_rate)
    return float(np.mean(energies[active]))


def add_noise(samples: np.ndarray, sample_rate: int, snr_db: float, colour: str,
              rng: np.random.Generator) -> np.ndarray:
    """Add `colour` noise at `snr_db` below the speech power of `samples`."""
    noise = coloured_noise(samples.size, colour, sample_rate, rng)
    noise_power = speech_power(samples, sample_rate) / 10.0 ** (snr_db / 10.0)
    return samples + noise * math.sqrt(noise_power)


def normalise_peak(samples: np.ndarray, peak_dbfs: float) -> np.ndarray:
    """Scale so the peak sits at `peak_dbfs` (<= 0): the random output level, and never a clipped sample."""
    peak = np.abs(samples).max()
    if peak == 0:
        raise ValueError("cannot normalise an all-zero signal")
    return samples * (10.0 ** (peak_dbfs / 20.0) / peak)


# --- Plans and rendering ----------------------------------------------------------------------------

def _uniform(rng: np.random.Generator, bounds: tuple[float, float], decimals: int = 4) -> float:
    # Rounded so that the logged value is the value used.
    return round(float(rng.uniform(bounds[0], bounds[1])), decimals)


def _integer(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1], endpoint=True))


def draw_engine_settings(voice: Voice, rng: np.random.Generator) -> EspeakSettings | FliteSettings:
    """Speaking rate, pitch and so on for one utterance."""
    if voice.engine == ESPEAK:
        return EspeakSettings(rate_wpm=_integer(rng, ESPEAK_RATE_WPM), pitch=_integer(rng, ESPEAK_PITCH),
                              pitch_range_percent=_integer(rng, ESPEAK_PITCH_RANGE_PERCENT),
                              amplitude=_integer(rng, ESPEAK_AMPLITUDE),
                              word_gap_10ms=_integer(rng, ESPEAK_WORD_GAP_10MS))
    duration_stretch = _uniform(rng, FLITE_DURATION_STRETCH)
    f0_factor = _uniform(rng, FLITE_F0_FACTOR)
    stddev_fraction = _uniform(rng, FLITE_F0_STDDEV_FRACTION)
    default_f0 = FLITE_DEFAULT_F0_HZ.get(voice.name)
    if default_f0 is None:  # a flite build with other voices: keep their own intonation
        return FliteSettings(duration_stretch=duration_stretch)
    f0_mean = round(default_f0 * f0_factor, 2)
    return FliteSettings(duration_stretch=duration_stretch, f0_mean_hz=f0_mean,
                         f0_stddev_hz=round(f0_mean * stddev_fraction, 2))


def draw_plan(seed: int, index: int, voices: Sequence[Voice], options: ChannelOptions) -> ItemPlan:
    """The voice and settings of item `index`, from (seed, index) alone.

    The engine is drawn first, uniformly, then a voice of that engine: espeak-ng has hundreds of
    accent x variant voices and flite a handful, and a uniform draw over all would almost never pick flite.
    """
    rng = np.random.default_rng([seed, index, PLAN_STREAM])
    engines = sorted({voice.engine for voice in voices})
    engine = engines[_integer(rng, (0, len(engines) - 1))]
    engine_voices = [voice for voice in voices if voice.engine == engine]
    voice = engine_voices[_integer(rng, (0, len(engine_voices) - 1))]
    engine_settings = draw_engine_settings(voice, rng)
    lead_seconds = _uniform(rng, MARGIN_SECONDS)
    trail_seconds = _uniform(rng, MARGIN_SECONDS)
    warp_factor = _uniform(rng, options.warp_factor)
    with_reverb = bool(rng.random() < options.reverb_probability)
    rt60_seconds = _uniform(rng, RT60_SECONDS)
    direct_to_reverberant_db = _uniform(rng, DIRECT_TO_REVERBERANT_DB, decimals=2)
    snr_db = _uniform(rng, options.noise_snr_db, decimals=2) if options.noise_snr_db is not None else None
    colours = sorted(NOISE_SPECTRAL_EXPONENTS)
    noise_colour = colours[_integer(rng, (0, len(colours) - 1))]
    peak_dbfs = _uniform(rng, PEAK_DBFS, decimals=2)
    return ItemPlan(voice=voice, engine_settings=engine_settings, lead_seconds=lead_seconds,
                    trail_seconds=trail_seconds, warp_factor=warp_factor,
                    rt60_seconds=rt60_seconds if with_reverb else None,
                    direct_to_reverberant_db=direct_to_reverberant_db, snr_db=snr_db,
                    noise_colour=noise_colour, peak_dbfs=peak_dbfs)


def render(text: str, plan: ItemPlan, seed: int, index: int, sample_rate: int) -> np.ndarray:
    """Synthesise and pass through the planned channel: (num_samples,) float64 at `sample_rate`."""
    samples, engine_rate = _run_engine(text, plan.voice, plan.engine_settings)
    rng = np.random.default_rng([seed, index, SIGNAL_STREAM])
    speech = trim_silence(samples, engine_rate, plan.lead_seconds, plan.trail_seconds)
    speech = warp_and_resample(speech, engine_rate, sample_rate, plan.warp_factor)
    if plan.rt60_seconds is not None:
        impulse_response = room_impulse_response(sample_rate, plan.rt60_seconds, plan.direct_to_reverberant_db, rng)
        speech = reverberate(speech, impulse_response)
    if plan.snr_db is not None:
        speech = add_noise(speech, sample_rate, plan.snr_db, plan.noise_colour, rng)
    return normalise_peak(speech, plan.peak_dbfs)


def _render_job(job: _RenderJob) -> int:
    """Worker: render one item and write its FLAC; returns its number of samples."""
    samples = render(job.text, job.plan, job.seed, job.index, job.sample_rate)
    soundfile.write(str(job.audio_path), samples, job.sample_rate, format="FLAC", subtype="PCM_16")
    return samples.size


def _plan_record(item_id: str, plan: ItemPlan) -> dict:
    record = {"id": item_id, "engine": plan.voice.engine, "voice": plan.voice.label}
    record.update(dataclasses.asdict(plan.engine_settings))
    record.update({field.name: getattr(plan, field.name) for field in dataclasses.fields(plan)
                   if field.name not in ("voice", "engine_settings")})
    return record


# --- Texts and output -------------------------------------------------------------------------------

def parse_texts(value: str) -> list[str]:
    """`value` is a text file (one utterance per line, blank lines skipped) or comma-separated words."""
    path = Path(value)
    if path.is_file():
        texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        texts = [text for text in texts if text]
        if not texts:
            raise ValueError(f"text file {path} holds no non-blank lines")
        return texts
    if os.sep in value or path.suffix in (".txt", ".lst", ".csv"):
        raise FileNotFoundError(f"text file not found: {path}")
    texts = [text.strip() for text in value.split(",")]
    empty = [position for position, text in enumerate(texts, start=1) if not text]
    if empty:
        raise ValueError(f"--texts {value!r}: empty text at comma-separated position(s) {empty}")
    return texts


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    if not texts:
        raise ValueError("texts is empty: nothing to speak")
    for position, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text {position} is empty or not a string: {text!r}")
        if "\n" in text or "\r" in text:
            raise ValueError(f"text {position} contains a line break (one utterance per text): {text!r}")


def _prepare_out_dir(out_dir: Path, overwrite: bool) -> Path:
    """Create OUT/audio; refuse to mix with an earlier run unless `overwrite`, which removes its files."""
    manifest_path = out_dir / "manifest.jsonl"
    audio_dir = out_dir / "audio"
    old_audio = []
    if audio_dir.is_dir():
        old_audio = sorted(path for path in audio_dir.glob("*.flac") if AUDIO_FILE_PATTERN.match(path.name))
    if (manifest_path.exists() or old_audio) and not overwrite:
        raise FileExistsError(f"{out_dir} already holds generated speech ({manifest_path.name} or audio/*.flac); "
                              "pass overwrite=True (--overwrite) to replace it")
    # The manifest goes first, so an interrupted run never leaves one listing removed files; stale audio
    # from a larger earlier run would otherwise linger unlisted.
    for path in [manifest_path, out_dir / "generation.jsonl", *old_audio]:
        path.unlink(missing_ok=True)
    audio_dir.mkdir(parents=True, exist_ok=True)
    return manifest_path


def generate(texts: Sequence[str], out_dir: str | Path, num_variants: int, seed: int,
             sample_rate: int = DEFAULT_SAMPLE_RATE, jobs: int | None = None,
             engines: Sequence[str] = ENGINES, noise_snr_db: tuple[float, float] | None = NOISE_SNR_DB,
             reverb_probability: float = REVERB_PROBABILITY, warp_factor: tuple[float, float] = WARP_FACTOR,
             voices: Sequence[Voice] | None = None, overwrite: bool = False, progress: bool = True) -> Path:
    """Speak every text `num_variants` times; returns the path of OUT/manifest.jsonl.

    Item i = text_index * num_variants + variant has id "synth-{i:06d}" and audio "audio/{i:06d}.flac".
    `voices` defaults to `available_voices(engines)`; `jobs` (worker processes) to os.cpu_count(), and
    does not change the output.
    """
    _check_texts(texts)
    if not isinstance(num_variants, int) or num_variants < 1:
        raise ValueError(f"num_variants must be a positive integer, got {num_variants!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    options = ChannelOptions(sample_rate=sample_rate, noise_snr_db=noise_snr_db,
                             reverb_probability=reverb_probability, warp_factor=warp_factor)
    if voices is None:
        voices = available_voices(engines)
    else:
        require_engines(sorted({voice.engine for voice in voices}))
        for voice in voices:
            _check_voice(voice)
    if not voices:
        raise ValueError(f"no voices to draw from (engines {list(engines)})")

    out_dir = Path(out_dir)
    manifest_path = _prepare_out_dir(out_dir, overwrite)
    render_jobs = []
    for text_index, text in enumerate(texts):
        for variant in range(num_variants):
            index = text_index * num_variants + variant
            render_jobs.append(_RenderJob(index=index, text=text, plan=draw_plan(seed, index, voices, options),
                                          seed=seed, sample_rate=sample_rate,
                                          audio_path=out_dir / "audio" / f"{index:06d}.flac"))

    bar = tqdm(total=len(render_jobs), desc="synthesising", unit="utt", disable=not progress)
    if jobs == 1:
        num_samples = []
        for job in render_jobs:
            num_samples.append(_render_job(job))
            bar.update()
    else:
        # fork, so that workers see this module however it was loaded (as a script, or by file path in
        # the tests) without re-importing it; they start no threads.
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as executor:
            num_samples = []
            # map() yields in submission order, so the manifest is in index order whatever finishes first.
            for count in executor.map(_render_job, render_jobs, chunksize=8):
                num_samples.append(count)
                bar.update()
    bar.close()

    items = [ManifestItem(id=f"synth-{job.index:06d}", path=job.audio_path.resolve(), text=job.text,
                          duration=round(count / sample_rate, 6), speaker=job.plan.voice.speaker)
             for job, count in zip(render_jobs, num_samples)]
    generation_path = out_dir / "generation.jsonl"
    with generation_path.open("w", encoding="utf-8", newline="\n") as stream:
        for item, job in zip(items, render_jobs):
            stream.write(json.dumps(_plan_record(item.id, job.plan), ensure_ascii=False) + "\n")
    write_manifest(manifest_path, items)  # last, so a manifest means a complete run
    return manifest_path


# --- Command line -----------------------------------------------------------------------------------

def _parse_range(flag: str, value: str) -> tuple[float, float] | None:
    if flag == "--noise-snr" and value.lower() == "none":
        return None
    low, separator, high = value.partition(":")
    try:
        bounds = (float(low), float(high)) if separator else (float(value), float(value))
    except ValueError:
        raise ValueError(f"{flag} must be LOW:HIGH (numbers), got {value!r}") from None
    if not all(math.isfinite(bound) for bound in bounds) or bounds[0] > bounds[1]:
        raise ValueError(f"{flag} must be LOW:HIGH with finite LOW <= HIGH, got {value!r}")
    return bounds


def get_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--texts", help="text file (one utterance per line) or comma-separated words")
    source.add_argument("--digits", action="store_true", help="the ten digit words zero..nine")
    parser.add_argument("--out", help="output directory (audio/, manifest.jsonl, generation.jsonl)")
    parser.add_argument("--num-variants", type=int, help="utterances per text, each with its own voice")
    parser.add_argument("--seed", type=int, help="random seed; the same arguments give identical files")
    parser.add_argument("--sample-rate", type=int, default=DEFAULT_SAMPLE_RATE, help="Hz (default 16000)")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated (default espeak-ng,flite)")
    parser.add_argument("--noise-snr", default=f"{NOISE_SNR_DB[0]:g}:{NOISE_SNR_DB[1]:g}",
                        help="SNR range in dB, LOW:HIGH, or 'none' (default 10:30)")
    parser.add_argument("--reverb-prob", type=float, default=REVERB_PROBABILITY,
                        help="probability of room reverberation (default 0.5)")
    parser.add_argument("--warp", default=f"{WARP_FACTOR[0]:g}:{WARP_FACTOR[1]:g}",
                        help="vocal tract length warp range LOW:HIGH (default 0.9:1.1; 1:1 disables)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out")
    parser.add_argument("--list-voices", action="store_true", help="print the voices drawn from and exit")
    args = parser.parse_args(argv)

    if not args.list_voices:
        missing = [flag for flag, value in (("--out", args.out), ("--num-variants", args.num_variants),
                                            ("--seed", args.seed)) if value is None]
        if missing:
            parser.error(f"the following arguments are required: {', '.join(missing)}")
        if args.texts is None and not args.digits:
            parser.error("one of --texts or --digits is required")
    try:
        args.engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
        unknown = [engine for engine in args.engines if engine not in ENGINES]
        if unknown or not args.engines:
            raise ValueError(f"--engines must name some of {list(ENGINES)}, got {unknown or args.engines}")
        args.noise_snr = _parse_range("--noise-snr", args.noise_snr)
        args.warp = _parse_range("--warp", args.warp)
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> int:
    args = get_args(argv)
    try:
        if args.list_voices:
            for voice in available_voices(args.engines):
                print(voice.speaker)
            return 0
        texts = list(DIGIT_WORDS) if args.digits else parse_texts(args.texts)
        manifest_path = generate(texts, args.out, num_variants=args.num_variants, seed=args.seed,
                                 sample_rate=args.sample_rate, jobs=args.jobs, engines=args.engines,
                                 noise_snr_db=args.noise_snr, reverb_probability=args.reverb_prob,
                                 warp_factor=args.warp, overwrite=args.overwrite)
    except (EngineNotFoundError, SynthesisError, OSError, ValueError) as error:
        print(f"synth_speech: error: {error}", file=sys.stderr)
        return 2
    print(f"{manifest_path}: {len(texts) * args.num_variants} utterances of {len(texts)} texts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
