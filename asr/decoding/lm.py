"""N-gram language models: estimation, ARPA files and scoring.

Three smoothings are estimated here from tokenised sentences (`estimate`):

- `"add-k"`: Laplace/Lidstone. Every seen n-gram gets (c(h w) + k) / (c(h) + k |V|); the mass that add-k
  leaves to unseen words of a context is handed to the next lower order in proportion to its
  probabilities (a back-off model), so that each context still sums to one. Unigrams are exact add-k.
- `"katz"`: Katz back-off with Good-Turing discounts for counts r <= `katz_max_count` (Katz 1987).
- `"kneser-ney"`: interpolated modified Kneser-Ney (Chen & Goodman 1998): three discounts D1, D2, D3+
  per order from counts-of-counts, continuation counts for the lower orders, unigrams interpolated with
  the uniform distribution. It is written as a back-off model (interpolated probabilities for the listed
  n-grams, interpolation weights as back-off weights), as KenLM's lmplz writes it.

The in-memory model, `NGramModel`, mirrors an ARPA file:

    model.ngrams[n - 1]: dict[tuple[str, ...], tuple[float, float]]
        an n-gram (a tuple of n tokens) -> (log10 probability, log10 back-off weight)

The back-off weight is 0.0 where an ARPA file has none (every entry of the highest order, and n-grams
that are no context). The unigrams are the vocabulary; it always holds `<s>`, `</s>` and `<unk>`.
`<s>` is only ever a context: its probability is -99 (as KenLM writes it). Scores follow the ARPA
convention, base-10 logarithms; `log10_to_ln` converts them to natural logs (CTC log-probs are natural).

Back-off semantics (`NGramModel.log10_prob`): p(w | h) = p*(w | h) if the n-gram h w is listed, else
b(h) * p(w | h') with h' = h without its first token and b(h) = 1 for a context that is not listed.
A token outside the vocabulary is scored as `<unk>`, in the history as well (as KenLM does).

For a decoder: `NGramModel.advance(state, token) -> (log10 prob, next state)` scores one token at a
time; a state is a tuple of at most `order - 1` tokens, cut to the shortest suffix that still scores
every continuation exactly (KenLM's state minimisation), so hypotheses with equal states can be merged.
A decoder that compiles its own tables (e.g. for numba) reads `model.ngrams` directly: the vocabulary
is `model.vocabulary`, and the states are the tuples `advance` can return (`model.states`).

Units: `"word"` tokens are whitespace-separated words; `"char"` tokens are characters, with the space
written as `<space>` (asr.text.SPACE, the symbol of the acoustic vocabularies), so an ARPA line reads
`-1.2  t h e <space>`. `tokenize(text, unit)` makes the tokens of either unit.
"""

from __future__ import annotations

import gzip
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from asr.text import SPACE

logger = logging.getLogger(__name__)

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
UNITS = ("word", "char")
SMOOTHINGS = ("kneser-ney", "katz", "add-k")
NO_PROBABILITY_LOG10 = -99.0  # what an ARPA file gives <s>, which is never predicted
MISSING_UNK_LOG10 = -100.0  # KenLM's substitute when an ARPA file has no <unk>
LN_10 = math.log(10.0)
# lmplz's --discount_fallback values: used for an order whose counts-of-counts give no valid discounts
# (tiny or artificial corpora, where some count of counts is zero).
FALLBACK_KN_DISCOUNTS = (0.5, 1.0, 1.5)

NGram = tuple[str, ...]
Entry = tuple[float, float]  # (log10 probability, log10 back-off weight)


def log10_to_ln(value: float) -> float:
    """A base-10 log (the ARPA convention) as a natural log."""
    return value * LN_10


def tokenize(text: str, unit: str) -> list[str]:
    """The LM tokens of `text`: words, or characters with `<space>` between words.

    Runs of whitespace count as one space and leading/trailing whitespace is dropped, in both units.
    """
    if unit == "word":
        return text.split()
    if unit == "char":
        tokens: list[str] = []
        for index, word in enumerate(text.split()):
            if index:
                tokens.append(SPACE)
            tokens.extend(word)
        return tokens
    raise ValueError(f"unknown LM unit {unit!r}; choose one of {list(UNITS)}")


