"""asr.decoding.attention_search: greedy and beam search over a toy step decoder, CTC prefix scores.

Known answers first: the toy decoder is a table of p(next token | last token), so every hypothesis' score
can be computed by hand and every search checked against exhaustive enumeration; CTC prefix scores are
checked against a sum over all frame paths and torch's ctc_loss. Then batching, length limits and
penalties, joint decoding and the real attention decoder behind the same interface.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pytest
import torch

from asr.decoding.attention_search import (AttentionHypothesis, CTCPrefixScorer, beam_search,
                                           greedy_search)
from tests.decoding.ctc_paths import collapse

EOS = 0  # also <sos> and the CTC blank


@dataclass(frozen=True)
class TableState:
    bias: torch.Tensor  # (N, V) added to the table's logits (zeros unless the decoder reads its memory)
    memory_lens: torch.Tensor  # (N,)
    num_frames: int


class TableDecoder:
    """p(next | last) from a fixed `(V, V)` table of logits (row 0: the first token, after <sos>).

    With `read_memory`, each item's distribution also depends on its memory `(B, T, V)`: the mean of its
    real frames is added to the logits, so padding that leaked in would change the result. The attention
    is uniform over the real frames. Records the number of rows of every `step` call.
    """

    sos_id = EOS
    eos_id = EOS

    def __init__(self, logits: torch.Tensor, read_memory: bool = False):
        self.logits = logits
        self.read_memory = read_memory
        self.step_rows: list[int] = []

    def start(self, memory: torch.Tensor, memory_lens: torch.Tensor) -> TableState:
        mask = torch.arange(memory.shape[1], device=memory.device)[None, :] < memory_lens[:, None]
        if self.read_memory:
            bias = torch.where(mask[:, :, None], memory, 0.0).sum(dim=1) / memory_lens[:, None]
        else:
            bias = self.logits.new_zeros(memory.shape[0], self.logits.shape[1])
        return TableState(bias, memory_lens, memory.shape[1])

    def step(self, state: TableState, tokens: torch.Tensor) -> tuple[torch.Tensor, TableState, torch.Tensor]:
        self.step_rows.append(tokens.numel())
        log_probs = torch.log_softmax(self.logits[tokens] + state.bias, dim=-1)
        mask = torch.arange(state.num_frames, device=tokens.device)[None, :] < state.memory_lens[:, None]
        return log_probs, state, mask.float() / state.memory_lens[:, None]

    def select(self, state: TableState, rows: torch.Tensor) -> TableState:
        return TableState(state.bias[rows], state.memory_lens[rows], state.num_frames)


def table(probs: list[list[float]]) -> torch.Tensor:
    return torch.tensor(probs, dtype=torch.float32).log()


def random_logits(vocab_size: int, seed: int, sharpness: float = 1.5) -> torch.Tensor:
    return sharpness * torch.randn(vocab_size, vocab_size, generator=torch.Generator().manual_seed(seed))


def plain_memory(lengths: list[int], dim: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.zeros(len(lengths), max(lengths), dim), torch.tensor(lengths)


def sequence_log_prob(log_probs: torch.Tensor, tokens: tuple[int, ...], ended: bool) -> float:
    """Log-prob of `tokens` (+ <eos> if ended) under a table of conditional log-probs `(V, V)`."""
    path = (EOS, *tokens, EOS) if ended else (EOS, *tokens)
    return sum(log_probs[last, token].item() for last, token in zip(path, path[1:]))


def enumerate_hypotheses(logits: torch.Tensor, max_len: int, length_penalty: float = 0.0
                         ) -> list[tuple[float, tuple[int, ...]]]:
    """(ranking score, tokens) of every hypothesis a search with this max_len can return, best first:
    sequences of < max_len tokens ended by <eos>, and sequences of max_len tokens cut there."""
    log_probs = torch.log_softmax(logits.double(), dim=-1)
    labels = range(1, logits.shape[0])
    scored = []
    for length in range(max_len + 1):
        for tokens in itertools.product(labels, repeat=length):
            total = sequence_log_prob(log_probs, tokens, ended=length < max_len)
            scored.append((total / (length + 1) ** length_penalty, tokens))
    return sorted(scored, reverse=True)


# ---------------------------------------------------------------------------------------------------
# greedy search and beam size 1


# After <sos>: 1 is likeliest, but after 1 nothing is likely; 2 almost surely ends. Greedy takes [1] (0.15),
# the best hypothesis is [2] (0.36).
GREEDY_IS_WRONG = table([[0.05, 0.50, 0.40, 0.05],
                         [0.30, 0.25, 0.25, 0.20],
                         [0.90, 0.04, 0.03, 0.03],
                         [0.40, 0.20, 0.20, 0.20]])


def test_greedy_search_takes_the_likeliest_token_at_each_step():
    [hypothesis] = greedy_search(TableDecoder(GREEDY_IS_WRONG), *plain_memory([3]), max_len=5)
    assert hypothesis.tokens == (1,)
    assert hypothesis.log_prob == pytest.approx(math.log(0.5 * 0.3), abs=1e-6)
    assert hypothesis.score == hypothesis.log_prob


@pytest.mark.parametrize("seed", range(6))
def test_beam_size_1_is_greedy_search_exactly(seed):
    decoder = TableDecoder(random_logits(5, seed), read_memory=True)
    memory = torch.randn(4, 6, 5, generator=torch.Generator().manual_seed(seed))
    memory_lens = torch.tensor([6, 2, 4, 5])
    greedy = greedy_search(decoder, memory, memory_lens, max_len=7)
    beam = beam_search(decoder, memory, memory_lens, beam_size=1, max_len=7)
    for expected, [found] in zip(greedy, beam):
        assert found.tokens == expected.tokens
        assert found.log_prob == expected.log_prob  # the same floats, added in the same order
        assert found.score == expected.score
        assert torch.equal(found.attention, expected.attention)


# ---------------------------------------------------------------------------------------------------
# beam search against exhaustive enumeration


def test_a_beam_finds_the_best_hypothesis_that_greedy_misses():
    best_score, best_tokens = enumerate_hypotheses(GREEDY_IS_WRONG, max_len=4)[0]
    [greedy] = greedy_search(TableDecoder(GREEDY_IS_WRONG), *plain_memory([3]), max_len=4)
    assert greedy.tokens != best_tokens  # so the next line can fail
    [[found]] = beam_search(TableDecoder(GREEDY_IS_WRONG), *plain_memory([3]), beam_size=2, max_len=4)
    assert found.tokens == best_tokens == (2,)
    assert found.score == pytest.approx(best_score, abs=1e-5)
    assert found.log_prob == pytest.approx(math.log(0.4 * 0.9), abs=1e-5)


@pytest.mark.parametrize("seed, length_penalty", [(1, 0.0), (2, 0.0), (3, 1.0), (4, 0.6)])
def test_a_beam_wide_enough_to_keep_everything_returns_the_enumerated_nbest(seed, length_penalty):
    logits = random_logits(4, seed, sharpness=1.0)
    max_len = 4
    # 3 labels: at most 27 live prefixes before the last step, each with 4 extensions.
    [found] = beam_search(TableDecoder(logits), *plain_memory([2]), beam_size=108, max_len=max_len,
                          length_penalty=length_penalty, nbest=10)
    expected = enumerate_hypotheses(logits, max_len, length_penalty)[:10]
    assert [hypothesis.tokens for hypothesis in found] == [tokens for _, tokens in expected]
    assert [hypothesis.score for hypothesis in found] == pytest.approx([score for score, _ in expected], abs=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_nbest_is_sorted_and_distinct(seed):
    [found] = beam_search(TableDecoder(random_logits(5, seed)), *plain_memory([3]), beam_size=5, max_len=6,
                          nbest=5)
    assert len(found) == 5
    assert [hypothesis.score for hypothesis in found] == sorted((h.score for h in found), reverse=True)
    assert len({hypothesis.tokens for hypothesis in found}) == 5


def test_the_log_prob_is_the_attention_log_prob_including_eos():
    logits = random_logits(5, seed=7)
    log_probs = torch.log_softmax(logits, dim=-1)
    [found] = beam_search(TableDecoder(logits), *plain_memory([3]), beam_size=4, max_len=8, nbest=4)
    for hypothesis in found:
        assert hypothesis.log_prob == pytest.approx(sequence_log_prob(log_probs, hypothesis.tokens, ended=True),
                                                    abs=1e-5)


# ---------------------------------------------------------------------------------------------------
# batching


def batch_inputs():
    generator = torch.Generator().manual_seed(11)
    memory_lens = torch.tensor([7, 3, 5])
    memory = torch.randn(3, 7, 6, generator=generator)
    ctc_lens = torch.tensor([9, 4, 6])
    ctc_log_probs = (2 * torch.randn(3, 9, 6, generator=generator)).log_softmax(-1)
    for item in range(3):  # padding that would change every answer if it were read
        memory[item, memory_lens[item]:] = 100.0
        ctc_log_probs[item, ctc_lens[item]:] = 0.0
    return memory, memory_lens, ctc_log_probs, ctc_lens


@pytest.mark.parametrize("search", ["greedy", "beam", "beam+ctc"])
def test_a_batch_decodes_as_each_item_alone(search):
    memory, memory_lens, ctc_log_probs, ctc_lens = batch_inputs()
    decoder = TableDecoder(random_logits(6, seed=5), read_memory=True)

    def decode(memory, memory_lens, ctc_log_probs, ctc_lens) -> list[list[AttentionHypothesis]]:
        if search == "greedy":
            return [[hypothesis] for hypothesis in greedy_search(decoder, memory, memory_lens, max_len=8)]
        ctc = dict(ctc_log_probs=ctc_log_probs, ctc_lens=ctc_lens, ctc_weight=0.4) if search == "beam+ctc" else {}
        return beam_search(decoder, memory, memory_lens, beam_size=3, max_len=8, length_penalty=0.5, nbest=3,
                           **ctc)

    batched = decode(memory, memory_lens, ctc_log_probs, ctc_lens)
    steps_of_batch = list(decoder.step_rows)
    for item in range(3):
        alone = decode(memory[item:item + 1, :memory_lens[item]], memory_lens[item:item + 1],
                       ctc_log_probs[item:item + 1, :ctc_lens[item]], ctc_lens[item:item + 1])[0]
        assert [h.tokens for h in batched[item]] == [h.tokens for h in alone]
        assert [h.score for h in batched[item]] == pytest.approx([h.score for h in alone], abs=1e-5)
        assert [h.log_prob for h in batched[item]] == pytest.approx([h.log_prob for h in alone], abs=1e-5)
        for batch_hypothesis, alone_hypothesis in zip(batched[item], alone):
            torch.testing.assert_close(batch_hypothesis.attention, alone_hypothesis.attention)
    # one step call per output position for the whole batch, never more rows than items x beam
    assert len(steps_of_batch) <= 8
    assert max(steps_of_batch) == 3 * (1 if search == "greedy" else 3)


def test_attention_covers_each_emitted_token_and_eos_over_the_item_s_memory():
    memory, memory_lens, _, _ = batch_inputs()
    decoder = TableDecoder(random_logits(6, seed=5), read_memory=True)
    found = [[hypothesis] for hypothesis in greedy_search(decoder, memory, memory_lens, max_len=20)]
    found += beam_search(decoder, memory, memory_lens, beam_size=3, max_len=20, nbest=3)
    for item, hypotheses in enumerate(found):
        for hypothesis in hypotheses:
            length = int(memory_lens[item % 3])
            assert hypothesis.attention.shape == (len(hypothesis.tokens) + 1, length)
            torch.testing.assert_close(hypothesis.attention.sum(dim=1), torch.ones(len(hypothesis.tokens) + 1))


# ---------------------------------------------------------------------------------------------------
# max_len and length penalty

NEVER_ENDS = table([[1e-6, 0.5, 0.5 - 1e-6],
                    [1e-6, 0.3, 0.7 - 1e-6],
                    [1e-6, 0.6, 0.4 - 1e-6]])


@pytest.mark.parametrize("beam_size", [1, 3])
def test_max_len_cuts_hypotheses_that_never_end(beam_size):
    memory, memory_lens = plain_memory([4, 2])
    greedy = greedy_search(TableDecoder(NEVER_ENDS), memory, memory_lens, max_len=5)
    beam = [nbest[0] for nbest in beam_search(TableDecoder(NEVER_ENDS), memory, memory_lens, beam_size, 5)]
    log_probs = NEVER_ENDS.log_softmax(-1)
    for hypothesis in greedy + beam:
        assert len(hypothesis.tokens) == 5  # no <eos>: its attention has one row per token
        assert hypothesis.attention.shape[0] == 5
        assert hypothesis.log_prob == pytest.approx(sequence_log_prob(log_probs, hypothesis.tokens, ended=False),
                                                    abs=1e-5)
    assert greedy[0].tokens == (1, 2, 1, 2, 1)


@pytest.mark.parametrize("beam_size", [1, 3])
def test_per_item_limits_cut_each_item_as_if_alone(beam_size):
    memory, memory_lens = plain_memory([4, 2])
    limits = [6, 3]
    greedy = greedy_search(TableDecoder(NEVER_ENDS), memory, memory_lens, max_len=limits)
    beam = [nbest[0] for nbest in beam_search(TableDecoder(NEVER_ENDS), memory, memory_lens, beam_size,
                                              torch.tensor(limits))]
    for found in (greedy, beam):
        assert [len(hypothesis.tokens) for hypothesis in found] == limits
        for item in range(2):
            alone_memory, alone_lens = plain_memory([memory_lens[item].item()])
            (alone,) = greedy_search(TableDecoder(NEVER_ENDS), alone_memory, alone_lens, limits[item])
            assert found[item].tokens == alone.tokens
    with pytest.raises(ValueError, match="2 limits for 3 items"):
        greedy_search(TableDecoder(NEVER_ENDS), *plain_memory([1, 2, 3]), max_len=[4, 4])


# Ending at once is the likeliest hypothesis (0.5); [1] + <eos> has 0.45 * 0.7 = 0.315, but per token
# (length + 1 = 2 of them) it is better: log 0.315 / 2 = -0.578 > log 0.5 = -0.693.
SHORT_WINS = table([[0.50, 0.45, 0.05],
                    [0.70, 0.25, 0.05],
                    [0.50, 0.25, 0.25]])


def test_length_penalty_changes_the_ranking():
    for length_penalty, expected in [(0.0, ()), (1.0, (1,))]:
        [[found]] = beam_search(TableDecoder(SHORT_WINS), *plain_memory([3]), beam_size=3, max_len=6,
                                length_penalty=length_penalty)
        best_score, best_tokens = enumerate_hypotheses(SHORT_WINS, 6, length_penalty)[0]
        assert found.tokens == best_tokens == expected
        assert found.score == pytest.approx(best_score, abs=1e-5)
        assert found.score == pytest.approx(found.log_prob / (len(found.tokens) + 1) ** length_penalty)


# ---------------------------------------------------------------------------------------------------
# CTC prefix scores



def brute_force_prefix_score(log_probs: torch.Tensor, prefix: tuple[int, ...]) -> float:
    """log of the summed probability of all frame paths `(T,)` whose collapsed labels begin with `prefix`."""
    num_frames, vocab_size = log_probs.shape
    total = 0.0
    for path in itertools.product(range(vocab_size), repeat=num_frames):
        if collapse(path)[:len(prefix)] == prefix:
            total += math.exp(sum(log_probs[frame, token].item() for frame, token in enumerate(path)))
    return math.log(total) if total > 0 else -math.inf


def ctc_log_likelihood(log_probs: torch.Tensor, labels: tuple[int, ...]) -> float:
    """log p_ctc(labels) of `(T, V)` log-probs, from torch's ctc_loss."""
    loss = torch.nn.functional.ctc_loss(log_probs[:, None], torch.tensor([labels], dtype=torch.long),
                                        torch.tensor([log_probs.shape[0]]), torch.tensor([len(labels)]),
                                        blank=EOS, reduction="sum", zero_infinity=False)
    return -loss.item()


