"""asr.decoding.lm and `asr lm build`: known answers, normalisation, ARPA io, agreement with KenLM."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from asr.cli.main import main
from asr.decoding.lm import (BOS, EOS, SMOOTHINGS, UNK, ArpaFormatError, NGramModel, _katz_ratios, _kn_discounts,
                             estimate, log10_to_ln, read_arpa, tokenize, write_arpa)

LMPLZ_TINY_3GRAM = Path(__file__).with_name("lmplz_tiny_3gram.arpa")

CORPUS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the cat ran",
          "on the mat the cat sat", "a dog ran on the log", "the the the", "cat"]
SENTENCES = [sentence.split() for sentence in CORPUS]
# Unseen words, unseen n-grams of seen words, and an empty sentence.
QUERIES = ["the cat sat on the log", "a dog sat on the mat", "the zebra ran", "log the on sat", "", "mat mat mat"]


def all_contexts(model: NGramModel) -> set[tuple[str, ...]]:
    """The empty context, every listed n-gram below the highest order, and every context of a listed n-gram."""
    contexts = {()}
    for length, table in enumerate(model.ngrams, start=1):
        contexts.update(gram[:-1] for gram in table)
        if length < model.order:
            contexts.update(table)
    return contexts


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("min_count", [1, 2])
def test_every_context_sums_to_one(smoothing, order, min_count):
    model = estimate(SENTENCES, order, smoothing, min_count=min_count)
    outcomes = [token for token in model.vocabulary if token != BOS]
    assert EOS in outcomes and UNK in outcomes
    for context in all_contexts(model):
        total = sum(10 ** model.log10_prob(context, token) for token in outcomes)
        assert total == pytest.approx(1.0, abs=1e-6), (smoothing, order, context)


def test_char_model_sums_to_one_with_extra_vocabulary():
    texts = ["ab ba", "abc", "c a b"]
    model = estimate([tokenize(text, "char") for text in texts], 3, "katz", unit="char", vocabulary=["z"])
    outcomes = [token for token in model.vocabulary if token != BOS]
    assert "<space>" in outcomes and "z" in outcomes
    for context in all_contexts(model):
        assert sum(10 ** model.log10_prob(context, token) for token in outcomes) == pytest.approx(1.0, abs=1e-6)


def test_add_k_bigram_known_values():
    # Corpus "<s> a b </s>", "<s> a </s>"; outcomes V = {a, b, </s>, <unk>}, |V| = 4, k = 1.
    model = estimate([["a", "b"], ["a"]], 2, "add-k", add_k=1.0)
    # Unigrams (c + 1) / (5 + 4): a 2 -> 3/9, b 1 -> 2/9, </s> 2 -> 3/9, <unk> 0 -> 1/9.
    assert 10 ** model.log10_prob((), "a") == pytest.approx(3 / 9)
    assert 10 ** model.log10_prob((), UNK) == pytest.approx(1 / 9)
    # Context <s>: c(<s>) = 2, only "a" seen (2 times): p(a|<s>) = 3/6; the unseen add-k mass 3 * 1/6 = 1/2
    # goes to b, </s>, <unk> by their unigrams: alpha = (1/2) / (1 - 3/9) = 3/4.
    assert 10 ** model.log10_prob([BOS], "a") == pytest.approx(1 / 2)
    assert 10 ** model.log10_prob([BOS], "b") == pytest.approx(3 / 4 * 2 / 9)
    assert model.ngrams[0][(BOS,)] == (-99.0, pytest.approx(math.log10(3 / 4)))
    # Context a: c(a) = 2, b and </s> seen once: 2/6 each; unseen mass 2/6; alpha = (1/3) / (1 - 2/9 - 3/9) = 3/4.
    assert 10 ** model.log10_prob(["a"], "b") == pytest.approx(1 / 3)
    assert 10 ** model.log10_prob(["a"], "a") == pytest.approx(3 / 4 * 3 / 9)
    # Context b: c(b) = 1, </s> seen once: 2/5.  p(a b </s>) = 1/2 * 1/3 * 2/5 = 1/15.
    assert 10 ** model.score_sentence(["a", "b"]) == pytest.approx(1 / 15)


def test_kneser_ney_bigram_known_values():
    # Corpus "<s> a b </s>", "<s> a </s>". Counts of counts this small give no valid Chen-Goodman discounts,
    # so both orders use the fallback D1 = 0.5, D2 = 1, D3+ = 1.5 (as lmplz --discount_fallback).
    model = estimate([["a", "b"], ["a"]], 2, "kneser-ney")
    # Unigram continuation counts: a {<s>} 1, b {a} 1, </s> {a, b} 2, <unk> 0; total 4.
    # u(a) = u(b) = 0.5/4, u(</s>) = 1/4; gamma = (0.5 + 0.5 + 1)/4 = 1/2 spread over the 4 outcomes: +1/8.
    assert 10 ** model.log10_prob((), "a") == pytest.approx(1 / 4)
    assert 10 ** model.log10_prob((), EOS) == pytest.approx(3 / 8)
    assert 10 ** model.log10_prob((), UNK) == pytest.approx(1 / 8)
    # Bigrams, raw counts: <s> a 2, a b 1, a </s> 1, b </s> 1.
    # Context <s>: total 2; p(a|<s>) = (2 - 1)/2 + gamma 1/2 * 1/4 = 5/8; p(b|<s>) = 1/2 * 1/4 (back-off).
    assert 10 ** model.log10_prob([BOS], "a") == pytest.approx(5 / 8)
    assert 10 ** model.log10_prob([BOS], "b") == pytest.approx(1 / 8)
    # Context a: total 2; p(b|a) = 0.5/2 + 1/2 * 1/4 = 3/8; p(</s>|a) = 0.5/2 + 1/2 * 3/8 = 7/16.
    assert 10 ** model.log10_prob(["a"], "b") == pytest.approx(3 / 8)
    assert 10 ** model.log10_prob(["a"], EOS) == pytest.approx(7 / 16)
    # Context b: total 1; p(</s>|b) = 0.5/1 + 1/2 * 3/8 = 11/16.  p(a b </s>) = 5/8 * 3/8 * 11/16.
    assert 10 ** model.score_sentence(["a", "b"]) == pytest.approx(165 / 1024)
    for context in [(BOS,), ("a",), ("b",)]:
        assert model.ngrams[0][context][1] == pytest.approx(math.log10(1 / 2))


def test_kneser_ney_discounts_from_counts_of_counts():
    # t1..t4 = 10, 4, 2, 1: Y = 10/18 = 5/9; D1 = 1 - 2Y*4/10 = 5/9; D2 = 2 - 3Y*2/4 = 7/6; D3+ = 3 - 4Y/2 = 17/9.
    adjusted = [1] * 10 + [2] * 4 + [3] * 2 + [4, 7]
    assert _kn_discounts(adjusted, 1) == pytest.approx((0.0, 5 / 9, 7 / 6, 17 / 9))


def test_kneser_ney_matches_lmplz():
    # lmplz_tiny_3gram.arpa is KenLM's `lmplz -o 3 --discount_fallback` on CORPUS (one sentence a line):
    # its log10 probabilities and back-off weights are float32, hence the tolerance.
    reference = read_arpa(LMPLZ_TINY_3GRAM)
    model = estimate(SENTENCES, 3, "kneser-ney")
    for length in range(3):
        assert set(model.ngrams[length]) == set(reference.ngrams[length])
        for gram, (log10_prob, log10_backoff) in model.ngrams[length].items():
            if gram != (BOS,):  # lmplz writes 0 for <s>, we write -99: neither is ever used
                assert log10_prob == pytest.approx(reference.ngrams[length][gram][0], abs=1e-6), gram
            assert log10_backoff == pytest.approx(reference.ngrams[length][gram][1], abs=1e-6), gram


def test_katz_bigram_known_values():
    # Corpus "<s> a b </s>", "<s> a </s>". Counts of counts too small for Good-Turing (n3 = 0), so each
    # order uses absolute discounting, D = n1 / (n1 + 2 n2): unigrams n1 = 1, n2 = 2 -> 1/5;
    # bigrams n1 = 3, n2 = 1 -> 3/5.
    model = estimate([["a", "b"], ["a"]], 2, "katz")
    # Unigrams, N = 5: a (2 - 0.2)/5 = 0.36, b 0.8/5 = 0.16, </s> 0.36; left over 3 * 0.2/5 = 0.12 -> <unk>.
    assert [10 ** model.log10_prob((), token) for token in ["a", "b", EOS, UNK]] == pytest.approx(
        [0.36, 0.16, 0.36, 0.12])
    # Context <s>: p(a|<s>) = (2 - 0.6)/2 = 0.7; alpha = 0.3 / (1 - 0.36) = 15/32; p(b|<s>) = 15/32 * 0.16.
    assert 10 ** model.log10_prob([BOS], "a") == pytest.approx(0.7)
    assert 10 ** model.log10_prob([BOS], "b") == pytest.approx(15 / 32 * 0.16)
    # Context a: p(b|a) = p(</s>|a) = 0.4/2 = 0.2; alpha = 0.6 / (1 - 0.16 - 0.36) = 1.25; p(a|a) = 1.25 * 0.36.
    assert 10 ** model.log10_prob(["a"], "a") == pytest.approx(0.45)
    assert model.ngrams[0][("a",)][1] == pytest.approx(math.log10(1.25))
    # Context b: p(</s>|b) = 0.4/1.  p(a b </s>) = 0.7 * 0.2 * 0.4.
    assert 10 ** model.score_sentence(["a", "b"]) == pytest.approx(0.056)


def test_katz_good_turing_ratios():
    # n1..n6 = 100, 40, 20, 12, 8, 5 and k = 5: common = 6 * 5/100 = 0.3;
    # d_r = ((r + 1) n_{r+1} / (r n_r) - 0.3) / 0.7: 5/7, 9/14, 5/7, 16/21, 9/14.
    counts_of_counts = Counter({1: 100, 2: 40, 3: 20, 4: 12, 5: 8, 6: 5})
    ratios = _katz_ratios(counts_of_counts, 5, 2)
    assert [ratios[count] for count in range(1, 6)] == pytest.approx([5 / 7, 9 / 14, 5 / 7, 16 / 21, 9 / 14])
    # No n6: the cut-off drops to 4 (common = 5 * 8/100 = 0.4), counts of 5 keep their value.
    del counts_of_counts[6]
    assert _katz_ratios(counts_of_counts, 5, 2)[1] == pytest.approx((2 * 40 / 100 - 0.4) / 0.6)
    assert 5 not in _katz_ratios(counts_of_counts, 5, 2)


def test_advance_keeps_only_the_history_that_matters():
    model = estimate(SENTENCES, 3, "kneser-ney")
    state = model.initial_state()
    assert state == (BOS,)
    _, state = model.advance(state, "the")
    assert state == (BOS, "the")
    _, state = model.advance(state, "zebra")  # <unk> never occurred: nothing before it can matter
    assert state == ()
    _, state = model.advance(state, "cat")
    assert state == ("cat",)
    assert model.initial_state(bos=False) == ()


def test_unknown_words_and_min_count():
    model = estimate(SENTENCES, 2, "kneser-ney", min_count=2)
    assert "mat" in model.vocabulary and "and" not in model.vocabulary  # "and" occurs once
    assert model.log10_prob(["a"], "and") == model.log10_prob(["a"], UNK)
    assert model.log10_prob(["zebra"], "cat") == model.log10_prob([UNK], "cat")
    assert model.ngrams[0][(UNK,)][0] > -99


def test_states_score_as_the_full_history():
    for smoothing in SMOOTHINGS:
        model = estimate(SENTENCES, 4, smoothing)
        for query in QUERIES:
            tokens = query.split() + [EOS]
            history = [BOS]
            expected = 0.0
            for token in tokens:
                expected += model.log10_prob(history, token)
                history.append(token)
            assert model.score_sentence(query.split()) == pytest.approx(expected, abs=1e-12)


def test_perplexity_and_natural_log():
    model = estimate(SENTENCES, 3, "katz")
    sentences = [query.split() for query in QUERIES[:3]]
    total = sum(model.score_sentence(tokens) for tokens in sentences)
    num_tokens = sum(len(tokens) + 1 for tokens in sentences)
    assert model.perplexity(sentences) == pytest.approx(10 ** (-total / num_tokens))
    assert log10_to_ln(model.score_sentence(sentences[0])) == pytest.approx(
        math.log(10 ** model.score_sentence(sentences[0])))


def test_tokenize_units():
    assert tokenize("  the  cat ", "word") == ["the", "cat"]
    assert tokenize(" ab  c", "char") == ["a", "b", "<space>", "c"]
    with pytest.raises(ValueError, match="unit"):
        tokenize("a", "byte")


def test_bad_estimation_arguments():
    with pytest.raises(ValueError, match="smoothing"):
        estimate(SENTENCES, 3, "witten-bell")
    with pytest.raises(ValueError, match="order"):
        estimate(SENTENCES, 0)
    with pytest.raises(ValueError, match="sentence 2"):
        estimate([["a"], ["b", EOS]], 2)
    with pytest.raises(ValueError, match="no tokens"):
        estimate([[], []], 2)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("suffix", [".arpa", ".arpa.gz"])
def test_arpa_round_trip_is_exact(smoothing, suffix, tmp_path):
    model = estimate(SENTENCES, 3, smoothing, min_count=2)
    path = tmp_path / f"lm{suffix}"
    write_arpa(model, path)
    loaded = read_arpa(path)
    assert (loaded.order, loaded.unit, loaded.smoothing) == (3, "word", smoothing)
    assert loaded.ngrams == model.ngrams  # every log10 probability and back-off weight, bit for bit
    for query in QUERIES:
        assert loaded.score_sentence(query.split()) == model.score_sentence(query.split())


def test_char_unit_is_recorded_in_the_arpa(tmp_path):
    model = estimate([tokenize(text, "char") for text in CORPUS], 3, "kneser-ney", unit="char")
    write_arpa(model, tmp_path / "char.arpa")
    assert read_arpa(tmp_path / "char.arpa").unit == "char"


FOREIGN_ARPA = """\\data\\
ngram 1=4
ngram 2=2

