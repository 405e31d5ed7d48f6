"""`asr transcribe --format txt|json|srt|vtt|tsv`, `--output-dir` and the decoder flags; subtitle timing on
a real recording against a forced alignment of its reference text."""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

import pytest

from asr.cli.formats import Cue, group_cues, timestamp, to_srt, to_tsv, to_vtt
from asr.cli.main import main
from asr.decoding.align import WordSpan, align_text
from asr.inference import available_models, load_model
from tests.conftest import SHARED_DATA, copy_fsdd_items

WORDS = [WordSpan("the", 0.50, 0.62, 0.9), WordSpan("quick", 0.70, 1.01, 0.8), WordSpan("fox", 2.40, 2.71, 0.7)]


def test_timestamps_are_written_as_subrip_and_webvtt_want_them():
    assert timestamp(3661.5, ",") == "01:01:01,500"
    assert timestamp(0.0004, ".") == "00:00:00.000"
    assert timestamp(59.9996, ".") == "00:01:00.000"


def test_cues_break_at_long_pauses_long_lines_and_long_durations():
    assert group_cues(WORDS) == [Cue(0.50, 1.01, "the quick"), Cue(2.40, 2.71, "fox")]  # a 1.39 s pause
    assert group_cues(WORDS, max_chars=8) == [Cue(0.50, 0.62, "the"), Cue(0.70, 1.01, "quick"),
                                              Cue(2.40, 2.71, "fox")]
    assert group_cues(WORDS, max_gap=2.0, max_seconds=2.0) == [Cue(0.50, 1.01, "the quick"), Cue(2.40, 2.71, "fox")]
    assert group_cues(WORDS, max_gap=2.0) == [Cue(0.50, 2.71, "the quick fox")]
    assert group_cues([]) == []


def test_srt_vtt_and_tsv_documents():
    assert to_srt(WORDS) == ("1\n00:00:00,500 --> 00:00:01,010\nthe quick\n\n"
                             "2\n00:00:02,400 --> 00:00:02,710\nfox\n")
    assert to_vtt(WORDS) == ("WEBVTT\n\n00:00:00.500 --> 00:00:01.010\nthe quick\n\n"
                             "00:00:02.400 --> 00:00:02.710\nfox\n")
    assert to_tsv(WORDS).splitlines() == ["start\tend\tword\tconfidence", "0.500\t0.620\tthe\t0.9000",
                                          "0.700\t1.010\tquick\t0.8000", "2.400\t2.710\tfox\t0.7000"]


# --- the command, on real recordings with an untrained model (plumbing only) --------------------------


@pytest.fixture
def recordings(tmp_path: Path) -> list[Path]:
    return [item.path for item in copy_fsdd_items(tmp_path / "audio", ["theo"], range(3, 5), range(0, 1))]


def parse_srt(text: str) -> list[Cue]:
    cues = []
    for block in filter(None, text.strip().split("\n\n")):
        index, times, *lines = block.splitlines()
        start, end = (sum(float(part) * scale for part, scale in zip(re.split("[:,]", stamp), (3600, 60, 1, 0.001)))
                      for stamp in times.split(" --> "))
        cues.append(Cue(start, end, " ".join(lines)))
    return cues


@pytest.mark.parametrize("decoder", ["greedy", "beam"])
def test_json_lines_carry_word_timestamps_within_the_recording(model_path, recordings, capsys, decoder):
    beam_flags = ["--beam-size", "4"] if decoder == "beam" else []
    assert main(["transcribe", *map(str, recordings), "--model", str(model_path), "--format", "json",
                 "--decoder", decoder, *beam_flags]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["path"] for record in records] == list(map(str, recordings))
    for record in records:
        assert " ".join(word["word"] for word in record["words"]) == " ".join(record["text"].split())
        for word in record["words"]:
            assert 0 <= word["start"] < word["end"] <= record["duration"] + 0.03
            assert 0 < word["confidence"] <= 1