def random_emissions(shape: tuple[int, ...], seed: int, sharpness: float = 1.5) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (sharpness * torch.randn(*shape, generator=generator, dtype=torch.float64)).log_softmax(-1)


def all_prefixes(labels: list[int], max_length: int) -> list[tuple[int, ...]]:
    return [prefix for length in range(max_length + 1) for prefix in itertools.product(labels, repeat=length)]


def test_ctc_prefix_scores_match_brute_force_and_ctc_loss():
    # two items, the second padded with garbage after its 3 frames
    log_probs = random_emissions((2, 5, 3), seed=3)
    log_probs[1, 3:] = 5.0
    lens = torch.tensor([5, 3])
    scorer = CTCPrefixScorer.start(log_probs, lens)
    rows: list[tuple[int, tuple[int, ...]]] = [(0, ()), (1, ())]  # (item, prefix) of each row
    for _ in range(3):
        labels = torch.tensor([[1, 2]] * len(rows))
        prefix_scores, extended = scorer.extend(labels)  # every prefix extended by every label
        extended_rows = [(item, prefix + (label,)) for item, prefix in rows for label in (1, 2)]
        for (item, prefix), score in zip(extended_rows, prefix_scores.reshape(-1).tolist()):
            assert score == pytest.approx(brute_force_prefix_score(log_probs[item, :lens[item]], prefix), abs=1e-9)
        scorer, rows = extended, extended_rows
        for (item, prefix), full in zip(rows, scorer.full_scores().tolist()):
            assert full == pytest.approx(ctc_log_likelihood(log_probs[item, :lens[item]], prefix), abs=1e-9)
    # (1, 1, 1) needs 5 frames and (1, 2, 1) needs 3: the 3-frame item can end with the second only
    full = dict(zip(rows, scorer.full_scores().tolist()))
    assert full[(1, (1, 1, 1))] == -math.inf
    assert full[(1, (1, 2, 1))] > -math.inf