class NGramModel:
    """A back-off n-gram model: `ngrams[n - 1]` maps n-gram tuples to (log10 prob, log10 back-off).

    The model is read-only once built: `advance` relies on a table of states made at construction.
    """

    def __init__(self, order: int, unit: str, ngrams: list[dict[NGram, Entry]], smoothing: str | None = None):
        if order < 1:
            raise ValueError(f"the order of an n-gram model must be >= 1, got {order}")
        if unit not in UNITS:
            raise ValueError(f"unknown LM unit {unit!r}; choose one of {list(UNITS)}")
        if len(ngrams) != order:
            raise ValueError(f"an order-{order} model needs {order} n-gram tables, got {len(ngrams)}")
        for length, table in enumerate(ngrams, start=1):
            wrong = next((gram for gram in table if len(gram) != length), None)
            if wrong is not None:
                raise ValueError(f"the {length}-gram table holds {wrong!r}, of length {len(wrong)}")
        if (UNK,) not in ngrams[0]:
            raise ValueError(f"the vocabulary (unigrams) must hold {UNK}")
        self.order = order
        self.unit = unit
        self.ngrams = ngrams
        self.smoothing = smoothing
        # The states of `advance`: the contexts of listed n-grams and the n-grams with a back-off weight.
        # A history's longest suffix in this set scores every next token exactly as the whole history
        # does: each longer suffix begins no listed n-gram and backs off with weight 1 (log 0).
        self._states: set[NGram] = {()}
        for length in range(1, order):
            self._states.update(gram for gram, entry in ngrams[length - 1].items() if entry[1] != 0.0)
            self._states.update(gram[:-1] for gram in ngrams[length])

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """Every token of the model (the unigrams), `<s>`, `</s>` and `<unk>` included."""
        return tuple(gram[0] for gram in self.ngrams[0])

    @property
    def states(self) -> frozenset[NGram]:
        """Every state `advance` can return: the contexts of listed n-grams, the n-grams with a back-off
        weight, and the empty history."""
        return frozenset(self._states)

    @property
    def num_ngrams(self) -> list[int]:
        """The number of listed n-grams per order: `[num unigrams, num bigrams, ...]`."""
        return [len(table) for table in self.ngrams]

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text, self.unit)

    def _known(self, token: str) -> str:
        return token if (token,) in self.ngrams[0] else UNK

    def log10_prob(self, context: Sequence[str], token: str) -> float:
        """log10 p(token | context) by back-off; only the last `order - 1` context tokens matter."""
        kept = context[max(0, len(context) - self.order + 1):] if self.order > 1 else ()
        history = tuple(self._known(word) for word in kept)
        return self._log10_prob(history, self._known(token))

    def _log10_prob(self, history: NGram, token: str) -> float:
        # history: known tokens, at most order - 1 of them; token: known.
        ngrams = self.ngrams
        backoff = 0.0
        for start in range(len(history) + 1):
            suffix = history[start:]
            entry = ngrams[len(suffix)].get(suffix + (token,))
            if entry is not None:
                return backoff + entry[0]
            context_entry = ngrams[len(suffix) - 1].get(suffix) if suffix else None
            if context_entry is not None:
                backoff += context_entry[1]
        raise AssertionError(f"{token!r} is in the vocabulary but has no unigram")

    def initial_state(self, bos: bool = True) -> NGram:
        """The state before the first token: `(<s>,)`, or the empty history when `bos` is False."""
        return (BOS,) if bos and self.order > 1 else ()

    def advance(self, state: NGram, token: str) -> tuple[float, NGram]:
        """Score `token` after `state` and move on: -> (log10 p(token | state), next state).

        States are tuples of tokens, the shortest history that scores every continuation exactly as
        the full history would (KenLM's state minimisation), so equal states can be merged in a search.
        An out-of-vocabulary token is scored, and remembered, as `<unk>`.
        """
        token = self._known(token)
        score = self._log10_prob(state, token)
        if self.order == 1:
            return score, ()
        following = (state + (token,))[-(self.order - 1):]
        while following not in self._states:
            following = following[1:]
        return score, following

    def score_sentence(self, tokens: Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """log10 probability of a token sequence, with p(</s> | ...) at the end when `eos`.

        Equals KenLM's `Model.score(" ".join(tokens), bos=bos, eos=eos)`.
        """
        state = self.initial_state(bos)
        total = 0.0
        for token in list(tokens) + ([EOS] if eos else []):
            score, state = self.advance(state, token)
            total += score
        return total

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """10 ** (-sum of log10 probs / number of predicted tokens) over tokenised sentences.

        Each sentence is scored with `<s>` before and `</s>` after; `</s>` counts as a predicted token
        and out-of-vocabulary tokens are scored as `<unk>` and counted (KenLM's convention).
        """
        total, num_tokens = 0.0, 0
        for tokens in sentences:
            total += self.score_sentence(tokens)
            num_tokens += len(tokens) + 1
        if num_tokens == 0:
            raise ValueError("the perplexity of no sentence is undefined")
        return 10.0 ** (-total / num_tokens)


# ---------------------------------------------------------------------------------------------------
# Estimation


@dataclass(frozen=True)
class EstimationOptions:
    order: int = 3
    smoothing: str = "kneser-ney"
    unit: str = "word"
    add_k: float = 1.0  # add-k only: the pseudo-count added to every n-gram
    katz_max_count: int = 5  # katz only: counts up to this are discounted with Good-Turing
    min_count: int = 1  # tokens seen fewer times become <unk>

    def __post_init__(self) -> None:
        if self.order < 1:
            raise ValueError(f"order must be >= 1, got {self.order}")
        if self.smoothing not in SMOOTHINGS:
            raise ValueError(f"unknown smoothing {self.smoothing!r}; choose one of {list(SMOOTHINGS)}")
        if self.unit not in UNITS:
            raise ValueError(f"unknown LM unit {self.unit!r}; choose one of {list(UNITS)}")
        if not self.add_k > 0:
            raise ValueError(f"add_k must be > 0, got {self.add_k}")
        if self.katz_max_count < 1:
            raise ValueError(f"katz_max_count must be >= 1, got {self.katz_max_count}")
        if self.min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {self.min_count}")


def estimate(sentences: Iterable[Sequence[str]], order: int = 3, smoothing: str = "kneser-ney", *,
             unit: str = "word", add_k: float = 1.0, katz_max_count: int = 5, min_count: int = 1,
             vocabulary: Iterable[str] = ()) -> NGramModel:
    """Estimate an n-gram model from tokenised sentences (see `tokenize`); `<s>`/`</s>` are added here.

    Tokens seen fewer than `min_count` times are counted as `<unk>`; with the default 1, `<unk>` has no
    count and gets its probability from the smoothing alone (as do the extra `vocabulary` tokens, e.g.
    the characters of an acoustic vocabulary that the text lacks).
    """
    options = EstimationOptions(order=order, smoothing=smoothing, unit=unit, add_k=add_k,
                                katz_max_count=katz_max_count, min_count=min_count)
    counts, predictable = _count(sentences, options, vocabulary)
    if options.smoothing == "kneser-ney":
        ngrams = _kneser_ney(counts, predictable)
    elif options.smoothing == "katz":
        ngrams = _assemble_backoff(*_katz_levels(counts, predictable, options.katz_max_count), predictable)
    else:
        ngrams = _assemble_backoff(*_add_k_levels(counts, predictable, options.add_k), predictable)
    return NGramModel(options.order, options.unit, ngrams, smoothing=options.smoothing)


def _count(sentences: Iterable[Sequence[str]], options: EstimationOptions,
           vocabulary: Iterable[str]) -> tuple[list[Counter[NGram]], list[str]]:
    """-> raw counts per order (`counts[n - 1]`: n-gram -> count) and the predictable tokens.

    The predictable tokens are the vocabulary without `<s>`: the outcomes every distribution covers.
    Unigram counts leave `<s>` out; higher orders count it at the start of each sentence.
    """
    sentences = [list(tokens) for tokens in sentences]
    for index, tokens in enumerate(sentences):
        if BOS in tokens or EOS in tokens:
            raise ValueError(f"sentence {index + 1} contains {BOS} or {EOS}; they are added by the estimator")
    if not any(sentences):
        raise ValueError("no tokens to estimate a language model from")
    token_counts = Counter(token for tokens in sentences for token in tokens)
    if options.min_count > 1:
        rare = {token for token, count in token_counts.items() if count < options.min_count}
        sentences = [[UNK if token in rare else token for token in tokens] for tokens in sentences]
    counts: list[Counter[NGram]] = [Counter() for _ in range(options.order)]
    unigrams = counts[0]
    for tokens in sentences:
        padded = [BOS] + tokens + [EOS]
        unigrams.update(zip(padded[1:]))
        for length in range(2, options.order + 1):
            counts[length - 1].update(zip(*(padded[start:] for start in range(length))))
    predictable = list(dict.fromkeys([gram[0] for gram in unigrams] + [UNK, EOS] +
                                     [token for token in vocabulary if token != BOS]))
    return counts, predictable


def _kn_discounts(adjusted: Iterable[int], length: int) -> tuple[float, float, float, float]:
    """(0, D1, D2, D3+) from the counts-of-counts of one order's adjusted counts (Chen & Goodman)."""
    counts_of_counts = Counter(count for count in adjusted if 1 <= count <= 4)
    t1, t2, t3, t4 = (counts_of_counts[count] for count in (1, 2, 3, 4))
    if t1 and t2 and t3 and t4:
        y = t1 / (t1 + 2 * t2)
        discounts = (1 - 2 * y * t2 / t1, 2 - 3 * y * t3 / t2, 3 - 4 * y * t4 / t3)
        if all(0 < discount <= count for count, discount in enumerate(discounts, start=1)):
            return (0.0, *discounts)
    logger.warning("Kneser-Ney: %d-gram counts of counts (1-4: %d %d %d %d) give no valid discounts; "
                   "using %s", length, t1, t2, t3, t4, FALLBACK_KN_DISCOUNTS)
    return (0.0, *FALLBACK_KN_DISCOUNTS)


def _kneser_ney(counts: list[Counter[NGram]], predictable: list[str]) -> list[dict[NGram, Entry]]:
    order = len(counts)
    # Adjusted counts: raw counts at the highest order and for n-grams that begin with <s> (no word can
    # precede them); elsewhere the number of distinct words seen before the n-gram (continuation counts).
    adjusted: list[dict[NGram, int]] = [dict() for _ in range(order)]
    adjusted[order - 1] = dict(counts[order - 1])
    for length in range(order - 1, 0, -1):
        continuation: dict[NGram, int] = {}
        for gram in counts[length]:
            suffix = gram[1:]
            continuation[suffix] = continuation.get(suffix, 0) + 1
        level = adjusted[length - 1]
        for gram, count in counts[length - 1].items():
            level[gram] = count if gram[0] == BOS else continuation[gram]
    for token in predictable:
        adjusted[0].setdefault((token,), 0)  # <unk> and extra tokens: no count, only interpolated mass

    ngrams: list[dict[NGram, Entry]] = [dict() for _ in range(order)]
    lower_probs: dict[NGram, float] = {}
    uniform = 1.0 / len(predictable)
    for length in range(1, order + 1):
        level = adjusted[length - 1]
        discounts = _kn_discounts(level.values(), length)
        grams = list(level)
        contexts = [gram[:-1] for gram in grams]
        gram_counts = list(level.values())
        gram_discounts = [discounts[count] if count < 3 else discounts[3] for count in gram_counts]
        totals: dict[NGram, int] = {}
        discounted: dict[NGram, float] = {}
        for context, count, discount in zip(contexts, gram_counts, gram_discounts):
            totals[context] = totals.get(context, 0) + count
            discounted[context] = discounted.get(context, 0.0) + discount
        gammas = {context: discounted[context] / totals[context] for context in totals}
        lowers = [uniform] * len(grams) if length == 1 else [lower_probs[gram[1:]] for gram in grams]
        probs = {gram: (count - discount) / totals[context] + gammas[context] * lower
                 for gram, context, count, discount, lower in zip(grams, contexts, gram_counts, gram_discounts, lowers)}
        log10 = math.log10
        ngrams[length - 1] = {gram: (log10(prob), 0.0) for gram, prob in probs.items()}
        if length > 1:  # the interpolation weights of the contexts become their back-off weights
            lower_table = ngrams[length - 2]
            for context, gamma in gammas.items():
                lower_table[context] = (lower_table[context][0], math.log10(gamma))
        else:
            ngrams[0][(BOS,)] = (NO_PROBABILITY_LOG10, 0.0)
        lower_probs = probs
    return ngrams


def _katz_ratios(counts_of_counts: Counter[int], max_count: int, length: int) -> dict[int, float]:
    """Katz's discount ratio d_r (discounted count / count) for each count r <= the cut-off.

    Good-Turing with the largest cut-off k <= max_count for which every d_r lies in (0, 1]; where no
    cut-off gives that (some count of counts is zero), absolute discounting with D = n1 / (n1 + 2 n2).
    """
    for cutoff in range(max_count, 1, -1):
        n = [counts_of_counts[count] for count in range(1, cutoff + 2)]
        if not all(n):
            continue
        common = (cutoff + 1) * n[cutoff] / n[0]
        if common >= 1:
            continue
        ratios = {count: ((count + 1) * n[count] / (n[count - 1] * count) - common) / (1 - common)
                  for count in range(1, cutoff + 1)}
        if all(0 < ratio <= 1 for ratio in ratios.values()):
            return ratios
    n1, n2 = counts_of_counts[1], counts_of_counts[2]
    discount = n1 / (n1 + 2 * n2) if n1 and n2 else 0.5
    logger.warning("Katz: %d-gram counts of counts give no valid Good-Turing discounts; absolute "
                   "discount %.3f for counts <= %d", length, discount, max_count)
    return {count: (count - discount) / count for count in range(1, max_count + 1)}


def _katz_levels(counts: list[Counter[NGram]], predictable: list[str],
                 max_count: int) -> tuple[list[dict[NGram, float]], list[dict[NGram, float]]]:
    """Katz's discounted probabilities of the seen n-grams and the mass each context leaves over."""
    levels, leftovers = [], []
    for length, level in enumerate(counts, start=1):
        ratios = _katz_ratios(Counter(level.values()), max_count, length)
        totals: dict[NGram, int] = {}
        for gram, count in level.items():
            totals[gram[:-1]] = totals.get(gram[:-1], 0) + count
        # The left-over mass, summed from what each count gives up rather than as 1 - sum, so that a
        # context keeps a little exactly; when every count exceeds the cut-off it would keep nothing
        # (Katz's zero-probability gap), and then it keeps what one more count would give: 1/(c(h) + 1).
        kept: dict[NGram, float] = {}
        for gram, count in level.items():
            kept[gram[:-1]] = kept.get(gram[:-1], 0.0) + (1 - ratios.get(count, 1.0)) * count
        scale = {context: 1.0 if kept[context] > 0 else total / (total + 1) for context, total in totals.items()}
        leftover = {context: kept[context] / totals[context] if kept[context] > 0 else 1 / (totals[context] + 1)
                    for context in totals}
        probs = {gram: ratios.get(count, 1.0) * count / totals[gram[:-1]] * scale[gram[:-1]]
                 for gram, count in level.items()}
        if length == 1:  # no lower order: the left-over goes to the tokens with no count, if any
            unseen = [(token,) for token in predictable if (token,) not in probs]
            if unseen:
                probs.update({gram: leftover[()] / len(unseen) for gram in unseen})
            else:
                probs = {gram: count / totals[()] for gram, count in level.items()}
            leftover = {(): 0.0}
        levels.append(probs)
        leftovers.append(leftover)
    return levels, leftovers


def _add_k_levels(counts: list[Counter[NGram]], predictable: list[str],
                  add_k: float) -> tuple[list[dict[NGram, float]], list[dict[NGram, float]]]:
    """Add-k probabilities of the seen n-grams and the add-k mass of each context's unseen tokens."""
    num_predictable = len(predictable)
    levels, leftovers = [], []
    for length, level in enumerate(counts, start=1):
        totals: dict[NGram, int] = {}
        num_seen: Counter[NGram] = Counter()
        for gram, count in level.items():
            totals[gram[:-1]] = totals.get(gram[:-1], 0) + count
            num_seen[gram[:-1]] += 1
        if length == 1:
            total = totals[()]
            probs = {(token,): (level.get((token,), 0) + add_k) / (total + add_k * num_predictable)
                     for token in predictable}
            leftover = {(): 0.0}
        else:
            probs = {gram: (count + add_k) / (totals[gram[:-1]] + add_k * num_predictable)
                     for gram, count in level.items()}
            leftover = {context: add_k * (num_predictable - num_seen[context]) / (total + add_k * num_predictable)
                        for context, total in totals.items()}
        levels.append(probs)
        leftovers.append(leftover)
    return levels, leftovers


def _assemble_backoff(levels: list[dict[NGram, float]], leftovers: list[dict[NGram, float]],
                      predictable: list[str]) -> list[dict[NGram, Entry]]:
    """A back-off model from each order's seen probabilities and each context's left-over mass.

    The left-over mass beta(h) goes to the tokens unseen after h in proportion to the lower order:
    alpha(h) = beta(h) / (1 - sum over the seen w of p(w | h')), so every context sums to one. The lower
    order lists every h' w whose h w is seen (both come from the same sentences), so p(w | h') is read
    directly. A context followed by every token has nothing to give: its seen probabilities are rescaled
    to sum to one.
    """
    order = len(levels)
    ngrams: list[dict[NGram, Entry]] = [dict() for _ in range(order)]
    lower_probs = levels[0]
    ngrams[0] = {gram: (math.log10(prob), 0.0) for gram, prob in lower_probs.items()}
    ngrams[0][(BOS,)] = (NO_PROBABILITY_LOG10, 0.0)
    for length in range(2, order + 1):
        level, leftover = levels[length - 1], leftovers[length - 1]
        lower_mass: dict[NGram, float] = {}
        num_seen: Counter[NGram] = Counter()
        for gram in level:
            context = gram[:-1]
            lower_mass[context] = lower_mass.get(context, 0.0) + lower_probs[gram[1:]]
            num_seen[context] += 1
        scale: dict[NGram, float] = {}
        contexts = ngrams[length - 2]
        for context, mass in lower_mass.items():
            beta = leftover[context]
            if num_seen[context] >= len(predictable) or mass >= 1.0:
                scale[context] = 1.0 / (1.0 - beta)
                continue
            scale[context] = 1.0
            contexts[context] = (contexts[context][0], math.log10(beta / (1.0 - mass)))
        probs = {gram: prob * scale[gram[:-1]] for gram, prob in level.items()}
        ngrams[length - 1] = {gram: (math.log10(prob), 0.0) for gram, prob in probs.items()}
        lower_probs = probs
    return ngrams


# ---------------------------------------------------------------------------------------------------
# ARPA files


class ArpaFormatError(ValueError):
    """An ARPA file that cannot be read; the message names the file and the line."""

    def __init__(self, path: str | Path, line_number: int, message: str):
        self.path, self.line_number = str(path), line_number
        super().__init__(f"{path}:{line_number}: {message}")


_HEADER_COMMENT = "# asr n-gram language model:"
_COUNT_LINE = re.compile(r"ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION_LINE = re.compile(r"\\(\d+)-grams:$")


def _format_log10(value: float) -> str:
    # repr is the shortest text that reads back to the same float: write -> read is exact.
    return "-99" if value == NO_PROBABILITY_LOG10 else repr(value)


def write_arpa(model: NGramModel, path: str | Path) -> None:
    """Write `model` as an ARPA file (gzip-compressed when `path` ends in .gz).

    A comment line before `\\data\\` records the unit, order and smoothing (ARPA readers skip it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as stream:
        stream.write(f"{_HEADER_COMMENT} unit={model.unit} order={model.order} "
                     f"smoothing={model.smoothing or 'unknown'}\n\n\\data\\\n")
        for length, table in enumerate(model.ngrams, start=1):
            stream.write(f"ngram {length}={len(table)}\n")
        for length, table in enumerate(model.ngrams, start=1):
            stream.write(f"\n\\{length}-grams:\n")
            lines = []
            for gram, (log10_prob, log10_backoff) in table.items():
                line = f"{_format_log10(log10_prob)}\t{' '.join(gram)}"
                if log10_backoff != 0.0:
                    line += f"\t{_format_log10(log10_backoff)}"
                lines.append(line)
            stream.write("\n".join(lines))
            stream.write("\n")
        stream.write("\n\\end\\\n")


def read_arpa(path: str | Path, unit: str | None = None) -> NGramModel:
    """Read an ARPA file (plain or .gz) into an `NGramModel`.

    `unit` defaults to the one our writer records in its header comment, else "char" when `<space>` is
    a unigram, else "word". A file without `<unk>` gets one at log10 probability -100, as KenLM does.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ARPA file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    declared: dict[int, tuple[int, int]] = {}  # order -> (count, line number of its `ngram` line)
    ngrams: list[dict[NGram, Entry]] = []
    recorded_unit = smoothing = None
    stage = "preamble"  # preamble -> counts -> section n -> end
    length = 0
    line_number = 0
    section_line = 0
    try:
        with opener(path, "rt", encoding="utf-8") as stream:
            for line_number, raw in enumerate(stream, start=1):
                line = raw.strip()
                if stage == "preamble":
                    if line.startswith(_HEADER_COMMENT):
                        fields = dict(field.split("=", 1) for field in line[len(_HEADER_COMMENT):].split()
                                      if "=" in field)
                        recorded_unit, smoothing = fields.get("unit"), fields.get("smoothing")
                    elif line == "\\data\\":
                        stage = "counts"
                    continue
                if not line:
                    continue
                if line == "\\end\\":
                    stage = "end"
                    break
                section = _SECTION_LINE.match(line)
                if section:
                    new_length = int(section.group(1))
                    if stage == "counts" and not declared:
                        raise ArpaFormatError(path, line_number, "no 'ngram N=count' line after \\data\\")
                    if new_length != length + 1 or new_length not in declared:
                        raise ArpaFormatError(path, line_number, f"section \\{new_length}-grams: out of order "
                                              f"or not declared (declared orders: {sorted(declared)})")
                    _check_section_size(path, declared, length, ngrams, section_line)
                    length, section_line, stage = new_length, line_number, "section"
                    ngrams.append({})
                    continue
                if stage == "counts":
                    match = _COUNT_LINE.match(line)
                    if not match:
                        raise ArpaFormatError(path, line_number, f"expected 'ngram N=count', got {line[:60]!r}")
                    declared[int(match.group(1))] = (int(match.group(2)), line_number)
                    continue
                fields = line.split()
                highest = length == len(declared)
                if len(fields) not in (length + 1, length + 2):
                    raise ArpaFormatError(path, line_number, f"a {length}-gram line needs a log10 probability, "
                                          f"{length} tokens and an optional back-off weight; got {len(fields)} fields")
                try:
                    log10_prob = float(fields[0])
                    log10_backoff = float(fields[length + 1]) if len(fields) == length + 2 else 0.0
                except ValueError:
                    raise ArpaFormatError(path, line_number, f"not a number in {line[:60]!r}") from None
                if highest and log10_backoff != 0.0:
                    raise ArpaFormatError(path, line_number, "an n-gram of the highest order has a back-off weight")
                gram = tuple(fields[1:length + 1])
                if gram in ngrams[-1]:
                    raise ArpaFormatError(path, line_number, f"duplicate {length}-gram {' '.join(gram)!r}")
                ngrams[-1][gram] = (log10_prob, log10_backoff)
    except (UnicodeDecodeError, OSError, EOFError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ArpaFormatError(path, line_number + 1, f"unreadable ({error})") from error
    if stage != "end":
        where = "no \\data\\ line" if stage == "preamble" else "the file ends without \\end\\"
        raise ArpaFormatError(path, line_number, where)
    _check_section_size(path, declared, length, ngrams, section_line)
    if length != len(declared) or length == 0:
        raise ArpaFormatError(path, line_number, f"{len(declared)} orders declared, {length} sections found")
    if (UNK,) not in ngrams[0]:
        logger.warning("%s has no %s; it gets log10 probability %g", path, UNK, MISSING_UNK_LOG10)
        ngrams[0][(UNK,)] = (MISSING_UNK_LOG10, 0.0)
    if unit is None:
        unit = recorded_unit if recorded_unit in UNITS else "char" if (SPACE,) in ngrams[0] else "word"
    return NGramModel(len(ngrams), unit, ngrams, smoothing=smoothing)


def _check_section_size(path: Path, declared: dict[int, tuple[int, int]], length: int,
                        ngrams: list[dict[NGram, Entry]], section_line: int) -> None:
    if length == 0:
        return
    expected, count_line = declared[length]
    if len(ngrams[length - 1]) != expected:
        raise ArpaFormatError(path, section_line, f"section \\{length}-grams: holds {len(ngrams[length - 1])} "
                              f"n-grams, line {count_line} declares {expected}")