\\1-grams:
-99\t<s>\t-0.30103
-0.5\t</s>
-0.4\ta\t-0.2
-0.7\tb

\\2-grams:
-0.1\t<s> a
-0.3\ta b

\\end\\
"""


def test_foreign_arpa_without_unk(tmp_path):
    path = tmp_path / "foreign.arpa"
    path.write_text(FOREIGN_ARPA)
    model = read_arpa(path)
    assert model.unit == "word" and model.num_ngrams == [5, 2]
    # p(a|<s>) p(b|a) p(</s>|b): -0.1 - 0.3 + (b's back-off 0, p(</s>) -0.5)
    assert model.score_sentence(["a", "b"]) == pytest.approx(-0.9)
    # An unknown word is <unk> at -100, as KenLM substitutes: <s> backs off (-0.30103), then p(</s>) -0.5.
    assert model.score_sentence(["zebra"]) == pytest.approx(-0.30103 - 100 - 0.5)


@pytest.mark.parametrize("broken, line, message", [
    (FOREIGN_ARPA.replace("-0.3\ta b", "-0.3\ta"), 13, "2-gram line"),
    (FOREIGN_ARPA.replace("-0.7\tb", "minus\tb"), 9, "not a number"),
    (FOREIGN_ARPA.replace("ngram 2=2", "ngram 2=3"), 11, "declares 3"),
    (FOREIGN_ARPA.replace("\\end\\\n", ""), 14, "without \\\\end"),
    (FOREIGN_ARPA.replace("ngram 1=4", "ngram one"), 2, "ngram N=count"),
    (FOREIGN_ARPA.replace("-0.3\ta b", "-0.1\t<s> a"), 13, "duplicate"),
    (FOREIGN_ARPA.replace("-0.3\ta b", "-0.3\ta b\t-0.5"), 13, "highest order"),
    ("no data here\n", 1, "no \\\\data"),
])
def test_malformed_arpa_names_file_and_line(broken, line, message, tmp_path):
    path = tmp_path / "broken.arpa"
    path.write_text(broken)
    with pytest.raises(ArpaFormatError, match=message) as caught:
        read_arpa(path)
    assert caught.value.line_number == line
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_missing_arpa_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.arpa"):
        read_arpa(tmp_path / "missing.arpa")


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("unit", ["word", "char"])
def test_scores_agree_with_kenlm(smoothing, unit, tmp_path):
    kenlm = pytest.importorskip("kenlm")
    model = estimate([tokenize(text, unit) for text in CORPUS], 3, smoothing, unit=unit, min_count=2)
    path = tmp_path / "lm.arpa"
    write_arpa(model, path)
    reference = kenlm.Model(str(path))
    for query in QUERIES:  # "zebra" and (min_count=2) "and", "log" are out of the vocabulary
        tokens = tokenize(query, unit)
        for bos, eos in [(True, True), (False, True), (True, False)]:
            expected = reference.score(" ".join(tokens), bos=bos, eos=eos)
            assert model.score_sentence(tokens, bos=bos, eos=eos) == pytest.approx(expected, abs=1e-4), query


# --- the CLI ---------------------------------------------------------------------------------------


def test_cli_build_writes_a_loadable_arpa(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(CORPUS) + "\n\n")
    out = tmp_path / "lm" / "lm.arpa"
    status = main(["lm", "build", "--text", str(text), "--order", "3", "--smoothing", "katz",
                   "--dev-text", str(text), "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    model = read_arpa(out)
    assert (model.order, model.smoothing) == (3, "katz")
    assert f"ngram 3={model.num_ngrams[2]}" in captured.out
    assert "dev perplexity:" in captured.out


def test_cli_build_reads_a_column_and_normalises(tmp_path, capsys):
    text = tmp_path / "metadata.csv"
    text.write_text("LJ1|The Cat, sat.|The Cat, sat.\nLJ2|A dog!|A dog!\n")
    out = tmp_path / "char.arpa"
    assert main(["lm", "build", "--text", str(text), "--text-column", "3", "--normalizer", "lower_no_punct",
                 "--unit", "char", "--order", "2", "--smoothing", "add-k", "--add-k", "0.5",
                 "--out", str(out)]) == 0
    model = read_arpa(out)
    assert model.unit == "char"
    assert set(model.vocabulary) == set("thecasdog") | {"<space>", BOS, EOS, UNK}


@pytest.mark.parametrize("arguments, message", [
    (["--order", "0"], "--order must be >= 1"),
    (["--smoothing", "katz", "--add-k", "0.5"], "--add-k applies to --smoothing add-k"),
    (["--katz-max-count", "4"], "--katz-max-count applies to --smoothing katz"),
    (["--min-count", "0"], "--min-count"),
    (["--text-column", "4"], "text.txt:1: 1 field(s)"),
    (["--smoothing", "add-k", "--add-k", "0"], "add_k must be > 0"),
])
def test_cli_build_rejects_bad_arguments(arguments, message, tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("the cat\n")
    status = main(["lm", "build", "--text", str(text), "--out", str(tmp_path / "lm.arpa"), *arguments])
    assert status == 2
    assert message in capsys.readouterr().err


def test_cli_build_missing_text_and_bad_choice(tmp_path, capsys):
    assert main(["lm", "build", "--text", str(tmp_path / "none.txt"), "--out", str(tmp_path / "lm.arpa")]) == 2
    assert "none.txt" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["lm", "build", "--text", "x", "--out", "y", "--unit", "byte"])
    assert caught.value.code == 2
