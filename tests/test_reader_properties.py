"""Property-based tests of the readers: whatever bytes a file holds, the manifest, ARPA and audio readers
either return a result or raise their documented error (which names the file), never anything else."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asr.audio import AudioDecodeError, load_audio
from asr.data.manifest import ManifestError, read_manifest
from asr.decoding.lm import ArpaFormatError, read_arpa

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
                           lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=6), children, max_size=3), max_leaves=6)
record = st.fixed_dictionaries({}, optional={"id": json_values, "audio": json_values, "image": json_values,
                                             "text": json_values, "duration": json_values, "speaker": json_values})
manifest_line = st.one_of(record.map(json.dumps), st.text(max_size=40), st.binary(max_size=40).map(repr))


@SETTINGS
@given(lines=st.lists(manifest_line, max_size=6), raw=st.binary(max_size=30))
def test_manifest_reader_returns_items_or_a_manifest_error(tmp_path: Path, lines: list[str], raw: bytes):
    path = tmp_path / "m.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n" + raw)
    try:
        items = read_manifest(path)
    except ManifestError as error:
        assert str(path) in str(error)
    else:
        for item in items:
            assert item.id and isinstance(item.text, str) and item.path.is_absolute()
            assert math.isfinite(item.duration) and item.duration >= 0


arpa_token = st.sampled_from(["<s>", "</s>", "<unk>", "a", "b", "-1.5", "-0.2", "0", "nan", "x"])
arpa_body = st.lists(st.lists(arpa_token, min_size=1, max_size=4).map(" ".join), max_size=8).map("\n".join)
arpa_header = st.lists(st.sampled_from(["ngram 1=2", "ngram 2=1", "ngram 1=x", "ngram 3=0"]), max_size=3)
arpa_sections = st.lists(st.sampled_from(["\\1-grams:", "\\2-grams:", "\\3-grams:", "\\end\\", ""]), max_size=4)


@SETTINGS
@given(header=arpa_header, sections=arpa_sections, body=arpa_body, raw=st.binary(max_size=20))
def test_arpa_reader_returns_a_model_or_an_arpa_format_error(tmp_path: Path, header, sections, body, raw):
    path = tmp_path / "lm.arpa"
    text = "\\data\\\n" + "\n".join(header) + "\n\n" + "\n".join(f"{section}\n{body}" for section in sections)
    path.write_bytes(text.encode() + raw)
    try:
        model = read_arpa(path)
    except ArpaFormatError as error:
        assert str(path) in str(error)
    else:
        assert model.order >= 1


wav_header = st.sampled_from([b"", b"RIFF", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC", b"OggS", b"ID3\x03\x00"])


@SETTINGS
@given(header=wav_header, body=st.binary(max_size=300))
def test_audio_reader_returns_samples_or_an_audio_decode_error(tmp_path: Path, header: bytes, body: bytes):
    path = tmp_path / "x.wav"
    path.write_bytes(header + body)
    try:
        waveform = load_audio(path, 8000)
    except AudioDecodeError as error:
        assert str(path) in str(error)
    else:
        assert waveform.ndim == 1 and waveform.numel() > 0
        assert bool(waveform.isfinite().all())


def test_the_documented_errors_are_value_errors():
    """Callers catch ValueError (the CLI maps it to exit status 2); each reader's error is one."""
    assert all(issubclass(error, ValueError) for error in (ManifestError, ArpaFormatError, AudioDecodeError))