def test_ctc_prefix_scorer_select_reorders_and_repeats_rows():
    log_probs = random_emissions((2, 4, 4), seed=4)
    scorer = CTCPrefixScorer.start(log_probs, torch.tensor([4, 4]))
    scores, extended = scorer.extend(torch.tensor([[1, 2, 3], [3, 2, 1]]))
    rows = torch.tensor([5, 0, 0, 4])  # item 1 + label 1, item 0 + label 1 (twice), item 1 + label 2
    picked = extended.select(rows)
    torch.testing.assert_close(picked.full_scores(), extended.full_scores()[rows])
    next_scores, _ = picked.extend(torch.tensor([[2], [2], [3], [3]]))
    for row, (item, prefix) in enumerate([(1, (1, 2)), (0, (1, 2)), (0, (1, 3)), (1, (2, 3))]):
        assert next_scores[row, 0].item() == pytest.approx(brute_force_prefix_score(log_probs[item], prefix),
                                                           abs=1e-9)
    assert scores.shape == (2, 3)


def test_ctc_prefix_scorer_works_in_the_emission_s_precision():
    log_probs = random_emissions((1, 3, 3), seed=5).to(torch.float16)
    scores, extended = CTCPrefixScorer.start(log_probs, torch.tensor([3])).extend(torch.tensor([[1, 2]]))
    assert scores.dtype == torch.float32 and extended.full_scores().dtype == torch.float32


