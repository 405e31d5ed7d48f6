"""CTC prefix beam search with shallow fusion of an n-gram LM, hotword boosting and n-best output.

The search runs in one numba-compiled function per utterance (`_prefix_search`); Python only
prepares arrays and turns the result into `Hypothesis` objects. A batch is decoded utterance by
utterance, either in a loop or on a thread pool (the compiled function releases the GIL).

Data layout, chosen so that the hot loop touches only flat arrays:
- Every prefix ever considered is a node of a trie stored in arrays (parent, last token, depth), so
  a prefix is one int and extending it is one hash look-up ((parent, token) -> child).
- Everything that depends on the prefix alone is computed once, when its node is created, and
  cached on the node: the LM state, the spelling state of the word being written, the hotword
  state, and `extra`, the prefix's non-acoustic score (alpha * LM + beta * units + hotword bonus).
- A beam entry is (node, log p_blank, log p_nonblank), the two CTC path sums of prefix search. The
  beam keeps the beam_size best of these halves (an entry may keep one), as pyctcdecode keeps its
  beams per prefix and last character. When one hypothesis is asked for, candidates that share their
  fusion state and last token are recombined: one no better than another in both halves is ranked
  behind all others, so it keeps a place only in a beam with room for every candidate.
  Candidates of one frame are merged by node through a per-node slot stamped with the frame.

Speed: the search spends its time on a few hundred candidates per frame, so per-candidate overheads
decide it. numba reference-counts an array variable that a loop reassigns, with atomic operations, on
every iteration, and every array passed to a compiled function; so no array is replaced inside the
per-candidate loops (room for a frame's new nodes is made before them), and the helpers called per
candidate are compiled without numba's runtime (`_jit_leaf`). Each measured about half, then a fifth,
of the search's time.

Scores are natural logarithms. A hypothesis' score is log P_ctc(prefix) + extra, where extra also
holds the end-of-sentence LM score once the utterance ends.

LM fusion:
- word LM: a word is scored when a `<space>` ends it (and at the end of the utterance); the word
  being spelled is tracked in a trie of the LM's words spelled in acoustic tokens, so a prefix that
  leaves every known word is scored as `<unk>` at once instead of at its end. A word the LM does not
  know scores as `<unk>` in its context (as KenLM does) plus `unk_score`, an offset (as pyctcdecode's
  unk_score_offset), so that an LM whose `<unk>` is likely does not fill the output with made-up words.
- char LM: every non-blank token is one LM unit (its vocabulary spelling, `<space>` included).
- beta (`word_bonus`) is added per LM unit: per word with a word LM or without LM, per token with
  a char LM, so it offsets the LM's cost per unit.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import torch

from asr.config import DecodingConfig
from asr.decoding.hypothesis import Hypothesis
from asr.text import BLANK_ID, Vocabulary

logger = logging.getLogger(__name__)

LN10 = math.log(10.0)
LN2 = math.log(2.0)
NO_LM, WORD_LM, CHAR_LM = 0, 1, 2
NEG_INF = -np.inf
DEMOTED = 1e9  # subtracted from the rank of a recombined candidate's halves: behind every other, in order


def _jit(function):
    """numba.njit with an on-disk cache when the package directory (or numba's cache dir) is writable."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available": compile on each run instead
        return numba.njit(cache=False, nogil=True)(function)


def _numba_accepts_no_runtime() -> bool:
    try:
        from numba.core.cpu import CPUTargetOptions
    except ImportError:
        return False
    return hasattr(CPUTargetOptions, "_nrt")


def _jit_leaf(function):
    """`_jit` for the small helpers the search calls per candidate, which read and write arrays but never
    allocate or return one: compiled without numba's runtime (`_nrt=False`, numba's switch for such
    code), so that a call does not reference-count each array argument with atomic operations, which
    took about a fifth of the search's time. A numba without the switch compiles them as `_jit` does."""
    if not _numba_accepts_no_runtime():
        return _jit(function)
    try:
        return numba.njit(cache=True, nogil=True, _nrt=False)(function)
    except RuntimeError:
        return numba.njit(cache=False, nogil=True, _nrt=False)(function)


# ---------------------------------------------------------------------------------------------------
# Hash tables of int64 keys -> int32 values (open addressing, linear probing), usable inside numba.

@_jit_leaf
def _slot_of(key, mask):
    return np.int64((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(33)) & mask


@_jit_leaf
def _find(keys, values, key):
    mask = keys.shape[0] - 1
    slot = _slot_of(key, mask)
    while True:
        stored = keys[slot]
        if stored == key:
            return values[slot]
        if stored == -1:
            return -1
        slot = (slot + 1) & mask


@_jit_leaf
def _insert(keys, values, key, value):
    mask = keys.shape[0] - 1
    slot = _slot_of(key, mask)
    while keys[slot] != -1 and keys[slot] != key:
        slot = (slot + 1) & mask
    keys[slot] = key
    values[slot] = value


@_jit
def _build_table(key_array, value_array):
    size = 16
    while size < 2 * key_array.shape[0]:
        size *= 2
    keys = np.full(size, -1, np.int64)
    values = np.full(size, -1, np.int32)
    for index in range(key_array.shape[0]):
        _insert(keys, values, key_array[index], value_array[index])
    return keys, values


def _table(pairs: Mapping[int, int] | tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(pairs, tuple):
        key_array, value_array = pairs
    else:
        key_array = np.fromiter(pairs.keys(), np.int64, len(pairs))
        value_array = np.fromiter(pairs.values(), np.int32, len(pairs))
    return _build_table(np.ascontiguousarray(key_array, np.int64), np.ascontiguousarray(value_array, np.int32))


# ---------------------------------------------------------------------------------------------------
# The n-gram scorer: a backoff model compiled into arrays.


@dataclass(frozen=True)
class NgramTables:
    """A backoff n-gram model in arrays, for the compiled search.

    Node 0 is the empty context; every n-gram is a node whose parent is its first n-1 words.
    `keys/values` map parent * num_words + word -> node. `suffix[node]` is the node of the longest
    proper suffix of its words that the model holds, the context after backing off once.
    Probabilities and backoff weights are natural logs.
    """

    words: tuple[str, ...]
    order: int
    keys: np.ndarray  # (S,) int64
    values: np.ndarray  # (S,) int32
    logp: np.ndarray  # (N,) float64
    backoff: np.ndarray  # (N,) float64
    suffix: np.ndarray  # (N,) int32
    node_order: np.ndarray  # (N,) int32, 0 for the root
    bos_state: int  # context at the start of a sentence: the node of <s>, or the root
    eos_word: int  # id of </s>, or -1
    unk_word: int  # id of <unk>, or -1
    unit: str = ""  # "word" or "char" when known (asr.decoding.lm records it), else "" (guessed from the words)

    @classmethod
    def from_model(cls, model) -> NgramTables:
        """From an `asr.decoding.lm.NGramModel` (log10 scores, `ngrams[n - 1]` per order, a unit)."""
        merged = {gram: entry for table in model.ngrams for gram, entry in table.items()}
        return dataclasses.replace(cls.from_ngrams(merged), unit=model.unit)

    @property
    def word_ids(self) -> dict[str, int]:
        return {word: index for index, word in enumerate(self.words)}

    @classmethod
    def from_ngrams(cls, ngrams: Mapping[tuple[str, ...], tuple[float, float]], log_base: float = 10.0) -> NgramTables:
        """n-grams `{(w1, ..., wn): (log prob, log backoff)}` as an ARPA file holds them (log base 10 by default).

        Every n-gram's first n-1 words must themselves be an n-gram of the model (ARPA requires it).
        """
        scale = math.log(log_base)
        unigrams = sorted(words[0] for words in ngrams if len(words) == 1)
        if not unigrams:
            raise ValueError("the n-gram model has no unigrams")
        word_id = {word: index for index, word in enumerate(unigrams)}
        num_words = len(unigrams)
        by_order = sorted(ngrams, key=len)
        order = len(by_order[-1])
        node_of: dict[tuple[str, ...], int] = {(): 0}
        logp, backoff, node_order, parent_keys = [0.0], [0.0], [0], []
        for words in by_order:
            parent = node_of.get(words[:-1])
            if parent is None:
                raise ValueError(f"n-gram {' '.join(words)!r} has no entry for its context {' '.join(words[:-1])!r}")
            last = word_id.get(words[-1])
            if last is None:
                raise ValueError(f"n-gram {' '.join(words)!r} uses {words[-1]!r}, which is not a unigram")
            node_of[words] = len(logp)
            log_prob, log_backoff = ngrams[words]
            logp.append(log_prob * scale)
            backoff.append(log_backoff * scale)
            node_order.append(len(words))
            parent_keys.append(parent * num_words + last)
        suffix = np.zeros(len(logp), np.int32)
        for words, node in node_of.items():
            for start in range(1, len(words) + 1):  # the longest proper suffix that the model holds
                found = node_of.get(words[start:])
                if found is not None:
                    suffix[node] = found
                    break
        keys, values = _table((np.asarray(parent_keys, np.int64), np.arange(1, len(logp), dtype=np.int32)))
        bos_state = node_of.get(("<s>",), 0)
        return cls(tuple(unigrams), order, keys, values, np.asarray(logp), np.asarray(backoff), suffix,
                   np.asarray(node_order, np.int32), bos_state, word_id.get("</s>", -1), word_id.get("<unk>", -1))

    def score(self, context: Sequence[str], word: str) -> float:
        """Natural-log probability of `word` after the words of `context` (for tests and reports)."""
        ids = self.word_ids
        state = 0
        for item in context:
            state = self._step(state, ids[item])[1]
        return self._step(state, ids[word])[0]

    def _step(self, state: int, word: int) -> tuple[float, int]:
        logp, next_state = _lm_score(state, word, len(self.words), self.keys, self.values, self.logp, self.backoff,
                                     self.suffix, self.node_order, self.order)
        return float(logp), int(next_state)


@_jit_leaf
def _lm_score(state, word, num_words, keys, values, logp, backoff, suffix, node_order, order):
    """(natural-log probability of `word` after context node `state`, the context node after it)."""
    total = 0.0
    context = state
    while True:
        child = _find(keys, values, np.int64(context) * num_words + word)
        if child >= 0:
            total += logp[child]
            if node_order[child] >= order:  # a full-order n-gram: its suffix is the next context
                return total, suffix[child]
            return total, child
        if context == 0:
            return -np.inf, 0  # not even a unigram: cannot happen for word ids of the model
        total += backoff[context]
        context = suffix[context]


@_jit_leaf
def _lm_unit(state, word, unk_word, unk_offset, num_words, keys, values, logp, backoff, suffix, node_order, order):
    """Like `_lm_score`, with word -1 standing for a unit the LM does not know: scored as <unk> (or as
    nothing, for an LM without <unk>). Returns (log-prob, next state, penalty): the penalty is
    `unk_offset` for an unknown unit, 0 otherwise, and is added to the fused score unweighted (the
    LM weight scales the log-prob only, as in pyctcdecode)."""
    if word >= 0:
        word_logp, next_state = _lm_score(state, word, num_words, keys, values, logp, backoff, suffix, node_order,
                                          order)
        return word_logp, next_state, 0.0
    if unk_word >= 0:
        unk_logp, next_state = _lm_score(state, unk_word, num_words, keys, values, logp, backoff, suffix, node_order,
                                         order)
        return unk_logp, next_state, unk_offset
    return 0.0, 0, unk_offset


# ---------------------------------------------------------------------------------------------------
# Compiled LM and hotwords for one acoustic vocabulary.


def _empty_table() -> tuple[np.ndarray, np.ndarray]:
    return np.full(16, -1, np.int64), np.full(16, -1, np.int32)


@dataclass(frozen=True)
class FusionArrays:
    """Everything the compiled search needs besides the emissions, as arrays of fixed dtypes."""

    lm_kind: int
    num_lm_words: int
    lm_keys: np.ndarray
    lm_values: np.ndarray
    lm_logp: np.ndarray
    lm_backoff: np.ndarray
    lm_suffix: np.ndarray
    lm_node_order: np.ndarray
    lm_order: int
    bos_state: int
    eos_word: int
    unk_word: int  # id of <unk>, or -1
    unk_offset: float  # added to the LM score of a unit the LM does not know
    token_word: np.ndarray  # (V,) char LM: LM word id of each acoustic token (-1: unknown)
    spell_keys: np.ndarray  # word LM: trie of LM words spelled in tokens: node * V + token -> child
    spell_values: np.ndarray
    spell_word: np.ndarray  # (num spelling nodes,) LM word id ending at the node, or -1
    hot_keys: np.ndarray  # hotwords: Aho-Corasick automaton over token ids
    hot_values: np.ndarray
    hot_fail: np.ndarray  # (H,) int32
    hot_score: np.ndarray  # (H,) float64: bonus of the partial match ending at the node
    hot_end: np.ndarray  # (H,) bool: a whole hotword ends here

    def arguments(self) -> tuple:
        return (self.lm_kind, self.num_lm_words, self.lm_keys, self.lm_values, self.lm_logp, self.lm_backoff,
                self.lm_suffix, self.lm_node_order, self.lm_order, self.bos_state, self.eos_word, self.unk_word,
                self.unk_offset, self.token_word, self.spell_keys, self.spell_values, self.spell_word, self.hot_keys,
                self.hot_values, self.hot_fail, self.hot_score, self.hot_end)


def lm_unit_of_token(token: str) -> str:
    """The LM word that stands for an acoustic token in a character LM: the token itself (`<space>` too)."""
    return token


def compile_fusion(vocabulary: Vocabulary, lm: NgramTables | None = None, lm_kind: str = "auto",
                   unk_score: float = -10.0, hotwords: Iterable[str] = (), hotword_weight: float = 2.0) -> FusionArrays:
    """Arrays for `_prefix_search` from an acoustic vocabulary, an optional LM and hotwords.

    lm_kind: "word" (scored at `<space>`), "char" (scored per token) or "auto": the LM's unit when it
    records one, else char when every LM unigram other than <s>, </s>, <unk> is a token of the
    vocabulary, else word. unk_score: offset added to the LM score of a unit the LM does not know.
    """
    vocab_size = len(vocabulary)
    token_word = np.full(vocab_size, -1, np.int32)
    spell_keys, spell_values = _empty_table()
    spell_word = np.full(1, -1, np.int32)
    if lm is None:
        kind = NO_LM
        lm_arrays = (0, *_empty_table(), np.zeros(1), np.zeros(1), np.zeros(1, np.int32), np.zeros(1, np.int32), 1,
                     0, -1, 0, 0.0)
    else:
        kind = _lm_kind(vocabulary, lm, lm_kind)
        ids = lm.word_ids
        lm_arrays = (len(lm.words), lm.keys, lm.values, lm.logp, lm.backoff, lm.suffix, lm.node_order, lm.order,
                     lm.bos_state, lm.eos_word, lm.unk_word, float(unk_score))
        if kind == CHAR_LM:
            for index, token in enumerate(vocabulary.tokens):
                token_word[index] = ids.get(lm_unit_of_token(token), -1)
            token_word[BLANK_ID] = -1
        else:
            spell_keys, spell_values, spell_word = _spelling_trie(vocabulary, lm.words)
    hot = _hotword_automaton(vocabulary, hotwords, hotword_weight)
    return FusionArrays(kind, *lm_arrays, token_word, spell_keys, spell_values, spell_word, *hot)


def _lm_kind(vocabulary: Vocabulary, lm: NgramTables, requested: str) -> int:
    if requested == "word":
        return WORD_LM
    if requested == "char":
        return CHAR_LM
    if requested != "auto":
        raise ValueError(f"lm_kind must be auto, word or char, got {requested!r}")
    if lm.unit in ("word", "char"):
        return WORD_LM if lm.unit == "word" else CHAR_LM
    tokens = set(vocabulary.tokens)
    content = [word for word in lm.words if word not in ("<s>", "</s>", "<unk>")]
    return CHAR_LM if content and all(word in tokens for word in content) else WORD_LM


def _spelling_trie(vocabulary: Vocabulary, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trie of the LM's words spelled in acoustic token ids; words the vocabulary cannot spell are left out."""
    vocab_size = len(vocabulary)
    children: dict[int, int] = {}
    ends = [-1]
    skipped = 0
    for word_id, word in enumerate(words):
        if word in ("<s>", "</s>", "<unk>"):
            continue
        try:
            tokens = vocabulary.encode(word)
        except ValueError:
            skipped += 1
            continue
        if not tokens or vocabulary.space_id in tokens:
            skipped += 1
            continue
        node = 0
        for token in tokens:
            key = node * vocab_size + token
            if key not in children:
                children[key] = len(ends)
                ends.append(-1)
            node = children[key]
        ends[node] = word_id
    if skipped:
        logger.info("%d LM words cannot be spelled with the acoustic vocabulary and are never hypothesised", skipped)
    keys, values = _table(children) if children else _empty_table()
    return keys, values, np.asarray(ends, np.int32)


def _hotword_automaton(vocabulary: Vocabulary, hotwords: Iterable[str], weight: float) -> tuple:
    """Aho-Corasick automaton over the token ids of the hotwords: goto table, fail links, partial bonus."""
    vocab_size = len(vocabulary)
    children: dict[int, int] = {}
    depth, end = [0], [False]
    child_lists: list[list[tuple[int, int]]] = [[]]
    for hotword in hotwords:
        tokens = vocabulary.encode(hotword, item_id=f"hotword {hotword!r}")
        node = 0
        for token in tokens:
            key = node * vocab_size + token
            if key not in children:
                children[key] = len(depth)
                child_lists[node].append((token, len(depth)))
                depth.append(depth[node] + 1)
                end.append(False)
                child_lists.append([])
            node = children[key]
        if tokens:
            end[node] = True
    fail = [0] * len(depth)
    queue = [child for _, child in child_lists[0]]
    while queue:  # breadth first, so a node's fail link is computed before its children need it
        node = queue.pop(0)
        for token, child in child_lists[node]:
            target = fail[node]
            while target and (target * vocab_size + token) not in children:
                target = fail[target]
            candidate = children.get(target * vocab_size + token, 0)
            fail[child] = candidate if candidate != child else 0
            queue.append(child)
    keys, values = _table(children) if children else _empty_table()
    return (keys, values, np.asarray(fail, np.int32), weight * np.asarray(depth, np.float64), np.asarray(end, np.bool_))


# ---------------------------------------------------------------------------------------------------
# The compiled search.


@_jit_leaf
def _logaddexp(first, second):
    if first < second:
        first, second = second, first
    if second == -np.inf or first - second > 40.0:  # exp(-40) vanishes next to 1 in float64
        return first
    return first + math.log1p(math.exp(second - first))


@_jit_leaf
def _same_slot(node, mark, size, stamps, holders, holder_nodes, lm_state, spell, hot_state, last):
    """The slot of `node`'s recombination key (LM context, spelling and hotword state, last token) in a
    table whose live slots carry the stamp `mark` and name a holder, `holder_nodes[holders[slot]]` being
    a node with that key: the key's slot, or the free slot where it goes."""
    key = ((np.int64(lm_state[node]) * 1000003 + spell[node]) * 1000003 + hot_state[node]) * 1009 + last[node]
    position = _slot_of(key, size - 1)
    while stamps[position] == mark:
        other = holder_nodes[holders[position]]
        if (lm_state[other] == lm_state[node] and spell[other] == spell[node] and hot_state[other] == hot_state[node]
                and last[other] == last[node]):
            break
        position = (position + 1) & (size - 1)
    return position


@_jit
def _grow(array, size):
    grown = np.empty(size, array.dtype)
    grown[:array.shape[0]] = array
    return grown


@_jit
def _finish_score(node, extra, lm_state, spell, hot_state, fusion_args, alpha, beta):
    """Non-acoustic score of a prefix once the utterance ends: its last word and </s>, no partial hotword."""
    (lm_kind, num_lm_words, lm_keys, lm_values, lm_logp, lm_backoff, lm_suffix, lm_node_order, lm_order, bos_state,
     eos_word, unk_word, unk_offset, token_word, spell_keys, spell_values, spell_word, hot_keys, hot_values, hot_fail,
     hot_score, hot_end) = fusion_args
    score = extra[node] - hot_score[hot_state[node]]
    state = lm_state[node]
    if lm_kind == 1:
        if spell[node] != 0:
            if spell[node] > 0:  # (-1: an unknown word, scored when it left the LM's words)
                word_logp, state, penalty = _lm_unit(state, spell_word[spell[node]], unk_word, unk_offset,
                                                     num_lm_words, lm_keys, lm_values, lm_logp, lm_backoff, lm_suffix,
                                                     lm_node_order, lm_order)
                score += alpha * word_logp + penalty
            score += beta
    elif lm_kind == 0:
        if spell[node] != 0:
            score += beta
    if lm_kind != 0 and eos_word >= 0:
        eos_logp, state = _lm_score(state, eos_word, num_lm_words, lm_keys, lm_values, lm_logp, lm_backoff, lm_suffix,
                                    lm_node_order, lm_order)
        score += alpha * eos_logp
    return score


def initial_nodes(num_frames: int, beam_size: int) -> int:
    """Prefix nodes to make room for before a search: about as many as it usually creates (1.5 per beam
    entry and frame, measured on English speech), so that growing (a copy of every array and a rehash of
    the child table) is rare; at most 2**18 (25 MB with the child table), beyond which a search grows."""
    return max(256, min(num_frames * beam_size * 3 // 2, 1 << 18))


@_jit
def _prefix_search(log_probs, num_frames, blank, space, beam_size, token_top_k, token_min_logp, beam_threshold,
                   alpha, beta, nbest, letter_gain, space_gain, node_room, fusion_args):
    """Prefix beam search over log_probs `(T, V)` (float32, first `num_frames` rows).

    letter_gain, space_gain: upper bounds of what a prefix's non-acoustic score can grow by when a
    token other than `space`, or `space`, extends it (see `CTCBeamSearchDecoder._max_gains`);
    extensions that could not reach the beam even so are skipped before their node is looked up.
    node_room: room for this many prefix nodes up front (see `initial_nodes`); more are made on demand.

    Returns tokens `(nbest, L)` int32 (padded with -1), token_lens `(nbest,)`, frames `(nbest, L)`,
    scores `(nbest,)` (fused) and acoustic scores `(nbest,)` (log P_ctc of the prefix), best first.
    """
    (lm_kind, num_lm_words, lm_keys, lm_values, lm_logp, lm_backoff, lm_suffix, lm_node_order, lm_order, bos_state,
     eos_word, unk_word, unk_offset, token_word, spell_keys, spell_values, spell_word, hot_keys, hot_values, hot_fail,
     hot_score, hot_end) = fusion_args
    vocab_size = log_probs.shape[1]

    # The prefix trie; node 0 is the empty prefix.
    capacity = 2
    while capacity < node_room:
        capacity *= 2
    parent = np.zeros(capacity, np.int32)
    last = np.full(capacity, -1, np.int32)
    depth = np.zeros(capacity, np.int32)
    frame = np.zeros(capacity, np.int32)
    extra = np.zeros(capacity, np.float64)
    lm_state = np.zeros(capacity, np.int32)
    spell = np.zeros(capacity, np.int32)
    hot_state = np.zeros(capacity, np.int32)
    slot = np.zeros(capacity, np.int32)
    stamp = np.full(capacity, -1, np.int32)
    child_mark = np.full(capacity, -2, np.int32)  # frame after which some child of the node was in the beam
    lm_state[0] = bos_state if lm_kind != 0 else 0
    num_nodes = 1
    child_keys = np.full(4 * capacity, -1, np.int64)
    child_values = np.full(4 * capacity, -1, np.int32)

    max_candidates = beam_size * (vocab_size + 1)
    cand_node = np.zeros(max_candidates, np.int32)
    cand_blank = np.zeros(max_candidates, np.float64)
    cand_nonblank = np.zeros(max_candidates, np.float64)
    cand_extended = np.zeros(max_candidates, np.float64)  # the part of cand_nonblank that emitted the token now
    cand_score = np.zeros(2 * max_candidates, np.float64)  # a blank and a non-blank half per candidate
    # Recombination (1-best only): candidates whose futures score alike, keyed by their fusion state and
    # last token, in an open-addressing table whose live slots are stamped with the frame.
    recombine = nbest == 1
    same_size = 4
    while same_size < 2 * max_candidates:
        same_size *= 2
    same_stamp = np.full(same_size, -1, np.int32)
    same_leader = np.zeros(same_size, np.int32)  # per key: the candidate (or beam entry) that others are held to
    same_stay_blank = np.zeros(same_size, np.float64)  # (for the bound on the beam: per key of the entries,
    same_stay_token = np.zeros(same_size, np.float64)  # the best of their halves' bounds)
    key_slots = np.zeros(beam_size, np.int32)
    stay_bounds = np.zeros(2 * beam_size, np.float64)

    beam_node = np.zeros(beam_size, np.int32)
    beam_blank = np.zeros(beam_size, np.float64)
    beam_nonblank = np.full(beam_size, -np.inf)
    beam_total = np.zeros(beam_size, np.float64)
    beam_len = 1
    kept_tokens = np.zeros(vocab_size, np.int64)
    kept_at = np.full(vocab_size, -1, np.int32)  # the frame at which each token was last among the kept
    limit = vocab_size if token_top_k <= 0 else min(token_top_k, vocab_size)

    for time in range(num_frames):
        row = log_probs[time]
        # Tokens that may extend or continue a prefix at this frame: above the threshold (the best one
        # always), most likely first, at most k of them. Most frames of a trained model pass one or two.
        best_token = 0
        for token in range(vocab_size):
            if row[token] > row[best_token]:
                best_token = token
        num_kept = 0
        for token in range(vocab_size):
            if row[token] >= token_min_logp or token == best_token:
                position = num_kept  # insertion sort, descending log-prob
                while position > 0 and row[kept_tokens[position - 1]] < row[token]:
                    kept_tokens[position] = kept_tokens[position - 1]
                    position -= 1
                kept_tokens[position] = token
                num_kept += 1
        num_kept = min(num_kept, limit)
        blank_logp = -np.inf
        for kept in range(num_kept):
            token = kept_tokens[kept]
            kept_at[token] = time
            if token == blank:
                blank_logp = np.float64(row[blank])

        # A bound below which no candidate half can enter the beam. Each entry stays a candidate: its
        # blank half is at least its total times the blank, its non-blank half at least its paths that
        # repeat its last token, so the beam_size-th best half is at least the beam_size-th best of these
        # bounds. (Counting the repeat matters: within a letter's run of frames the blank is unlikely and
        # the bound would be loose without it.) Under recombination, candidates that share a key may leave
        # one half of each kind between them, so the bounds are taken per key, each its entries' best.
        num_keys = 0
        entry_mark = -3 - time  # a stamp that no candidate of any frame carries
        for entry in range(beam_len):
            node = beam_node[entry]
            beam_total[entry] = _logaddexp(beam_blank[entry], beam_nonblank[entry])
            stay_blank = beam_total[entry] + blank_logp + extra[node]
            stay_token = -np.inf
            if node != 0 and kept_at[last[node]] == time:
                stay_token = beam_nonblank[entry] + np.float64(row[last[node]]) + extra[node]
            if recombine:
                position = _same_slot(node, entry_mark, same_size, same_stamp, same_leader, beam_node, lm_state,
                                      spell, hot_state, last)
                if same_stamp[position] != entry_mark:
                    same_stamp[position] = entry_mark
                    same_leader[position] = entry
                    key_slots[num_keys] = position
                    num_keys += 1
                    same_stay_blank[position] = stay_blank
                    same_stay_token[position] = stay_token
                else:
                    same_stay_blank[position] = max(same_stay_blank[position], stay_blank)
                    same_stay_token[position] = max(same_stay_token[position], stay_token)
            else:
                stay_bounds[2 * entry] = stay_blank
                stay_bounds[2 * entry + 1] = stay_token
        num_bounds = 2 * beam_len
        if recombine:
            num_bounds = 2 * num_keys
            for key in range(num_keys):
                stay_bounds[2 * key] = same_stay_blank[key_slots[key]]
                stay_bounds[2 * key + 1] = same_stay_token[key_slots[key]]
        cutoff = stay_bounds[:num_bounds].max() - beam_threshold
        if num_bounds >= beam_size:
            kth = np.partition(stay_bounds[:num_bounds], num_bounds - beam_size)[num_bounds - beam_size]
            if kth > cutoff:
                cutoff = kth

        # Room for every node this frame can create (one per entry and kept token at most), made here so
        # that no array is replaced inside the loops below: numba reference-counts an array variable that
        # a loop reassigns on every iteration, which once took half of the search's time.
        needed = num_nodes + beam_len * num_kept
        if needed > capacity:
            while capacity < needed:
                capacity *= 2
            parent = _grow(parent, capacity)
            last = _grow(last, capacity)
            depth = _grow(depth, capacity)
            frame = _grow(frame, capacity)
            extra = _grow(extra, capacity)
            lm_state = _grow(lm_state, capacity)
            spell = _grow(spell, capacity)
            hot_state = _grow(hot_state, capacity)
            slot = _grow(slot, capacity)
            stamp = _grow(stamp, capacity)
            stamp[num_nodes:] = -1
            child_mark = _grow(child_mark, capacity)
            child_mark[num_nodes:] = -2
        if 2 * needed >= child_keys.shape[0]:  # the child table stays at most half full
            old_keys, old_values = child_keys, child_values
            size = old_keys.shape[0]
            while 2 * needed >= size:
                size *= 4
            child_keys = np.full(size, -1, np.int64)
            child_values = np.full(size, -1, np.int32)
            for old in range(old_keys.shape[0]):
                if old_keys[old] != -1:
                    _insert(child_keys, child_values, old_keys[old], old_values[old])

        num_candidates = 0
        for entry in range(beam_len):
            node = beam_node[entry]
            p_blank = beam_blank[entry]
            p_nonblank = beam_nonblank[entry]
            p_total = beam_total[entry]
            # Skipping an extension is exact when the child gets no other probability this frame, i.e.
            # when no child of this node was in the beam.
            may_skip = child_mark[node] != time - 1
            reachable = cutoff - extra[node]
            for kept in range(num_kept):
                token = kept_tokens[kept]
                logp = np.float64(row[token])
                if token == blank:
                    target, add_blank, add_nonblank = node, p_total + logp, -np.inf
                elif token == last[node]:
                    # The repeated token continues the prefix (no blank between), or extends it after a blank.
                    # (Opening a candidate slot is written out here and below: as a shared jitted function,
                    # even with inline="always", the search ran 25-30% slower.)
                    if stamp[node] != time:
                        stamp[node] = time
                        slot[node] = num_candidates
                        cand_node[num_candidates] = node
                        cand_blank[num_candidates] = -np.inf
                        cand_nonblank[num_candidates] = -np.inf
                        cand_extended[num_candidates] = -np.inf
                        num_candidates += 1
                    index = slot[node]
                    cand_nonblank[index] = _logaddexp(cand_nonblank[index], p_nonblank + logp)
                    if may_skip and p_blank + logp < reachable - (space_gain if token == space else letter_gain):
                        continue
                    target, add_blank, add_nonblank = -1, -np.inf, p_blank + logp
                else:
                    if may_skip and p_total + logp < reachable - (space_gain if token == space else letter_gain):
                        continue
                    target, add_blank, add_nonblank = -1, -np.inf, p_total + logp
                if target < 0:
                    # The child prefix node + token: find it, or create it with its cached fusion state.
                    key = np.int64(node) * vocab_size + token
                    target = _find(child_keys, child_values, key)
                    if target < 0:
                        target = num_nodes
                        num_nodes += 1
                        _insert(child_keys, child_values, key, target)
                        parent[target] = node
                        last[target] = token
                        depth[target] = depth[node] + 1
                        frame[target] = time
                        score = extra[node]
                        context = lm_state[node]
                        spelling = spell[node]
                        if lm_kind == 1:
                            if token == space:
                                if spelling != 0:
                                    # A known word, or a proper prefix of known words that is none itself
                                    # (spell_word -1: <unk>); -1 was scored when it left the LM's words.
                                    if spelling > 0:
                                        word_logp, context, penalty = _lm_unit(
                                            context, spell_word[spelling], unk_word, unk_offset, num_lm_words,
                                            lm_keys, lm_values, lm_logp, lm_backoff, lm_suffix, lm_node_order,
                                            lm_order)
                                        score += alpha * word_logp + penalty
                                    score += beta
                                    spelling = 0
                            elif spelling >= 0:
                                spelling = _find(spell_keys, spell_values, np.int64(spelling) * vocab_size + token)
                                if spelling < 0:  # the word has left the LM's vocabulary: it is <unk>, now
                                    word_logp, context, penalty = _lm_unit(
                                        context, -1, unk_word, unk_offset, num_lm_words, lm_keys, lm_values, lm_logp,
                                        lm_backoff, lm_suffix, lm_node_order, lm_order)
                                    score += alpha * word_logp + penalty
                        elif lm_kind == 2:
                            unit_logp, context, penalty = _lm_unit(
                                context, token_word[token], unk_word, unk_offset, num_lm_words, lm_keys, lm_values,
                                lm_logp, lm_backoff, lm_suffix, lm_node_order, lm_order)
                            score += alpha * unit_logp + penalty + beta
                        else:
                            if token == space:
                                if spelling != 0:
                                    score += beta
                                spelling = 0
                            else:
                                spelling = 1
                        # Hotwords: follow the automaton; a broken partial match gives its bonus back.
                        hot = hot_state[node]
                        moved = hot
                        while True:
                            next_hot = _find(hot_keys, hot_values, np.int64(moved) * vocab_size + token)
                            if next_hot >= 0:
                                moved = next_hot
                                break
                            if moved == 0:
                                break
                            moved = hot_fail[moved]
                        score += hot_score[moved] - hot_score[hot]
                        if hot_end[moved]:
                            moved = 0  # a completed hotword keeps its bonus
                        extra[target] = score
                        lm_state[target] = context
                        spell[target] = spelling
                        hot_state[target] = moved
                if stamp[target] != time:
                    stamp[target] = time
                    slot[target] = num_candidates
                    cand_node[num_candidates] = target
                    cand_blank[num_candidates] = -np.inf
                    cand_nonblank[num_candidates] = -np.inf
                    cand_extended[num_candidates] = -np.inf
                    num_candidates += 1
                index = slot[target]
                cand_blank[index] = _logaddexp(cand_blank[index], add_blank)
                cand_nonblank[index] = _logaddexp(cand_nonblank[index], add_nonblank)
                if target != node:
                    cand_extended[index] = _logaddexp(cand_extended[index], add_nonblank)

        # Keep the beam_size best halves within beam_threshold of the best, where a candidate's halves
        # are its paths ending in a blank and those ending in its last token, ranked apart (as
        # pyctcdecode keys its beams by prefix and last character). Ranking whole prefixes instead lost
        # 1.5 points of WER at beam 8 on English dev speech with a word LM, mostly to deletions.
        best = -np.inf
        for index in range(num_candidates):
            cand_score[2 * index] = cand_blank[index] + extra[cand_node[index]]
            cand_score[2 * index + 1] = cand_nonblank[index] + extra[cand_node[index]]
            best = max(best, cand_score[2 * index], cand_score[2 * index + 1])
        if recombine:
            # Two candidates with the same LM context, spelling and hotword state and last token gain the
            # same from every continuation, so the paths through one that scores no better than the other
            # in both halves can never overtake the other's. Such a candidate is ranked behind every other:
            # it keeps a place only if the beam has room for all the rest, so a beam wide enough for every
            # candidate still sums all paths exactly. (Recombination, as in Viterbi decoders and
            # pyctcdecode's prune_history, which drops on whole scores.) At beam 100 on English dev speech
            # with a word LM: 69.13 -> 67.46% WER.
            for index in range(num_candidates):
                if max(cand_score[2 * index], cand_score[2 * index + 1]) < cutoff:
                    continue  # out of the beam anyway; left out, the outcome does not depend on skipped ones
                position = _same_slot(cand_node[index], time, same_size, same_stamp, same_leader, cand_node, lm_state,
                                      spell, hot_state, last)
                if same_stamp[position] != time:
                    same_stamp[position] = time
                    same_leader[position] = index
                    continue
                leader = same_leader[position]
                if (cand_score[2 * index] <= cand_score[2 * leader]
                        and cand_score[2 * index + 1] <= cand_score[2 * leader + 1]):
                    cand_score[2 * index] -= DEMOTED
                    cand_score[2 * index + 1] -= DEMOTED
                elif (cand_score[2 * index] >= cand_score[2 * leader]
                        and cand_score[2 * index + 1] >= cand_score[2 * leader + 1]):
                    cand_score[2 * leader] -= DEMOTED
                    cand_score[2 * leader + 1] -= DEMOTED
                    same_leader[position] = index
            # cand_score now ranks (recombined halves behind). Halves beyond the threshold leave the
            # ranking, so that they take no place from a recombined half that may still fill the beam.
            for index in range(num_candidates):
                score_floor = best - beam_threshold - extra[cand_node[index]]
                if cand_blank[index] < score_floor:
                    cand_score[2 * index] = -np.inf
                if cand_nonblank[index] < score_floor:
                    cand_score[2 * index + 1] = -np.inf
        floor = best - beam_threshold if not recombine else -np.inf  # (applied above under recombination)
        num_halves = 2 * num_candidates
        if num_halves > beam_size:
            kth = np.partition(cand_score[:num_halves], num_halves - beam_size)[num_halves - beam_size]
            if kth > floor:
                floor = kth
        beam_len = 0
        num_kept_halves = 0
        for index in range(num_candidates):
            keep_blank = (cand_score[2 * index] >= floor and cand_score[2 * index] > -np.inf
                          and num_kept_halves < beam_size)
            num_kept_halves += keep_blank
            keep_nonblank = (cand_score[2 * index + 1] >= floor and cand_score[2 * index + 1] > -np.inf
                             and num_kept_halves < beam_size)
            num_kept_halves += keep_nonblank
            if keep_blank or keep_nonblank:
                # A prefix's last token is dated to the frame that brought most of its probability (the first
                # frame of the dominant run, as in the best path), not to when the prefix first appeared.
                if cand_extended[index] > _logaddexp(cand_blank[index], cand_nonblank[index]) - LN2:
                    frame[cand_node[index]] = time
                beam_node[beam_len] = cand_node[index]
                beam_blank[beam_len] = cand_blank[index] if keep_blank else -np.inf
                beam_nonblank[beam_len] = cand_nonblank[index] if keep_nonblank else -np.inf
                beam_len += 1
        # The stamp of a beam node now means "in the beam after frame `time`".
        for index in range(num_candidates):
            stamp[cand_node[index]] = -1
        for entry in range(beam_len):
            stamp[beam_node[entry]] = time
            if beam_node[entry] != 0:
                child_mark[parent[beam_node[entry]]] = time

    # Final scores: the last word and </s> enter the LM, partial hotword matches give their bonus back.
    final = np.empty(beam_len, np.float64)
    acoustic = np.empty(beam_len, np.float64)
    for entry in range(beam_len):
        acoustic[entry] = _logaddexp(beam_blank[entry], beam_nonblank[entry])
        final[entry] = acoustic[entry] + _finish_score(beam_node[entry], extra, lm_state, spell, hot_state,
                                                       fusion_args, alpha, beta)
    ranking = np.argsort(-final, kind="mergesort")
    count = min(nbest, beam_len)
    max_len = 0
    for rank in range(count):
        max_len = max(max_len, depth[beam_node[ranking[rank]]])
    out_tokens = np.full((count, max_len), -1, np.int32)
    out_frames = np.zeros((count, max_len), np.int32)
    out_lens = np.zeros(count, np.int32)
    out_scores = np.zeros(count, np.float64)
    out_acoustic = np.zeros(count, np.float64)
    for rank in range(count):
        entry = ranking[rank]
        node = beam_node[entry]
        out_lens[rank] = depth[node]
        out_scores[rank] = final[entry]
        out_acoustic[rank] = acoustic[entry]
        position = depth[node] - 1
        while node != 0:
            out_tokens[rank, position] = last[node]
            out_frames[rank, position] = frame[node]
            node = parent[node]
            position -= 1
    return out_tokens, out_lens, out_frames, out_scores, out_acoustic


# ---------------------------------------------------------------------------------------------------
# The public decoder.


@dataclass(frozen=True)
class ScoredHypothesis:
    """One n-best entry with its score split into the acoustic part and the rest (LM, bonuses)."""

    hypothesis: Hypothesis
    acoustic_score: float  # log P_ctc(tokens)

    @property
    def fusion_score(self) -> float:
        return self.hypothesis.score - self.acoustic_score


class CTCBeamSearchDecoder:
    """Prefix beam search over CTC emissions, optionally fused with an n-gram LM and hotwords.

    decoder = CTCBeamSearchDecoder(vocabulary, DecodingConfig(decoder="beam", lm_weight=0.5), lm=tables)
    decoder(log_probs (B, T, V), output_lens (B,)) -> best Hypothesis per utterance
    decoder.decode_nbest(...) -> n-best lists (ScoredHypothesis), best first

    `config.lm` (a path) is not read here: pass the loaded model as `lm` (see `load_decoder`).
    num_threads > 1 decodes the utterances of a batch on a thread pool (the search releases the GIL).
    """

    def __init__(self, vocabulary: Vocabulary, config: DecodingConfig = DecodingConfig(decoder="beam"),
                 lm: NgramTables | None = None, num_threads: int = 1):
        config.validate()
        self.vocabulary = vocabulary
        self.fusion = compile_fusion(vocabulary, lm, config.lm_kind, config.unk_score, config.hotwords,
                                     config.hotword_weight)
        self._fusion_args = self.fusion.arguments()
        space = vocabulary.space_id
        self._space = -2 if space is None else space  # -2: never a token, so no word boundary exists
        self.config = config
        self.num_threads = max(1, num_threads)

    def _max_gains(self) -> tuple[float, float]:
        """How much one token can raise a prefix's non-acoustic score, at most: (a token other than the
        space, the space). LM log-probs are <= 0, so only the bonuses and a positive unknown-word offset
        count: the word bonus comes with every token under a char LM, with the space only otherwise."""
        config = self.config
        if config.lm_weight < 0:
            return np.inf, np.inf  # a negative LM weight rewards unlikely words without bound: no skipping
        hotword_step = config.hotword_weight if self.fusion.hot_score.shape[0] > 1 else 0.0
        unk_gain = config.unk_score if self.fusion.lm_kind != NO_LM else 0.0
        letter_gain = max(hotword_step, 0.0) + max(unk_gain, 0.0)
        space_gain = letter_gain + max(config.word_bonus, 0.0)
        return (space_gain if self.fusion.lm_kind == CHAR_LM else letter_gain), space_gain

    def reweighted(self, lm_weight: float, word_bonus: float) -> CTCBeamSearchDecoder:
        """The same decoder (LM and hotwords compiled once, shared) with another alpha and beta."""
        twin = copy.copy(self)
        twin.config = dataclasses.replace(self.config, lm_weight=lm_weight, word_bonus=word_bonus)
        twin.config.validate()
        return twin

    @property
    def lm_kind(self) -> str:
        return {NO_LM: "none", WORD_LM: "word", CHAR_LM: "char"}[self.fusion.lm_kind]

    def __call__(self, log_probs: torch.Tensor, output_lens: torch.Tensor) -> list[Hypothesis]:
        return [nbest[0].hypothesis for nbest in self.decode_nbest(log_probs, output_lens, nbest=1)]

    def decode_nbest(self, log_probs: torch.Tensor, output_lens: torch.Tensor,
                     nbest: int | None = None) -> list[list[ScoredHypothesis]]:
        """log_probs `(B, T, V)` (natural-log CTC posteriors), output_lens `(B,)` -> per utterance, up to
        `nbest` (default: config.nbest) hypotheses, best first. For more than one, the search keeps
        prefixes that the 1-best search ranks last, so their first may differ from the 1-best."""
        if log_probs.dim() != 3 or log_probs.shape[2] != len(self.vocabulary):
            raise ValueError(f"log_probs must be (B, T, {len(self.vocabulary)}), got {tuple(log_probs.shape)}")
        count = self.config.nbest if nbest is None else nbest
        emissions = np.ascontiguousarray(log_probs.detach().to("cpu", torch.float32).numpy())
        lengths = output_lens.detach().to("cpu").tolist()
        if self.num_threads > 1 and len(lengths) > 1:
            with ThreadPoolExecutor(self.num_threads) as pool:
                return list(pool.map(lambda item: self._decode_one(emissions[item], lengths[item], count),
                                     range(len(lengths))))
        return [self._decode_one(emissions[item], lengths[item], count) for item in range(len(lengths))]

    def decode_emission(self, emission: np.ndarray, nbest: int | None = None) -> list[ScoredHypothesis]:
        """One utterance's log-probs `(T, V)` as a float32 numpy array (no padding) -> its n-best list; the
        cheapest call, for short utterances where converting tensors would cost more than the search."""
        if emission.ndim != 2 or emission.shape[1] != len(self.vocabulary):
            raise ValueError(f"emission must be (T, {len(self.vocabulary)}), got {emission.shape}")
        if emission.dtype != np.float32 or not emission.flags.c_contiguous:
            emission = np.ascontiguousarray(emission, np.float32)
        return self._decode_one(emission, emission.shape[0], self.config.nbest if nbest is None else nbest)

    def _decode_one(self, emissions: np.ndarray, num_frames: int, nbest: int) -> list[ScoredHypothesis]:
        tokens, token_lens, frames, scores, acoustic = _prefix_search(
            emissions, int(num_frames), *self._search_settings, max(1, nbest), *self._gains,
            initial_nodes(int(num_frames), self.config.beam_size), self._fusion_args)
        results = []
        for rank in range(len(token_lens)):
            length = int(token_lens[rank])
            labels = tuple(tokens[rank, :length].tolist())
            hypothesis = Hypothesis(self.vocabulary.decode(labels), labels, float(scores[rank]),
                                    tuple(frames[rank, :length].tolist()))
            results.append(ScoredHypothesis(hypothesis, float(acoustic[rank])))
        return results

    @property
    def config(self) -> DecodingConfig:
        return self._config

    @config.setter
    def config(self, config: DecodingConfig) -> None:
        self._config = config
        # The search's scalar arguments, converted once (they are passed on every call).
        self._search_settings = (BLANK_ID, self._space, config.beam_size, config.token_top_k,
                                 float(config.token_min_logp), float(config.beam_threshold), float(config.lm_weight),
                                 float(config.word_bonus))
        self._gains = self._max_gains()


def load_lm(path: str | Path) -> NgramTables:
    """Read an ARPA file with the project's n-gram module (asr.decoding.lm) and compile it for the search."""
    from asr.decoding.lm import read_arpa  # the project's ARPA reader; imported when an LM is used

    return NgramTables.from_model(read_arpa(path))