def test_output_dir_gets_one_file_per_input(model_path, recordings, tmp_path, capsys):
    out = tmp_path / "subtitles"
    assert main(["transcribe", *map(str, recordings), "--model", str(model_path), "--format", "vtt",
                 "--output-dir", str(out)]) == 0
    written = sorted(path.name for path in out.iterdir())
    assert written == sorted(f"{path.stem}.vtt" for path in recordings)
    for path in out.iterdir():
        assert path.read_text().startswith("WEBVTT\n")
    assert len(capsys.readouterr().out.splitlines()) == len(recordings)


def test_srt_of_one_file_goes_to_stdout(model_path, recordings, capsys):
    assert main(["transcribe", str(recordings[0]), "--model", str(model_path), "--format", "srt"]) == 0
    cues = parse_srt(capsys.readouterr().out)
    assert all(0 <= cue.start < cue.end for cue in cues)


@pytest.mark.parametrize("extra, message", [
    (["--format", "srt"], "needs --output-dir"),
    (["--decoder", "greedy", "--lm", "x.arpa"], "LM file not found"),
    (["--decoder", "greedy", "--beam-size", "4"], "--decoder greedy cannot use --beam-size"),
    (["--decoder", "greedy", "--hotwords", "one,two"], "--decoder greedy cannot use --hotwords"),
    (["--beam-size", "0"], "decoding.beam_size"),
    (["--hotwords", "ünï"], "characters outside the vocabulary"),
])
def test_conflicting_or_bad_decoder_flags_are_rejected(model_path, recordings, capsys, extra, message):
    status = main(["transcribe", *map(str, recordings), "--model", str(model_path), *extra])
    assert status == 2
    assert message in capsys.readouterr().err


# --- acceptance: subtitle times on a real recording ----------------------------------------------------

LJSPEECH = SHARED_DATA / "ljspeech"


def timing_model() -> str:
    """A trained English character model: $ASR_TIMING_MODEL, or a bundled model that has a <space> token."""
    if os.environ.get("ASR_TIMING_MODEL"):
        return os.environ["ASR_TIMING_MODEL"]
    for name in available_models():
        transcriber = load_model(name)
        if transcriber.vocabulary.space_id is not None and not transcriber.is_image:
            return name
    pytest.skip("no trained model with word boundaries: set ASR_TIMING_MODEL to an English character model")


@pytest.mark.slow
def test_subtitle_times_match_a_forced_alignment_of_the_reference_within_a_tenth_of_a_second(capsys):
    if not (LJSPEECH / "metadata.csv").is_file():
        pytest.skip(f"LJSpeech clips are not at {LJSPEECH}")
    model = timing_model()
    transcriber = load_model(model)
    clip_id, _, reference = (LJSPEECH / "metadata.csv").read_text().splitlines()[-1].split("|")
    clip = LJSPEECH / "wavs" / f"{clip_id}.flac"
    assert main(["transcribe", str(clip), "--model", model, "--format", "srt", "--decoder", "beam"]) == 0
    cues = parse_srt(capsys.readouterr().out)
    # The reference, placed on the same emissions by forced alignment.
    features, _ = transcriber._load_features(clip)
    log_probs, output_lens = transcriber.emissions([features])
    reference_words = align_text(log_probs[0, :output_lens[0]], transcriber.normalize(reference),
                                 transcriber.vocabulary, transcriber.seconds_per_frame)
    # Compare each cue edge whose word the recogniser got right with that word's edge in the reference.
    hypothesis_words = [word for cue in cues for word in cue.text.split()]
    matcher = difflib.SequenceMatcher(a=hypothesis_words, b=[word.word for word in reference_words], autojunk=False)
    reference_of = {}
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            reference_of[block.a + offset] = reference_words[block.b + offset]
    checked = 0
    position = 0
    for cue in cues:
        first, last = position, position + len(cue.text.split()) - 1
        position = last + 1
        if first in reference_of:
            assert abs(cue.start - reference_of[first].start) <= 0.1, (cue, reference_of[first])
            checked += 1
        if last in reference_of:
            assert abs(cue.end - reference_of[last].end) <= 0.1, (cue, reference_of[last])
            checked += 1
    assert checked >= 2, f"too few correctly recognised cue edges to check: {cues}"