# ---------------------------------------------------------------------------------------------------
# joint CTC/attention decoding


def test_ctc_weight_1_with_a_uniform_attention_finds_the_ctc_best_labels():
    log_probs = random_emissions((1, 5, 3), seed=8, sharpness=2.0).float()
    enumerated = {labels: ctc_log_likelihood(log_probs[0].double(), labels) for labels in all_prefixes([1, 2], 5)}
    best_labels = max(enumerated, key=enumerated.get)
    uniform = TableDecoder(torch.zeros(3, 3))
    # 2 labels: at most 32 live prefixes, each with 3 extensions; 6 steps let 5 labels end with <eos>
    [[found]] = beam_search(uniform, *plain_memory([5]), beam_size=96, max_len=6, ctc_log_probs=log_probs,
                            ctc_lens=torch.tensor([5]), ctc_weight=1.0)
    assert found.tokens == best_labels
    assert found.score == pytest.approx(enumerated[best_labels], abs=1e-5)
    assert found.log_prob == pytest.approx((len(found.tokens) + 1) * math.log(1 / 3), abs=1e-5)


@pytest.mark.parametrize("ctc_weight, pre_beam", [(0.3, None), (0.7, 2)])
def test_joint_scores_are_the_weighted_sum_of_both_models(ctc_weight, pre_beam):
    logits = random_logits(5, seed=9)
    log_probs = random_emissions((1, 6, 5), seed=9, sharpness=2.0).float()
    [found] = beam_search(TableDecoder(logits), *plain_memory([6]), beam_size=4, max_len=10,
                          ctc_log_probs=log_probs, ctc_lens=torch.tensor([6]), ctc_weight=ctc_weight, nbest=4,
                          pre_beam=pre_beam)
    attention_log_probs = torch.log_softmax(logits, dim=-1)
    for hypothesis in found:
        assert hypothesis.log_prob == pytest.approx(
            sequence_log_prob(attention_log_probs, hypothesis.tokens, ended=True), abs=1e-5)
        ctc = ctc_log_likelihood(log_probs[0].double(), hypothesis.tokens)
        assert hypothesis.score == pytest.approx((1 - ctc_weight) * hypothesis.log_prob + ctc_weight * ctc, abs=1e-4)


