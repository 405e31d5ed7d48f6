"""asr.decoding.ctc_beam: prefix beam search on hand-written log-probs, checked against known answers.

Known answers first: exhaustive enumeration of all CTC paths, torch's ctc_loss, greedy decoding, an LM
that gives every unit the same probability; then LM fusion, hotwords, n-best, batching and pruning.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from asr.config import ConfigError, DecodingConfig
from asr.decoding import ctc_beam
from asr.decoding.ctc_beam import CTCBeamSearchDecoder, NgramTables
from asr.decoding.greedy import greedy_decode
from asr.text import Vocabulary
from tests.decoding.ctc_paths import collapse

ABC = Vocabulary(["<blank>", "a", "b", "<space>"])  # blank 0, a 1, b 2, space 3
BLANK, A, B, SPACE = 0, 1, 2, 3


def beam(**settings) -> DecodingConfig:
    return DecodingConfig(decoder="beam", **settings)


EXACT = dict(token_top_k=0, token_min_logp=-1e9, beam_threshold=1e9)  # no pruning besides the beam


def random_log_probs(num_frames: int, vocab_size: int, seed: int, sharpness: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (sharpness * torch.randn(1, num_frames, vocab_size, generator=generator)).log_softmax(-1)



def enumerate_label_sequences(log_probs: torch.Tensor) -> dict[tuple[int, ...], float]:
    """log P(labels) for every label sequence, by summing the probabilities of all V^T paths."""
    frames = log_probs[0].double()
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(frames.shape[1]), repeat=frames.shape[0]):
        path_logp = float(frames[torch.arange(len(path)), torch.tensor(path)].sum())
        labels = collapse(path)
        totals[labels] = float(np.logaddexp(totals.get(labels, -np.inf), path_logp))
    return totals


def lengths(log_probs: torch.Tensor) -> torch.Tensor:
    return torch.full((log_probs.shape[0],), log_probs.shape[1])


# --- known answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("room", ["sized", "grown"])
def test_wide_beam_equals_exhaustive_enumeration_of_all_paths(seed, room, monkeypatch):
    if room == "grown":  # room for 2 nodes at first: the search grows its arrays and child table as it goes
        monkeypatch.setattr(ctc_beam, "initial_nodes", lambda num_frames, beam_size: 2)
    log_probs = random_log_probs(num_frames=5, vocab_size=3, seed=seed)
    totals = enumerate_label_sequences(log_probs)
    # The beam counts a prefix's paths ending in a blank and those ending in a label apart: room for both.
    decoder = CTCBeamSearchDecoder(Vocabulary(["<blank>", "a", "b"]),
                                   beam(beam_size=2 * len(totals), nbest=len(totals), **EXACT))
    (nbest,) = decoder.decode_nbest(log_probs, lengths(log_probs))
    best_labels = max(totals, key=totals.get)
    assert nbest[0].hypothesis.tokens == best_labels
    assert nbest[0].hypothesis.score == pytest.approx(totals[best_labels], abs=1e-6)
    # every label sequence is found, each with its total probability, in order
    assert {entry.hypothesis.tokens: entry.hypothesis.score for entry in nbest} == pytest.approx(totals, abs=1e-6)
    scores = [entry.hypothesis.score for entry in nbest]
    assert scores == sorted(scores, reverse=True)
    assert math.fsum(math.exp(score) for score in scores) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("sharpness", [1.0, 2.0])
def test_recombination_leaves_a_wide_beam_exact(seed, sharpness):
    # With one hypothesis asked for, a prefix no better in either half than another with the same last
    # token and fusion state is ranked behind all others; a beam with room for every candidate keeps it,
    # so the best sequence and its total probability are exhaustive enumeration's. (Dropping it outright
    # lost the best sequence for seeds 3 and 6 at sharpness 1.)
    log_probs = random_log_probs(num_frames=6, vocab_size=3, seed=seed, sharpness=sharpness)
    totals = enumerate_label_sequences(log_probs)
    decoder = CTCBeamSearchDecoder(Vocabulary(["<blank>", "a", "b"]), beam(beam_size=2 * len(totals), **EXACT))
    (best,) = decoder(log_probs, lengths(log_probs))
    best_labels = max(totals, key=totals.get)
    assert best.tokens == best_labels
    assert best.score == pytest.approx(totals[best_labels], abs=1e-6)


@pytest.mark.parametrize("seed, sharpness", [(40, 2.0), (41, 1.0), (105, 1.0)])
def test_recombination_frees_room_for_the_best_in_a_narrow_beam(seed, sharpness):
    # Emissions (found by search) where a beam of two halves loses the best sequence when it keeps a
    # dominated prefix, and finds it when recombination drops that prefix (only the 1-best recombines).
    log_probs = random_log_probs(num_frames=6, vocab_size=3, seed=seed, sharpness=sharpness)
    totals = enumerate_label_sequences(log_probs)
    best_labels = max(totals, key=totals.get)
    decoder = CTCBeamSearchDecoder(Vocabulary(["<blank>", "a", "b"]), beam(beam_size=2, **EXACT))
    (recombined,) = decoder.decode_nbest(log_probs, lengths(log_probs), nbest=1)
    (kept_all,) = decoder.decode_nbest(log_probs, lengths(log_probs), nbest=2)
    assert recombined[0].hypothesis.tokens == best_labels
    assert kept_all[0].hypothesis.tokens != best_labels


@pytest.mark.parametrize("nbest", [1, 4])
@pytest.mark.parametrize("seed", range(3))
def test_skipping_hopeless_extensions_changes_no_result(nbest, seed):
    # Extensions that could not reach the beam are skipped before their node is made; with gains that
    # never allow a skip, the search must give the same hypotheses, scores and frames.
    log_probs = random_log_probs(num_frames=60, vocab_size=len(ABC), seed=seed, sharpness=3.0)
    config = beam(beam_size=4, nbest=nbest, lm_weight=0.5, word_bonus=1.0, hotwords=("ab",))
    decoder = CTCBeamSearchDecoder(ABC, config, lm=NgramTables.from_ngrams(TRIGRAM))
    (skipping,) = decoder.decode_nbest(log_probs, lengths(log_probs))
    decoder._gains = (math.inf, math.inf)
    (exhaustive,) = decoder.decode_nbest(log_probs, lengths(log_probs))
    assert [entry.hypothesis for entry in skipping] == [entry.hypothesis for entry in exhaustive]


def test_prefix_probabilities_match_torch_ctc_loss():
    # a beam with room for both halves of every label sequence of 7 frames (3 labels: 3280) prunes nothing
    log_probs = random_log_probs(num_frames=7, vocab_size=4, seed=7)
    decoder = CTCBeamSearchDecoder(ABC, beam(beam_size=8000, nbest=10, **EXACT))
    (nbest,) = decoder.decode_nbest(log_probs, lengths(log_probs))
    for entry in nbest:
        if not entry.hypothesis.tokens:
            continue  # ctc_loss needs a non-empty target here
        target = torch.tensor([entry.hypothesis.tokens])
        loss = torch.nn.functional.ctc_loss(log_probs.transpose(0, 1).double(), target, lengths(log_probs),
                                            torch.tensor([target.shape[1]]), reduction="sum")
        assert entry.acoustic_score == pytest.approx(-loss.item(), abs=1e-4)


@pytest.mark.parametrize("seed", range(20))
def test_width_one_equals_greedy_on_random_emissions(seed):
    # A beam of one keeps one half (the paths of one prefix that end in a blank, or those that end in a
    # token), which follows the best path frame by frame: greedy decoding, frames included.
    log_probs = random_log_probs(num_frames=30, vocab_size=len(ABC), seed=seed)
    (beamed,) = CTCBeamSearchDecoder(ABC, beam(beam_size=1, **EXACT))(log_probs, lengths(log_probs))
    (greedy,) = greedy_decode(log_probs, lengths(log_probs), ABC)
    assert beamed.tokens == greedy.tokens
    assert beamed.text == greedy.text
    assert beamed.frames == greedy.frames


def test_width_one_equals_greedy_on_a_batch_of_peaked_emissions_with_default_pruning():
    rows = [[A, A, BLANK, A, B, B, BLANK], [B, SPACE, SPACE, A, BLANK, BLANK, BLANK], [BLANK] * 7]
    log_probs = torch.stack([peaked(row) for row in rows])
    decoder = CTCBeamSearchDecoder(ABC, beam(beam_size=1))
    beams = decoder(log_probs, lengths(log_probs))
    greedy = greedy_decode(log_probs, lengths(log_probs), ABC)
    assert [hypothesis.text for hypothesis in beams] == [hypothesis.text for hypothesis in greedy] == ["aab", "b a", ""]


def test_a_wider_beam_sums_the_paths_that_greedy_decoding_splits():
    # Frame 1: blank 0.55 / a 0.45; frame 2: a 0.6 / blank 0.4. The best path (a, blank, a) reads "aa"
    # (0.95 * 0.55 * 0.6 = 0.3135), but "a" holds more paths: those from a at frame 0,
    # 0.95 * (0.45*0.4 + 0.45*0.6 + 0.55*0.4) = 0.6365, and those from a blank, 0.05 * (0.45 + 0.55*0.6) = 0.039.
    probs = torch.tensor([[[0.05, 0.95, 0.0, 0.0], [0.55, 0.45, 0.0, 0.0], [0.4, 0.6, 0.0, 0.0]]])
    log_probs = probs.clamp_min(1e-30).log()
    (greedy,) = greedy_decode(log_probs, lengths(log_probs), ABC)
    (narrow,) = CTCBeamSearchDecoder(ABC, beam(beam_size=1, **EXACT))(log_probs, lengths(log_probs))
    (wide,) = CTCBeamSearchDecoder(ABC, beam(beam_size=8, **EXACT)).decode_nbest(log_probs, lengths(log_probs))
    assert greedy.text == narrow.text == "aa"
    assert narrow.score == pytest.approx(math.log(0.95 * 0.55 * 0.6))
    assert wide[0].hypothesis.text == "a"
    assert wide[0].hypothesis.score == pytest.approx(math.log(0.6365 + 0.039))


def uniform_lm(units: list[str], with_sentence_marks: bool = True) -> NgramTables:
    """A unigram LM giving every unit (and </s>, <unk>) the same probability."""
    words = units + ["</s>", "<unk>"] if with_sentence_marks else units
    log10_prob = -math.log10(len(words))
    ngrams = {(word,): (log10_prob, 0.0) for word in words}
    ngrams[("<s>",)] = (-99.0, 0.0)
    return NgramTables.from_ngrams(ngrams)


def test_a_uniform_char_lm_with_matching_bonus_leaves_the_search_unchanged():
    log_probs = random_log_probs(num_frames=10, vocab_size=4, seed=3)
    lm = uniform_lm(["a", "b", "<space>"])
    alpha = 0.8
    unit_logp = math.log(1 / 5)  # a, b, <space>, </s>, <unk>
    plain = CTCBeamSearchDecoder(ABC, beam(beam_size=16, nbest=8, **EXACT))
    fused = CTCBeamSearchDecoder(ABC, beam(beam_size=16, nbest=8, lm_weight=alpha, word_bonus=-alpha * unit_logp,
                                           **EXACT), lm=lm)
    assert fused.lm_kind == "char"
    (without_lm,) = plain.decode_nbest(log_probs, lengths(log_probs))
    (with_lm,) = fused.decode_nbest(log_probs, lengths(log_probs))
    assert [entry.hypothesis.tokens for entry in with_lm] == [entry.hypothesis.tokens for entry in without_lm]
    for plain_entry, fused_entry in zip(without_lm, with_lm):
        assert fused_entry.acoustic_score == pytest.approx(plain_entry.acoustic_score, abs=1e-9)
        assert fused_entry.fusion_score == pytest.approx(alpha * unit_logp, abs=1e-9)  # only </s> is left


def test_a_uniform_word_lm_with_matching_bonus_leaves_the_search_unchanged():
    log_probs = random_log_probs(num_frames=10, vocab_size=4, seed=5)
    words = ["".join(letters) for size in range(1, 6) for letters in itertools.product("ab", repeat=size)]
    lm = uniform_lm(words)
    alpha = 0.5
    word_logp = -math.log(len(words) + 2)
    plain = CTCBeamSearchDecoder(ABC, beam(beam_size=16, nbest=8, **EXACT))
    fused = CTCBeamSearchDecoder(ABC, beam(beam_size=16, nbest=8, lm_weight=alpha, word_bonus=-alpha * word_logp,
                                           unk_score=0.0, **EXACT), lm=lm)
    assert fused.lm_kind == "word"
    (without_lm,) = plain.decode_nbest(log_probs, lengths(log_probs))
    (with_lm,) = fused.decode_nbest(log_probs, lengths(log_probs))
    assert [entry.hypothesis.tokens for entry in with_lm] == [entry.hypothesis.tokens for entry in without_lm]
    for plain_entry, fused_entry in zip(without_lm, with_lm):
        assert fused_entry.hypothesis.score - plain_entry.hypothesis.score == pytest.approx(alpha * word_logp)


# --- the n-gram scorer -------------------------------------------------------------------------------

# log10 probabilities and backoffs of a small trigram model, as an ARPA file holds them
TRIGRAM = {
    ("<s>",): (-99.0, -0.3), ("</s>",): (-1.0, 0.0), ("<unk>",): (-2.0, 0.0),
    ("ab",): (-0.7, -0.2), ("ba",): (-0.9, -0.4), ("a",): (-1.2, -0.1),
    ("<s>", "ab"): (-0.2, -0.5), ("ab", "ba"): (-0.3, -0.25), ("ba", "</s>"): (-0.1, 0.0),
    ("<s>", "ab", "ba"): (-0.05, 0.0),
}


def test_ngram_tables_follow_backoff():
    lm = NgramTables.from_ngrams(TRIGRAM)
    ln10 = math.log(10)
    assert lm.order == 3
    assert lm.score(["<s>", "ab"], "ba") == pytest.approx(-0.05 * ln10)  # the trigram itself
    # (ab, a) unseen: backoff(<s> ab) + p(a | ab) = backoff(<s> ab) + backoff(ab) + p(a)
    assert lm.score(["<s>", "ab"], "a") == pytest.approx((-0.5 - 0.2 - 1.2) * ln10)
    # after the trigram (<s> ab ba), the context is (ab ba); then </s>: backoff(ab ba) + p(</s> | ba)
    assert lm.score(["<s>", "ab", "ba"], "</s>") == pytest.approx((-0.25 - 0.1) * ln10)
    assert lm.score([], "a") == pytest.approx(-1.2 * ln10)


def test_ngram_tables_reject_an_ngram_without_its_context():
    with pytest.raises(ValueError, match="'x y'.*context 'x'"):
        NgramTables.from_ngrams({("y",): (-1.0, 0.0), ("x", "y"): (-0.5, 0.0)})


def peaked(best: list[int], vocab_size: int = 4, peak: float = 0.9) -> torch.Tensor:
    probs = torch.full((len(best), vocab_size), (1 - peak) / (vocab_size - 1))
    probs[torch.arange(len(best)), torch.tensor(best)] = peak
    return probs.log()


def test_word_lm_score_of_a_hypothesis_is_alpha_times_its_sentence_logprob_plus_beta_per_word():
    log_probs = peaked([A, BLANK, B, SPACE, B, BLANK, A, BLANK])[None]
    lm = NgramTables.from_ngrams(TRIGRAM)
    alpha, beta = 0.7, 1.5
    decoder = CTCBeamSearchDecoder(ABC, beam(beam_size=8, lm_weight=alpha, word_bonus=beta), lm=lm)
    (nbest,) = decoder.decode_nbest(log_probs, lengths(log_probs))
    assert nbest[0].hypothesis.text == "ab ba"
    sentence = lm.score(["<s>"], "ab") + lm.score(["<s>", "ab"], "ba") + lm.score(["<s>", "ab", "ba"], "</s>")
    assert nbest[0].fusion_score == pytest.approx(alpha * sentence + 2 * beta)


def test_an_unknown_word_pays_the_unk_score_once():
    log_probs = peaked([B, B, BLANK, B, SPACE, A], peak=0.999)[None]  # "bb a": "bb" is no word of the LM
    lm = NgramTables.from_ngrams(TRIGRAM)
    decoder = CTCBeamSearchDecoder(ABC, beam(beam_size=8, lm_weight=1.0, word_bonus=0.0, unk_score=-2.0), lm=lm)
    (nbest,) = decoder.decode_nbest(log_probs, lengths(log_probs))
    assert nbest[0].hypothesis.text == "bb a"
    # "bb" is <unk> in its context (as KenLM scores it) plus the unk_score offset
    expected = (lm.score(["<s>"], "<unk>") - 2.0 + lm.score(["<s>", "<unk>"], "a")
                + lm.score(["<s>", "<unk>", "a"], "</s>"))
    assert nbest[0].fusion_score == pytest.approx(expected)


def test_a_word_lm_picks_the_word_it_knows_among_acoustically_close_ones():
    # frame 3 is ambiguous between "a" and "b": "ab ab" or "ab bb"; the LM knows "ab", not "bb"
    log_probs = peaked([A, B, SPACE, A, BLANK, B], peak=0.99)
    log_probs[3] = torch.tensor([0.04, 0.46, 0.48, 0.02]).log()
    log_probs = log_probs[None]
    lm = NgramTables.from_ngrams(TRIGRAM)
    (without_lm,) = CTCBeamSearchDecoder(ABC, beam(beam_size=8))(log_probs, lengths(log_probs))
    (with_lm,) = CTCBeamSearchDecoder(ABC, beam(beam_size=8, lm_weight=0.5), lm=lm)(
        log_probs, lengths(log_probs))
    assert without_lm.text == "ab bb"
    assert with_lm.text == "ab ab"


def test_a_search_that_outgrows_its_first_arrays_keeps_every_node_and_its_fusion_state(monkeypatch):
    # Long enough, with a word LM and a hotword, that nodes carry LM, spelling and hotword states through
    # many rounds of growth; the n-best lists must be those of a search that never grew.
    log_probs = random_log_probs(num_frames=40, vocab_size=len(ABC), seed=3)
    config = beam(beam_size=32, nbest=16, lm_weight=0.5, word_bonus=1.0, hotwords=("ab",), **EXACT)
    lm = NgramTables.from_ngrams(TRIGRAM)
    (sized,) = CTCBeamSearchDecoder(ABC, config, lm=lm).decode_nbest(log_probs, lengths(log_probs))
    monkeypatch.setattr(ctc_beam, "initial_nodes", lambda num_frames, beam_size: 2)
    (grown,) = CTCBeamSearchDecoder(ABC, config, lm=lm).decode_nbest(log_probs, lengths(log_probs))
    assert len(sized) == 16
    assert [entry.hypothesis for entry in grown] == [entry.hypothesis for entry in sized]
    assert [entry.acoustic_score for entry in grown] == [entry.acoustic_score for entry in sized]


# --- hotwords, n-best, batches, pruning ---------------------------------------------------------------


def test_a_hotword_is_boosted_and_a_partial_match_gets_no_bonus():
    probs = torch.tensor([[0.05, 0.9, 0.05, 0.0], [0.9, 0.05, 0.05, 0.0], [0.1, 0.4, 0.5, 0.0],
                          [0.9, 0.05, 0.05, 0.0]])
    log_probs = probs.clamp_min(1e-30).log()[None]
    plain = CTCBeamSearchDecoder(ABC, beam(beam_size=8, nbest=3, **EXACT))
    boosted = CTCBeamSearchDecoder(ABC, beam(beam_size=8, nbest=5, hotword_weight=1.0,
                                                          hotwords=("aa",), **EXACT))
    (without,) = plain.decode_nbest(log_probs, lengths(log_probs))
    (with_hotword,) = boosted.decode_nbest(log_probs, lengths(log_probs))
    assert [entry.hypothesis.text for entry in without[:2]] == ["ab", "aa"]
    assert with_hotword[0].hypothesis.text == "aa"
    assert with_hotword[0].fusion_score == pytest.approx(2.0)  # two tokens of a completed hotword
    bonus = {entry.hypothesis.text: entry.fusion_score for entry in with_hotword}
    assert bonus["ab"] == pytest.approx(0.0)  # "a" began the hotword, "b" broke it: the bonus is given back
    assert bonus["a"] == pytest.approx(0.0)  # an unfinished match at the end earns nothing


def test_nbest_is_sorted_and_unique_and_bounded_by_the_beam():
    log_probs = random_log_probs(num_frames=15, vocab_size=4, seed=11)
    decoder = CTCBeamSearchDecoder(ABC, beam(beam_size=10, nbest=10))
    (nbest,) = decoder.decode_nbest(log_probs, lengths(log_probs))
    assert len(nbest) == 10
    assert len({entry.hypothesis.tokens for entry in nbest}) == 10
    scores = [entry.hypothesis.score for entry in nbest]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(ConfigError, match="decoding.nbest"):
        CTCBeamSearchDecoder(ABC, beam(beam_size=10, nbest=11))


def test_a_batch_gives_each_utterance_what_it_gets_alone_and_padding_is_ignored():
    utterances = [random_log_probs(num_frames, 4, seed) for num_frames, seed in [(20, 1), (7, 2), (13, 3)]]
    padded = torch.zeros(3, 20, 4)  # zeros are log-prob 0 = probability 1 everywhere: must never be read
    for index, log_probs in enumerate(utterances):
        padded[index, :log_probs.shape[1]] = log_probs[0]
    output_lens = torch.tensor([20, 7, 13])
    decoder = CTCBeamSearchDecoder(ABC, beam(beam_size=8, nbest=3))
    batch = decoder.decode_nbest(padded, output_lens)
    alone = [decoder.decode_nbest(log_probs, lengths(log_probs))[0] for log_probs in utterances]
    assert batch == alone
    threaded = CTCBeamSearchDecoder(ABC, beam(beam_size=8, nbest=3),
                                    num_threads=2)
    assert threaded.decode_nbest(padded, output_lens) == alone


def test_empty_utterance_gives_the_empty_hypothesis():
    decoder = CTCBeamSearchDecoder(ABC, beam(beam_size=4))
    (hypothesis,) = decoder(torch.zeros(1, 5, 4), torch.tensor([0]))
    assert hypothesis.text == "" and hypothesis.tokens == () and hypothesis.score == 0.0


def test_token_pruning_keeps_the_best_token_and_drops_unlikely_ones():
    log_probs = random_log_probs(num_frames=12, vocab_size=4, seed=9, sharpness=3.0)
    exact = CTCBeamSearchDecoder(ABC, beam(beam_size=16, **EXACT))
    top1 = CTCBeamSearchDecoder(ABC, beam(beam_size=16, token_top_k=1, token_min_logp=-1e9))
    threshold = CTCBeamSearchDecoder(ABC, beam(beam_size=16, token_top_k=0, token_min_logp=0.0))
    (greedy,) = greedy_decode(log_probs, lengths(log_probs), ABC)
    # keeping one token per frame leaves the best path only, and so does a threshold no token passes
    assert top1(log_probs, lengths(log_probs))[0].tokens == greedy.tokens
    assert threshold(log_probs, lengths(log_probs))[0].tokens == greedy.tokens
    assert exact(log_probs, lengths(log_probs))[0].score >= top1(log_probs, lengths(log_probs))[0].score


def test_emission_frames_of_a_clear_utterance_match_greedy():
    log_probs = peaked([BLANK, A, A, BLANK, B, SPACE, BLANK, A, BLANK, A])[None]
    (beamed,) = CTCBeamSearchDecoder(ABC, beam(beam_size=8))(log_probs, lengths(log_probs))
    (greedy,) = greedy_decode(log_probs, lengths(log_probs), ABC)
    assert beamed.tokens == greedy.tokens and beamed.frames == greedy.frames == (1, 4, 5, 7, 9)


def test_wrong_vocabulary_size_is_rejected():
    decoder = CTCBeamSearchDecoder(ABC)
    with pytest.raises(ValueError, match=r"\(B, T, 4\)"):
        decoder(torch.zeros(1, 5, 3), torch.tensor([5]))
