"""asr.decoding.greedy: best-path CTC decoding on hand-written log-probabilities."""

from __future__ import annotations

import math

import pytest
import torch

from asr.decoding.greedy import greedy_decode, greedy_tokens
from asr.decoding.hypothesis import Hypothesis
from asr.text import Vocabulary

BLANK, A, B = 0, 1, 2
VOCABULARY = Vocabulary(["<blank>", "a", "b", "<space>"])  # ids: blank 0, a 1, b 2, space 3


def emissions(best: list[int], vocab_size: int = 4, peak: float = 0.9) -> torch.Tensor:
    """Log-probs `(T, V)` whose argmax per frame is `best`: `peak` on the best label, the rest shared."""
    probs = torch.full((len(best), vocab_size), (1 - peak) / (vocab_size - 1), dtype=torch.float64)
    probs[torch.arange(len(best)), torch.tensor(best)] = peak
    return probs.log()


def batch(rows: list[list[int]], vocab_size: int = 4, fill: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack rows of best labels into `(B, T, V)` log-probs padded with `fill`, and their lengths."""
    num_frames = max(len(row) for row in rows)
    log_probs = torch.full((len(rows), num_frames, vocab_size), fill, dtype=torch.float64)
    for index, row in enumerate(rows):
        if row:
            log_probs[index, :len(row)] = emissions(row, vocab_size)
    return log_probs, torch.tensor([len(row) for row in rows])


def test_known_best_path_collapses_repeats_and_drops_blanks():
    log_probs, lengths = batch([[A, A, BLANK, A, B, B, BLANK]])
    tokens, token_lens, frames = greedy_tokens(log_probs, lengths)
    assert token_lens.tolist() == [3]
    assert tokens.tolist() == [[A, A, B]]
    assert frames.tolist() == [[0, 3, 4]]  # the first frame of each token's run

    (hypothesis,) = greedy_decode(log_probs, lengths, VOCABULARY)
    assert hypothesis == Hypothesis(text="aab", tokens=(A, A, B), score=pytest.approx(7 * math.log(0.9)),
                                    frames=(0, 3, 4))


def test_repeats_without_blank_between_are_one_token():
    (hypothesis,) = greedy_decode(*batch([[B, B, B, A, A, B]]), VOCABULARY)
    assert hypothesis.tokens == (B, A, B)
    assert hypothesis.frames == (0, 3, 5)
    assert hypothesis.text == "bab"


def test_space_token_decodes_to_a_space():
    (hypothesis,) = greedy_decode(*batch([[A, 3, 3, BLANK, B]]), VOCABULARY)
    assert hypothesis.text == "a b"


def test_padded_frames_beyond_the_length_are_ignored():
    log_probs, _ = batch([[A, BLANK, B, A, B, A, B]])
    tokens, token_lens, frames = greedy_tokens(log_probs, torch.tensor([3]))
    assert tokens.tolist() == [[A, B]] and token_lens.tolist() == [2] and frames.tolist() == [[0, 2]]
    (hypothesis,) = greedy_decode(log_probs, torch.tensor([3]), VOCABULARY)
    assert hypothesis.score == pytest.approx(3 * math.log(0.9))


@pytest.mark.parametrize("fill", [0.0, -math.inf, 5.0])
def test_padding_values_never_reach_the_hypothesis(fill):
    """Whatever the padding holds (zeros, -inf from masking, large values), only the valid frames count."""
    rows = [[A, A, BLANK, B], [B]]
    log_probs, lengths = batch(rows, fill=fill)
    hypotheses = greedy_decode(log_probs, lengths, VOCABULARY)
    assert [hypothesis.tokens for hypothesis in hypotheses] == [(A, B), (B,)]
    assert hypotheses[0].score == pytest.approx(4 * math.log(0.9))
    assert hypotheses[1].score == pytest.approx(math.log(0.9))


def test_all_blank_row_gives_an_empty_hypothesis():
    (hypothesis,) = greedy_decode(*batch([[BLANK] * 5]), VOCABULARY)
    assert hypothesis.text == "" and hypothesis.tokens == () and hypothesis.frames == ()
    assert hypothesis.score == pytest.approx(5 * math.log(0.9))


def test_zero_length_row_gives_an_empty_hypothesis():
    log_probs, _ = batch([[A, B]])
    tokens, token_lens, frames = greedy_tokens(log_probs, torch.tensor([0]))
    assert tokens.shape == (1, 0) and token_lens.tolist() == [0] and frames.shape == (1, 0)
    assert greedy_decode(log_probs, torch.tensor([0]), VOCABULARY)[0] == Hypothesis("", (), 0.0, ())


def test_token_padding_in_a_batch_is_blank():
    tokens, token_lens, _ = greedy_tokens(*batch([[A, BLANK, B, BLANK, A], [B], [BLANK, BLANK]]))
    assert tokens.tolist() == [[A, B, A], [B, BLANK, BLANK], [BLANK, BLANK, BLANK]]
    assert token_lens.tolist() == [3, 1, 0]


def test_empty_batch():
    tokens, token_lens, frames = greedy_tokens(torch.zeros(0, 5, 4), torch.zeros(0, dtype=torch.long))
    assert tokens.shape == (0, 0) and token_lens.shape == (0,) and frames.shape == (0, 0)
    assert greedy_decode(torch.zeros(0, 5, 4), torch.zeros(0, dtype=torch.long), VOCABULARY) == []


def test_custom_blank_id():
    log_probs, lengths = batch([[3, 1, 1, 3, 1, 0]])
    tokens, token_lens, frames = greedy_tokens(log_probs, lengths, blank_id=3)
    assert tokens.tolist() == [[1, 1, 0]] and frames.tolist() == [[1, 4, 5]]


def test_batch_decoding_equals_one_by_one():
    generator = torch.Generator().manual_seed(0)
    lengths = torch.tensor([17, 5, 30, 1, 12])
    logits = torch.randn(len(lengths), 30, 4, generator=generator) * 3
    logits[..., BLANK] += 1.0  # blanks common, as in a trained model
    log_probs = torch.log_softmax(logits, dim=-1)
    together = greedy_decode(log_probs, lengths, VOCABULARY)
    for index, length in enumerate(lengths.tolist()):
        (alone,) = greedy_decode(log_probs[index:index + 1, :length], lengths[index:index + 1], VOCABULARY)
        assert together[index].text == alone.text
        assert together[index].tokens == alone.tokens
        assert together[index].frames == alone.frames
        assert together[index].score == pytest.approx(alone.score, abs=1e-5)


def test_score_is_the_sum_of_per_frame_maxima():
    generator = torch.Generator().manual_seed(1)
    log_probs = torch.log_softmax(torch.randn(3, 9, 4, generator=generator), dim=-1)
    lengths = torch.tensor([9, 4, 6])
    hypotheses = greedy_decode(log_probs, lengths, VOCABULARY)
    for index, length in enumerate(lengths.tolist()):
        expected = log_probs[index, :length].max(dim=-1).values.sum().item()
        assert hypotheses[index].score == pytest.approx(expected, abs=1e-5)


def test_tokens_stay_on_the_input_device_and_are_integers():
    log_probs, lengths = batch([[A, B]])
    tokens, token_lens, frames = greedy_tokens(log_probs, lengths)
    assert tokens.dtype == token_lens.dtype == frames.dtype == torch.long
    assert tokens.device == log_probs.device


@pytest.mark.parametrize("rows", [
    [[A, A, BLANK, A, B, B, BLANK]],
    [[B, BLANK, B, A, A], [A, B, A]],
    [[A, BLANK, A, BLANK, A, BLANK], [BLANK, B, BLANK, BLANK]],
])
def test_best_path_agrees_with_ctc_loss(rows):
    """The decoded labels are a feasible CTC target, and their best path is at most their total probability."""
    log_probs, lengths = batch(rows)
    hypotheses = greedy_decode(log_probs, lengths, VOCABULARY)
    targets = torch.nn.utils.rnn.pad_sequence([torch.tensor(hypothesis.tokens) for hypothesis in hypotheses],
                                              batch_first=True)
    target_lens = torch.tensor([len(hypothesis.tokens) for hypothesis in hypotheses])
    losses = torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), targets, lengths, target_lens,
                                          blank=BLANK, reduction="none", zero_infinity=False)
    assert torch.isfinite(losses).all()
    for hypothesis, loss in zip(hypotheses, losses.tolist()):
        assert hypothesis.score <= -loss + 1e-9  # log P(best path) <= log P(labels) = -ctc_loss
        assert -loss < 0.0


def test_one_path_target_has_ctc_loss_equal_to_its_path():
    """With a single alignment (labels fill every frame, no repeats), -ctc_loss is exactly that path's score."""
    log_probs, lengths = batch([[A, B, A]])
    (hypothesis,) = greedy_decode(log_probs, lengths, VOCABULARY)
    loss = torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), torch.tensor([[A, B, A]]), lengths,
                                        torch.tensor([3]), blank=BLANK, reduction="none")
    assert hypothesis.score == pytest.approx(-loss.item(), abs=1e-9)