def test_ctc_rescues_a_hypothesis_the_attention_alone_would_miss():
    # The attention prefers [1] (0.5 * 0.8 against 0.3 * 0.8 for [2]); the emission clearly says [2].
    log_probs = table([[0.1, 0.1, 0.8], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05]])
    attention = TableDecoder(table([[0.2, 0.5, 0.3], [0.8, 0.1, 0.1], [0.8, 0.1, 0.1]]))
    [[alone]] = beam_search(attention, *plain_memory([3]), beam_size=2, max_len=4)
    [[joint]] = beam_search(attention, *plain_memory([3]), beam_size=2, max_len=4, ctc_log_probs=log_probs[None],
                            ctc_lens=torch.tensor([3]), ctc_weight=0.5)
    assert alone.tokens == (1,) and joint.tokens == (2,)


def test_the_ctc_blank_is_never_proposed_as_a_label():
    # blank 3 (not the <eos> id 0): the attention likes token 3 best, CTC gives it no label mass
    logits = table([[0.1, 0.2, 0.2, 0.5], [0.3, 0.1, 0.1, 0.5], [0.3, 0.1, 0.1, 0.5], [0.3, 0.1, 0.1, 0.5]])
    log_probs = random_emissions((1, 6, 4), seed=10).float()
    [found] = beam_search(TableDecoder(logits), *plain_memory([6]), beam_size=4, max_len=6, ctc_log_probs=log_probs,
                          ctc_lens=torch.tensor([6]), ctc_weight=0.5, blank_id=3, nbest=4)
    assert all(3 not in hypothesis.tokens for hypothesis in found)


