"""asr.metrics: known answers first, then equality with jiwer (per pair S/D/I) and with RapidFuzz."""

from __future__ import annotations

import dataclasses
import math
import random

import jiwer
import pytest
import torch
from rapidfuzz.distance import Levenshtein

from asr.metrics import (
    BleuScore,
    ErrorCounts,
    batched_edit_counts,
    sequence_edit_counts,
    char_error_rate,
    corpus_bleu,
    corpus_counts,
    edit_counts,
    split_words_on_device,
    tensor_counts_to_corpus,
    word_error_rate,
)

BACKENDS = ["torch", "rapidfuzz", "auto"]
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(autouse=True, scope="module")
def one_cpu_thread():
    """The row loop runs many small ops; on a busy machine each multi-threaded op waits for a
    descheduled worker, which made this file 5x slower (8 s instead of 1.6 s) on a shared 2-CPU box."""
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(num_threads)


def counts_of(ref: str, hyp: str, unit: str, backend: str = "torch") -> tuple[int, int, int, int]:
    (counts,) = edit_counts([ref], [hyp], unit, backend)
    return counts.substitutions, counts.deletions, counts.insertions, counts.reference_length


def padded(seqs: list[list[int]], rng: random.Random, min_width: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L) with random junk past each length, so that results cannot depend on the padding."""
    width = max([min_width, *map(len, seqs)])
    rows = [seq + [rng.randrange(-3, 50) for _ in range(width - len(seq))] for seq in seqs]
    ids = torch.tensor(rows, dtype=torch.long)
    return ids.reshape(len(seqs), width), torch.tensor([len(seq) for seq in seqs], dtype=torch.long)


def rapidfuzz_counts(ref: list[int], hyp: list[int]) -> tuple[int, int, int]:
    tags = [op.tag for op in Levenshtein.editops(ref, hyp)]
    return tags.count("replace"), tags.count("delete"), tags.count("insert")


# ---------------------------------------------------------------------------------------- known answers


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("ref", "hyp", "unit", "expected"),
    [
        ("kitten", "sitting", "char", (2, 0, 1, 6)),
        ("abc", "", "char", (0, 3, 0, 3)),
        ("", "abc", "char", (0, 0, 3, 0)),
        ("", "", "char", (0, 0, 0, 0)),
        (" a b ", "ab", "char", (0, 1, 0, 3)),  # ends stripped, the inner space counts
        ("ab", "ba", "char", (0, 1, 1, 2)),  # a tie: RapidFuzz/jiwer prefer delete + insert to 2 S
        ("안녕하세요", "안녕하세여", "char", (1, 0, 0, 5)),
        ("the cat sat", "the cat sat down", "word", (0, 0, 1, 3)),
        ("the cat sat", "a cat", "word", (1, 1, 0, 3)),
        ("one two three", "", "word", (0, 3, 0, 3)),
        ("", "hello world", "word", (0, 0, 2, 0)),
        ("   ", "", "word", (0, 0, 0, 0)),
        ("  a   b  ", "a b", "word", (0, 0, 0, 2)),  # repeated and end spaces make no empty words
        ("a\tb", "a b", "word", (1, 0, 1, 1)),  # jiwer splits on " " only: a lone tab stays in the word
        ("a\t\tb", "a b", "word", (0, 0, 0, 2)),  # ... but a run of whitespace becomes one space
        ("straße über", "strasse über", "word", (1, 0, 0, 2)),
    ],
)
def test_known_counts(ref, hyp, unit, expected, backend):
    assert counts_of(ref, hyp, unit, backend) == expected


def test_known_counts_agree_with_jiwer():
    for ref, hyp in [("kitten", "sitting"), ("ab", "ba"), ("a\tb", "a b"), (" a b ", "ab")]:
        out = jiwer.process_characters(ref, hyp)
        assert counts_of(ref, hyp, "char")[:3] == (out.substitutions, out.deletions, out.insertions)
        out = jiwer.process_words(ref, hyp)
        assert counts_of(ref, hyp, "word")[:3] == (out.substitutions, out.deletions, out.insertions)


def test_error_counts_rate_and_sum():
    counts = ErrorCounts(substitutions=1, deletions=2, insertions=3, reference_length=12)
    assert counts.errors == 6 and counts.hits == 9 and counts.rate == 0.5
    # Empty reference: the rate is the number of errors itself (jiwer 4's `wer = num_insertions`).
    assert ErrorCounts(0, 0, 0, 0).rate == 0.0
    assert ErrorCounts(0, 0, 2, 0).rate == 2.0 == jiwer.wer("", "a b")
    assert counts + ErrorCounts(1, 1, 1, 3) == ErrorCounts(2, 3, 4, 15)
    assert corpus_counts([counts, ErrorCounts(1, 1, 1, 3)]) == ErrorCounts(2, 3, 4, 15)
    assert corpus_counts([]) == ErrorCounts(0, 0, 0, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        counts.insertions = 0


def test_rates_on_a_tiny_corpus():
    refs, hyps = ["the cat sat", "on the mat"], ["the cat sat", "on a mat here"]
    assert word_error_rate(refs, hyps) == 2 / 6 == jiwer.wer(refs, hyps)
    assert char_error_rate(refs, hyps) == jiwer.cer(refs, hyps)


# ------------------------------------------------------------------------------------ errors at the boundary


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="2 refs and 1 hyps"):
        edit_counts(["a", "b"], ["a"], "word")
    with pytest.raises(ValueError, match=r"unit must be one of \('word', 'char'\), got 'letter'"):
        edit_counts(["a"], ["a"], "letter")
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'torch', 'rapidfuzz'\), got 'numpy'"):
        word_error_rate(["a"], ["a"], backend="numpy")


def test_batched_rejects_bad_tensors():
    ids, lens = torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 1])
    with pytest.raises(ValueError, match="hyps must be an integer tensor of shape"):
        batched_edit_counts(ids[0], lens, ids, lens)
    with pytest.raises(ValueError, match="refs must be an integer tensor"):
        batched_edit_counts(ids, lens, ids.float(), lens)
    with pytest.raises(ValueError, match="ref_lens must be an integer tensor of shape"):
        batched_edit_counts(ids, lens, ids, lens[:1])
    with pytest.raises(ValueError, match="hyps has 2 sequences but refs has 1"):
        batched_edit_counts(ids, lens, ids[:1], lens[:1])
    with pytest.raises(ValueError, match="lengths out of range"):
        batched_edit_counts(ids, torch.tensor([4, 1]), ids, lens)
    with pytest.raises(ValueError, match="lengths out of range"):
        batched_edit_counts(ids, lens, ids, torch.tensor([-1, 1]))


# ------------------------------------------------------------------------------ batched_edit_counts itself


def test_batched_matches_rapidfuzz_per_pair_and_ignores_padding():
    rng = random.Random(0)
    refs, hyps = [], []
    for _ in range(200):
        # Lengths past 64 exercise RapidFuzz's multi-word bit vectors; small alphabets make many ties.
        alphabet = rng.choice([2, 3, 5, 20])
        ref = [rng.randrange(alphabet) for _ in range(rng.choice([0, 1, 5, 12, 70, 100]))]
        if rng.random() < 0.5:
            hyp = [tok if rng.random() < 0.8 else rng.randrange(alphabet) for tok in ref if rng.random() < 0.9]
        else:
            hyp = [rng.randrange(alphabet) for _ in range(rng.choice([0, 3, 12, 80]))]
        refs.append(ref)
        hyps.append(hyp)
    ref_ids, ref_lens = padded(refs, rng)
    hyp_ids, hyp_lens = padded(hyps, rng, min_width=ref_ids.shape[1] + 7)
    substitutions, deletions, insertions = batched_edit_counts(hyp_ids, hyp_lens, ref_ids, ref_lens)
    assert substitutions.dtype == deletions.dtype == insertions.dtype == torch.int64
    got = list(zip(substitutions.tolist(), deletions.tolist(), insertions.tolist()))
    assert got == [rapidfuzz_counts(ref, hyp) for ref, hyp in zip(refs, hyps)]

    # A pair alone gives what it gives inside the batch.
    for index in (0, 7, 123, 199):
        alone = batched_edit_counts(hyp_ids[index : index + 1], hyp_lens[index : index + 1],
                                    ref_ids[index : index + 1], ref_lens[index : index + 1])
        assert tuple(part.item() for part in alone) == got[index]


def test_batched_degenerate_shapes():
    empty = torch.zeros(0, 4, dtype=torch.long)
    no_lens = torch.zeros(0, dtype=torch.long)
    assert all(part.shape == (0,) for part in batched_edit_counts(empty, no_lens, empty, no_lens))
    blank = torch.zeros(3, 0, dtype=torch.long)
    hyps, hyp_lens = torch.tensor([[1, 2], [1, 1], [9, 9]]), torch.tensor([2, 0, 1])
    counts = batched_edit_counts(hyps, hyp_lens, blank, torch.zeros(3, dtype=torch.long))
    assert [part.tolist() for part in counts] == [[0, 0, 0], [0, 0, 0], [2, 0, 1]]
    counts = batched_edit_counts(blank, torch.zeros(3, dtype=torch.long), hyps, hyp_lens)
    assert [part.tolist() for part in counts] == [[0, 0, 0], [2, 0, 1], [0, 0, 0]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_corpus(backend):
    assert edit_counts([], [], "word", backend) == []
    assert char_error_rate([], [], backend) == 0.0


def test_split_words_of_empty_tensors():
    for tokens in (torch.zeros(2, 0, dtype=torch.long), torch.zeros(0, 5, dtype=torch.long)):
        word_ids, word_lens = split_words_on_device(tokens, torch.zeros(tokens.shape[0], dtype=torch.long), 1)
        assert word_ids.shape == (tokens.shape[0], (tokens.shape[1] + 1) // 2) and word_lens.eq(0).all()


def test_tensor_counts_to_corpus():
    refs, hyps = torch.tensor([[1, 2, 3], [4, 5, 0]]), torch.tensor([[1, 3, 0], [4, 5, 6]])
    ref_lens, hyp_lens = torch.tensor([3, 2]), torch.tensor([2, 3])
    total = tensor_counts_to_corpus(*batched_edit_counts(hyps, hyp_lens, refs, ref_lens), ref_lens)
    assert total == ErrorCounts(substitutions=0, deletions=1, insertions=1, reference_length=5)


# ---------------------------------------------------------------------------------- equality with jiwer

_VOCAB = (
    "the a of speech model word error rate hand writing line image beam search "
    "über straße grüße Mädchen öl "  # German
    "안녕하세요 감사합니다 사랑 "  # Korean
    "λόγος φωνή αλφάβητο ψυχή"  # Greek
).split()
_SEPARATORS = [" "] * 12 + ["  ", "\t", " \t", "\n", "   "]


def _random_text(rng: random.Random, words: list[str]) -> str:
    text = "".join(word + rng.choice(_SEPARATORS) for word in words).rstrip()
    if rng.random() < 0.2:
        text = rng.choice(_SEPARATORS) + text + rng.choice(_SEPARATORS)
    return text


def _random_pairs(num_pairs: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    refs, hyps = [], []
    for _ in range(num_pairs):
        ref = [rng.choice(_VOCAB) for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 8, 12]))]
        hyp = []
        for word in ref:
            roll = rng.random()
            if roll < 0.1:
                continue  # deletion
            if roll < 0.2:
                word = rng.choice(_VOCAB)  # substitution
            elif roll < 0.3:
                cut = rng.randrange(len(word) + 1)  # a character-level slip inside the word
                word = word[:cut] + rng.choice("aeöß하λ") + word[cut + 1 :]
            hyp.append(word)
            if rng.random() < 0.1:
                hyp.append(rng.choice(_VOCAB))  # insertion
        if rng.random() < 0.05:
            hyp = []
        if rng.random() < 0.05:
            hyp = [rng.choice(_VOCAB) for _ in range(rng.randrange(6))]
        refs.append(_random_text(rng, ref) if ref or rng.random() < 0.5 else rng.choice(["", " ", "\t "]))
        hyps.append(_random_text(rng, hyp))
    return refs, hyps


RANDOM_REFS, RANDOM_HYPS = _random_pairs(1200, seed=1234)


def _jiwer_per_pair(refs: list[str], hyps: list[str], unit: str) -> list[tuple[int, int, int, int]]:
    out = (jiwer.process_words if unit == "word" else jiwer.process_characters)(refs, hyps)
    per_pair = []
    for ref_units, chunks in zip(out.references, out.alignments):
        counts = {"substitute": 0, "delete": 0, "insert": 0, "equal": 0}
        for chunk in chunks:
            counts[chunk.type] += max(chunk.ref_end_idx - chunk.ref_start_idx, chunk.hyp_end_idx - chunk.hyp_start_idx)
        per_pair.append((counts["substitute"], counts["delete"], counts["insert"], len(ref_units)))
    return per_pair


def test_random_pairs_cover_the_hard_cases():
    assert sum(not ref.strip() for ref in RANDOM_REFS) >= 50
    assert sum(not hyp.strip() for hyp in RANDOM_HYPS) >= 50
    text = "".join(RANDOM_REFS)
    assert all(char in text for char in "안λöß\t")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("unit", ["word", "char"])
def test_equal_to_jiwer_on_random_pairs(unit, backend):
    counts = edit_counts(RANDOM_REFS, RANDOM_HYPS, unit, backend)
    got = [(item.substitutions, item.deletions, item.insertions, item.reference_length) for item in counts]
    # jiwer 4 accepts empty references, so every pair is compared with it directly, S, D and I apart.
    assert got == _jiwer_per_pair(RANDOM_REFS, RANDOM_HYPS, unit)
    rate = (word_error_rate if unit == "word" else char_error_rate)(RANDOM_REFS, RANDOM_HYPS, backend)
    assert rate == (jiwer.wer if unit == "word" else jiwer.cer)(RANDOM_REFS, RANDOM_HYPS)


def test_all_empty_references_follow_the_documented_rule():
    refs, hyps = ["", " ", ""], ["a b", "", "c"]
    assert word_error_rate(refs, hyps, backend="torch") == 3.0 == jiwer.wer(refs, hyps)
    assert word_error_rate(["", ""], ["", " "]) == 0.0


# ------------------------------------------------------------------------------- words on the device

SPACE = 0


def _char_tokens(texts: list[str], rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    """Code points, with the space mapped to token 0 (SPACE) and junk padding."""
    return padded([[SPACE if char == " " else ord(char) for char in text] for text in texts], rng)


def test_split_words_known_answer():
    tokens, token_lens = _char_tokens(["  ab c  ab ", "c ab", "", "ba"], random.Random(0))
    word_ids, word_lens = split_words_on_device(tokens, token_lens, SPACE)
    assert word_ids.dtype == torch.int64 and word_ids.shape == (4, (tokens.shape[1] + 1) // 2)
    assert word_lens.tolist() == [3, 2, 0, 1]
    id_ab, id_c = word_ids[0, 0].item(), word_ids[0, 1].item()
    assert word_ids[0, :3].tolist() == [id_ab, id_c, id_ab]
    assert word_ids[1, :2].tolist() == [id_c, id_ab]  # equal words in another item get equal ids
    assert word_ids[3, 0].item() not in (id_ab, id_c)  # "ba" is not "ab": the hash depends on order
    assert word_ids[0, 3:].eq(0).all() and word_ids[2].eq(0).all()  # padding past word_lens


def test_split_words_hash_sees_zero_tokens_and_length():
    tokens = torch.tensor([[5, 1, 5, 1, 5], [7, 1, 7, 7, 1]])  # space id 1; token 0 vs 0 0 below
    word_ids, word_lens = split_words_on_device(tokens, torch.tensor([5, 5]), space_id=1)
    assert word_lens.tolist() == [3, 2]
    assert word_ids[0, :3].unique().numel() == 1 and word_ids[1, 0] != word_ids[1, 1]
    zeros = torch.tensor([[0, 9, 0, 0]])
    word_ids, _ = split_words_on_device(zeros, torch.tensor([4]), space_id=9)
    assert word_ids[0, 0] != word_ids[0, 1]


def test_wer_through_split_words_equals_jiwer():
    rng = random.Random(5)
    # split_words_on_device splits on the one space token; jiwer also collapses runs of other
    # whitespace, so these texts use spaces only (repeated and at the ends included).
    refs = [text.replace("\t", " ").replace("\n", " ") for text in RANDOM_REFS[:400]]
    hyps = [text.replace("\t", " ").replace("\n", " ") for text in RANDOM_HYPS[:400]]
    ref_words, ref_word_lens = split_words_on_device(*_char_tokens(refs, rng), SPACE)
    hyp_words, hyp_word_lens = split_words_on_device(*_char_tokens(hyps, rng), SPACE)
    counts = batched_edit_counts(hyp_words, hyp_word_lens, ref_words, ref_word_lens)
    assert tensor_counts_to_corpus(*counts, ref_word_lens).rate == jiwer.wer(refs, hyps)
    per_pair = list(zip(*(part.tolist() for part in counts), ref_word_lens.tolist()))
    assert per_pair == _jiwer_per_pair(refs, hyps, "word")


# ------------------------------------------------------------------------------------------------ CUDA


@CUDA
def test_cuda_matches_cpu():
    rng = random.Random(3)
    refs = [[rng.randrange(4) for _ in range(rng.randrange(100))] for _ in range(200)]
    hyps = [[rng.randrange(4) for _ in range(rng.randrange(100))] for _ in range(200)]
    ref_ids, ref_lens = padded(refs, rng)
    hyp_ids, hyp_lens = padded(hyps, rng)
    on_cpu = batched_edit_counts(hyp_ids, hyp_lens, ref_ids, ref_lens)
    on_cuda = batched_edit_counts(hyp_ids.cuda(), hyp_lens.cuda(), ref_ids.cuda(), ref_lens.cuda())
    assert all(part.device.type == "cuda" for part in on_cuda)
    assert all(torch.equal(cpu_part, cuda_part.cpu()) for cpu_part, cuda_part in zip(on_cpu, on_cuda))

    tokens, token_lens = _char_tokens(["  ab c  ab ", "c ab"], rng)
    cpu_words = split_words_on_device(tokens, token_lens, SPACE)
    cuda_words = split_words_on_device(tokens.cuda(), token_lens.cuda(), SPACE)
    assert all(torch.equal(cpu_part, cuda_part.cpu()) for cpu_part, cuda_part in zip(cpu_words, cuda_words))


@CUDA
@pytest.mark.parametrize("unit", ["word", "char"])
def test_cuda_strings_equal_jiwer(unit):
    counts = edit_counts(RANDOM_REFS, RANDOM_HYPS, unit, backend="auto", device="cuda")
    got = [(item.substitutions, item.deletions, item.insertions, item.reference_length) for item in counts]
    assert got == _jiwer_per_pair(RANDOM_REFS, RANDOM_HYPS, unit)


@pytest.mark.parametrize("backend", ["torch", "rapidfuzz", "auto"])
def test_sequence_edit_counts_agree_across_backends(backend):
    generator = torch.Generator().manual_seed(5)
    hyps = torch.randint(0, 4, (50, 9), generator=generator)
    refs = torch.randint(0, 4, (50, 7), generator=generator)
    hyp_lens = torch.randint(0, 10, (50,), generator=generator)
    ref_lens = torch.randint(0, 8, (50,), generator=generator)
    expected = batched_edit_counts(hyps, hyp_lens, refs, ref_lens)
    for got, want in zip(sequence_edit_counts(hyps, hyp_lens, refs, ref_lens, backend=backend), expected):
        assert got.tolist() == want.tolist()


# --- BLEU (Papineni et al. 2002 corpus BLEU; answers worked out by hand) -----------------------------------

def _tokens(text: str) -> list[str]:
    return text.split()


def test_bleu_of_a_perfect_match_is_one_for_every_order():
    sentence = _tokens("a red circle to the left of a blue square")
    score = corpus_bleu([sentence], [[sentence]])
    assert isinstance(score, BleuScore)
    assert score.bleu == (1.0, 1.0, 1.0, 1.0) and score.precisions == (1.0, 1.0, 1.0, 1.0)
    assert score.brevity_penalty == 1.0 and score.hypothesis_length == score.reference_length == 10


def test_bleu_short_hypothesis_gets_the_brevity_penalty_and_no_ngrams_means_zero():
    # "the cat" against a 6-word reference: c = 2, r = 6, BP = exp(1 - 6/2) = exp(-2). p1 = 2/2, p2 = 1/1;
    # there is no trigram in a 2-word hypothesis, so p3 = 0/0 counts as 0 and BLEU-3 and BLEU-4 are 0.
    score = corpus_bleu([_tokens("the cat")], [[_tokens("the cat sat on the mat")]])
    assert score.brevity_penalty == pytest.approx(math.exp(-2))
    assert score.precisions == (1.0, 1.0, 0.0, 0.0)
    assert score.bleu == pytest.approx((math.exp(-2), math.exp(-2), 0.0, 0.0))


def test_bleu_clips_counts_by_the_reference():
    # "the" occurs 4 times in the hypothesis and twice in the reference: p1 = 2/4. No hypothesis bigram
    # ("the the") is in the reference: p2 = 0/3, so BLEU-2..4 = 0. c = 4 < r = 6: BP = exp(1 - 6/4).
    score = corpus_bleu([_tokens("the the the the")], [[_tokens("the cat is on the mat")]])
    assert score.precisions[:2] == (0.5, 0.0)
    assert score.bleu == pytest.approx((0.5 * math.exp(-0.5), 0.0, 0.0, 0.0))


def test_bleu_clips_by_the_maximum_over_references_not_their_sum():
    # "the" is once in each reference: the clip is max(1, 1) = 1, so p1 = 1/2 (a sum would give 2/2).
    score = corpus_bleu([_tokens("the the")], [[_tokens("the cat"), _tokens("the dog")]], max_order=1)
    assert score.precisions == (0.5,) and score.bleu == (0.5,)


def test_bleu_takes_the_closest_reference_length_and_the_shorter_on_a_tie():
    hypothesis = _tokens("a b c d e")  # 5 tokens, no match needed for the length rule
    # References of 4 and 7 tokens: 4 is closest, c = 5 > r = 4, BP = 1.
    assert corpus_bleu([hypothesis], [[_tokens("a b c d"), _tokens("a b c d e f g")]]).reference_length == 4
    # 4 and 6 are equally close: the shorter (4) is taken, BP = 1; had 6 been taken, BP = exp(1 - 6/5).
    tied = corpus_bleu([hypothesis], [[_tokens("a b c d e f"), _tokens("a b c d")]])
    assert tied.reference_length == 4 and tied.brevity_penalty == 1.0
    # 6 and 7: 6 is closest, c = 5 <= r = 6, BP = exp(1 - 6/5) = exp(-0.2).
    longer = corpus_bleu([hypothesis], [[_tokens("a b c d e f g"), _tokens("a b c d e f")]])
    assert longer.reference_length == 6 and longer.brevity_penalty == pytest.approx(math.exp(-0.2))


def test_bleu_of_a_two_sentence_corpus_worked_by_hand():
    # Item 1: "the cat sat on the mat" (6) against "the cat is on the mat" (6) and "there is a cat on the mat" (7).
    #   unigrams: the x2 (clip 2, from reference 1), cat, sat (0), on, mat  -> 5/6
    #   bigrams:  the cat, cat sat (0), sat on (0), on the, the mat         -> 3/5
    #   trigrams: the cat sat (0), cat sat on (0), sat on the (0), on the mat -> 1/4
    #   4-grams:  the cat sat on, cat sat on the, sat on the mat: none       -> 0/3
    #   closest reference length: 6.
    # Item 2: "a dog runs" (3) against "a dog runs fast" (4): 3/3, 2/2, 1/1, 0/0; reference length 4.
    # Corpus: p1 = 8/9, p2 = 5/7, p3 = 2/5, p4 = 0/3; c = 9, r = 10, BP = exp(1 - 10/9) = exp(-1/9).
    #   BLEU-1 = exp(-1/9) * 8/9                   = 0.79541...
    #   BLEU-2 = exp(-1/9) * (8/9 * 5/7) ** (1/2)     = 0.71303...
    #   BLEU-3 = exp(-1/9) * (8/9 * 5/7 * 2/5) ** (1/3) = 0.56668...
    #   BLEU-4 = 0 (p4 = 0, no smoothing)
    hypotheses = [_tokens("the cat sat on the mat"), _tokens("a dog runs")]
    references = [[_tokens("the cat is on the mat"), _tokens("there is a cat on the mat")],
                  [_tokens("a dog runs fast")]]
    score = corpus_bleu(hypotheses, references)
    assert score.precisions == pytest.approx((8 / 9, 5 / 7, 2 / 5, 0.0))
    assert (score.hypothesis_length, score.reference_length) == (9, 10)
    assert score.brevity_penalty == pytest.approx(math.exp(-1 / 9))
    assert score.bleu == pytest.approx((0.795412, 0.713025, 0.566680, 0.0), abs=1e-6)
    assert score.bleu[:3] == pytest.approx((math.exp(-1 / 9) * 8 / 9, math.exp(-1 / 9) * (40 / 63) ** 0.5,
                                            math.exp(-1 / 9) * (16 / 63) ** (1 / 3)))
    assert str(score) == ("BLEU-4 0.00 (BLEU-1..4 79.54/71.30/56.67/0.00; precisions 88.9/71.4/40.0/0.0; "
                          "brevity penalty 0.895; hypothesis/reference length 9/10)")
    assert corpus_bleu(hypotheses, references, max_order=2).bleu == pytest.approx(score.bleu[:2])


def test_bleu_score_is_frozen():
    score = corpus_bleu([["a"]], [[["a"]]], max_order=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        score.bleu = (0.0,)


@pytest.mark.parametrize("hypotheses, references, max_order, message", [
    ([["a"], ["b"]], [[["a"]]], 4, "2 hypotheses but 1 reference lists"),
    ([["a"], ["b"]], [[["a"]], []], 4, "item 1: expected a non-empty list of references"),
    ([], [], 4, "no hypotheses"),
    (["a cat"], [[["a", "cat"]]], 4, "hypothesis 0 is a string"),
    ([["a"]], [["a cat"]], 4, "item 0: reference 0 is a string"),
    ([["a"]], [[["a"]]], 0, "max_order must be a positive integer"),
])
def test_bleu_rejects_bad_inputs_with_the_item(hypotheses, references, max_order, message):
    with pytest.raises(ValueError, match=message):
        corpus_bleu(hypotheses, references, max_order)
