"""Long recordings: read in pieces cut at pauses, with bounded memory; transcribed piece by piece with
word times that run on across pieces."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from asr.audio import load_audio, read_chunks
from asr.inference import load_model, speech_bounds
from tests.conftest import copy_fsdd_items

RATE = 8000


def test_pieces_tile_the_file_and_end_in_the_middle_of_a_pause(tmp_path):
    rng = np.random.default_rng(0)
    noise = lambda seconds: rng.uniform(-0.5, 0.5, int(seconds * RATE))  # noqa: E731
    signal = np.concatenate([noise(0.5), np.zeros(int(0.375 * RATE)), noise(0.625), np.zeros(RATE // 4),
                             noise(0.0125)]).astype(np.float32)
    path = tmp_path / "speech_and_pauses.wav"
    soundfile.write(path, signal, RATE, subtype="FLOAT")
    pieces = list(read_chunks(path, RATE, chunk_seconds=1.0, search_seconds=0.5))
    assert [round(start, 3) for start, _ in pieces] == [0.0, 0.68, 1.59]  # pause middles: 0.6875, 1.5
    joined = torch.cat([waveform for _, waveform in pieces])
    assert torch.equal(joined, torch.from_numpy(signal))
    assert all(len(waveform) <= RATE for _, waveform in pieces)


def test_pieces_are_resampled_to_the_model_rate(tmp_path):
    path = tmp_path / "tone.wav"
    soundfile.write(path, np.sin(np.arange(3 * 16000) / 10).astype(np.float32), 16000)
    pieces = list(read_chunks(path, RATE, chunk_seconds=1.0))
    assert sum(len(waveform) for _, waveform in pieces) == pytest.approx(3 * RATE, abs=len(pieces))


@pytest.mark.slow
def test_a_long_file_of_real_clips_gives_the_clips_words_with_increasing_times(tmp_path):
    clips = [item.path for item in copy_fsdd_items(tmp_path / "clips", ["lucas"], range(0, 10), range(1, 2))]
    pause = np.zeros(int(0.8 * RATE), np.float32)
    joined = np.concatenate([part for clip in clips for part in (load_audio(clip, RATE).numpy(), pause)])
    long_path = tmp_path / "long.flac"
    soundfile.write(long_path, joined, RATE)

    transcriber = load_model("fsdd-digits")
    one_by_one = [result.hypothesis.text for result in transcriber.transcribe_files(clips)]
    transcriber.chunk_seconds = 1.6  # so this 14-second file is long: pieces of at most 1.6 s
    (result,) = transcriber.transcribe_files([long_path], timestamps=True)
    assert result.hypothesis.text.split() == one_by_one
    starts = [word.start for word in result.words]
    assert len(result.words) == len(clips) and starts == sorted(starts)
    assert all(word.start < word.end for word in result.words)
    assert result.words[-1].end <= result.duration == pytest.approx(len(joined) / RATE)


def test_silence_between_speech_is_trimmed_with_a_margin():
    piece = torch.zeros(2 * RATE)
    piece[RATE // 2:RATE] = 0.3  # speech from 0.5 s to 1.0 s
    assert speech_bounds(piece, RATE) == (int(0.4 * RATE), int(1.1 * RATE))
    assert speech_bounds(torch.zeros(RATE), RATE) == (0, 0)