# ---------------------------------------------------------------------------------------------------
# the real attention decoder behind the same interface


def test_the_attention_decoder_searches_in_batches_as_alone():
    from asr.models.attention import build_attention
    from asr.models.decoder import AttentionDecoder

    torch.manual_seed(0)
    decoder = AttentionDecoder(7, memory_dim=8, attention=build_attention("location", 16, 8, 8),
                               embedding_dim=8, hidden_size=16).eval()
    memory_lens = torch.tensor([6, 3])
    memory = torch.randn(2, 6, 8)
    memory[1, 3:] = 1e3  # padding: must not leak into the start state or the attention
    greedy = greedy_search(decoder, memory, memory_lens, max_len=6)
    beam_1 = beam_search(decoder, memory, memory_lens, beam_size=1, max_len=6)
    assert [h.tokens for h in greedy] == [nbest[0].tokens for nbest in beam_1]
    batched = beam_search(decoder, memory, memory_lens, beam_size=3, max_len=6, nbest=2)
    for item in range(2):
        alone = beam_search(decoder, memory[item:item + 1, :memory_lens[item]], memory_lens[item:item + 1],
                            beam_size=3, max_len=6, nbest=2)[0]
        assert [h.tokens for h in batched[item]] == [h.tokens for h in alone]
        assert [h.score for h in batched[item]] == pytest.approx([h.score for h in alone], abs=1e-4)


# ---------------------------------------------------------------------------------------------------
# devices and bad arguments


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_searches_run_on_the_memory_s_device():
    device = torch.device("cuda")
    decoder = TableDecoder(random_logits(5, seed=1).to(device))
    memory_lens = torch.tensor([4, 2], device=device)
    log_probs = random_emissions((2, 4, 5), seed=1).float().to(device)
    found = beam_search(decoder, torch.zeros(2, 4, 3, device=device), memory_lens, beam_size=3, max_len=5,
                        ctc_log_probs=log_probs, ctc_lens=memory_lens, ctc_weight=0.5)
    assert all(nbest[0].attention.device.type == "cuda" for nbest in found)


@pytest.mark.parametrize("settings, message", [
    (dict(beam_size=0), "beam_size"),
    (dict(nbest=4), "nbest"),
    (dict(max_len=0), "max_len"),
    (dict(length_penalty=-1.0), "length_penalty"),
    (dict(ctc_weight=1.5), "ctc_weight"),
    (dict(ctc_weight=0.5), "ctc_log_probs"),
    (dict(ctc_weight=0.5, ctc_log_probs=torch.zeros(1, 3, 4).log_softmax(-1), ctc_lens=torch.tensor([3])),
     "vocabulary"),
])
def test_bad_arguments_are_rejected_by_name(settings, message):
    arguments = dict(beam_size=3, max_len=4) | settings
    with pytest.raises(ValueError, match=message):
        beam_search(TableDecoder(random_logits(5, seed=0)), *plain_memory([3]), **arguments)
