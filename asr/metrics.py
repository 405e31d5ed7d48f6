"""Edit distance with substitution / deletion / insertion counts, batched on any device; WER and CER.

`batched_edit_counts` aligns a whole batch of padded id sequences with tensor operations (one loop step
per reference position, nothing per pair), so a training loop can score greedy hypotheses on the GPU
and pull back only four totals (`tensor_counts_to_corpus`). `edit_counts` does the same for strings,
with jiwer's text conventions, on the torch path or with RapidFuzz.

Both paths choose the same optimal alignment as RapidFuzz's `Levenshtein.editops`, which is what
jiwer 4 counts with, so S, D and I agree with jiwer pair by pair, not only their sum.

Measured with `scripts/bench_metrics.py --threads 1` (shared 2-CPU machine, so +-2x): RapidFuzz
aligns 360-570k short / 60-160k sentence pairs/s at char level and ~40k sentence pairs/s at word level,
against 140-180k / 1.4-3k / 15-18k for the torch path on CPU (jiwer: 150k / 10-13k / 21-30k). The
torch path wins only on one-to-three-word pairs (200-250k vs ~165k), so `backend="auto"` uses
RapidFuzz on the CPU and the torch path on any other device. On a busy CPU, torch's intra-op threads
slow the row loop many times over (50x with 2 threads on that loaded machine; 1 thread is safe).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

Unit = Literal["word", "char"]
Backend = Literal["auto", "torch", "rapidfuzz"]
UNITS = ("word", "char")
BACKENDS = ("auto", "torch", "rapidfuzz")

# Two 31-bit prime moduli, so that every product in the word hash fits in int64 without wrapping;
# together they give a 62-bit word id.
_HASH_MODULI = (2_147_483_647, 2_147_483_629)
_HASH_BASES = (1_000_003, 917_513)


@dataclass(frozen=True)
class ErrorCounts:
    """Edit operations that turn a reference into a hypothesis, and the reference length in units."""

    substitutions: int
    deletions: int
    insertions: int
    reference_length: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def hits(self) -> int:
        return self.reference_length - self.substitutions - self.deletions

    @property
    def rate(self) -> float:
        """errors / reference_length; for an empty reference, the number of errors itself.

        An empty reference leaves only insertions, so the rate is 0.0 for an empty hypothesis and
        float(insertions) otherwise: the convention of jiwer 4 (`wer = num_insertions` there).
        """
        if self.reference_length == 0:
            return float(self.errors)
        return self.errors / self.reference_length

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        if not isinstance(other, ErrorCounts):
            return NotImplemented
        return ErrorCounts(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference_length + other.reference_length,
        )


def corpus_counts(counts: Iterable[ErrorCounts]) -> ErrorCounts:
    """Sum of per-pair counts; its `rate` is the corpus WER/CER (total errors / total reference length)."""
    total = ErrorCounts(0, 0, 0, 0)
    for item in counts:
        total = total + item
    return total


def tensor_counts_to_corpus(
    substitutions: Tensor, deletions: Tensor, insertions: Tensor, ref_lens: Tensor
) -> ErrorCounts:
    """Corpus totals from the (B,) outputs of `batched_edit_counts`, summed on their device.

    One transfer for the four totals, so a training loop on a GPU synchronises once per batch.
    """
    totals = torch.stack([substitutions.sum(), deletions.sum(), insertions.sum(), ref_lens.sum()])
    num_subs, num_dels, num_ins, num_ref = totals.tolist()
    return ErrorCounts(num_subs, num_dels, num_ins, num_ref)


def _check_batch(name: str, seqs: Tensor, lens_name: str, seq_lens: Tensor) -> None:
    if seqs.dim() != 2 or seqs.dtype.is_floating_point or seqs.dtype.is_complex:
        raise ValueError(f"{name} must be an integer tensor of shape (B, L), got {seqs.dtype} {tuple(seqs.shape)}")
    if seq_lens.shape != (seqs.shape[0],) or seq_lens.dtype.is_floating_point:
        raise ValueError(
            f"{lens_name} must be an integer tensor of shape ({seqs.shape[0]},), "
            f"got {seq_lens.dtype} {tuple(seq_lens.shape)}"
        )
    if seq_lens.device != seqs.device:
        raise ValueError(f"{name} is on {seqs.device} but {lens_name} is on {seq_lens.device}")


def _shift_left(seqs: Tensor, offsets: Tensor) -> Tensor:
    """seqs (B, L), offsets (B,) -> (B, L) with row b starting at seqs[b, offsets[b]]; the tail is padding."""
    positions = torch.arange(seqs.shape[1], device=seqs.device)
    index = (offsets[:, None] + positions).clamp(max=max(seqs.shape[1] - 1, 0))
    return seqs.gather(1, index)


def _common_affix_lens(
    hyps: Tensor, hyp_lens: Tensor, refs: Tensor, ref_lens: Tensor
) -> tuple[Tensor, Tensor]:
    """Lengths (B,) of the common prefix and of the common suffix of the rest, as RapidFuzz strips them."""
    shared = min(hyps.shape[1], refs.shape[1])
    positions = torch.arange(shared, device=refs.device)
    max_shared = torch.minimum(hyp_lens, ref_lens)
    if shared == 0:
        zeros = torch.zeros_like(ref_lens)
        return zeros, zeros
    prefix_match = (hyps[:, :shared] == refs[:, :shared]) & (positions < max_shared[:, None])
    prefix_lens = prefix_match.long().cumprod(1).sum(1)
    # Position k from the end of each sequence; clamped indices only occur where the mask is false.
    hyp_index = (hyp_lens[:, None] - 1 - positions).clamp(min=0)
    ref_index = (ref_lens[:, None] - 1 - positions).clamp(min=0)
    suffix_match = (hyps.gather(1, hyp_index) == refs.gather(1, ref_index)) & (
        positions < (max_shared - prefix_lens)[:, None]
    )
    suffix_lens = suffix_match.long().cumprod(1).sum(1)
    return prefix_lens, suffix_lens


def batched_edit_counts(
    hyps: Tensor, hyp_lens: Tensor, refs: Tensor, ref_lens: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Substitutions, deletions and insertions of one optimal alignment per pair, for a whole batch.

    hyps (B, Lh) and refs (B, Lr) are integer token ids, padded with anything past hyp_lens (B,) and
    ref_lens (B,). Returns (substitutions (B,), deletions (B,), insertions (B,)), int64 on the input
    device; their sum is the Levenshtein distance.

    The alignment is the one RapidFuzz's `Levenshtein.editops(ref, hyp)` returns (and jiwer counts):
    the common prefix and suffix are matched first; then, with D the distance matrix (i over the
    reference), the backtrace from the end takes at (i, j) a deletion if D[i-1][j] + 1 == D[i][j],
    else an insertion if D[i-1][j-1] == D[i][j-1] + 1, else the diagonal (match or substitution).
    Each cell's choice depends only on distances around it, so the forward pass follows the same path:
    it carries the number of insertions on the chosen path to every cell, and deletions and
    substitutions follow from the distance and the two lengths.
    Caveat: when the unaligned middle of a pair is huge (min(n, 2*distance+1) * m >= 2**22, e.g. two
    unrelated 2,000-token sequences) RapidFuzz switches to Hirschberg's split, which may break ties
    differently; the distance stays equal, but S/D/I may then differ from RapidFuzz by a few.
    """
    _check_batch("hyps", hyps, "hyp_lens", hyp_lens)
    _check_batch("refs", refs, "ref_lens", ref_lens)
    if hyps.shape[0] != refs.shape[0]:
        raise ValueError(f"hyps has {hyps.shape[0]} sequences but refs has {refs.shape[0]}")
    if hyps.device != refs.device:
        raise ValueError(f"hyps is on {hyps.device} but refs is on {refs.device}")
    device = refs.device
    batch_size = refs.shape[0]
    hyps, refs = hyps.long(), refs.long()
    hyp_lens, ref_lens = hyp_lens.long(), ref_lens.long()
    if batch_size == 0:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty.clone(), empty.clone()

    bad_lens = ((hyp_lens < 0) | (hyp_lens > hyps.shape[1]) | (ref_lens < 0) | (ref_lens > refs.shape[1])).any()
    # Clamped until the check below, so that every index stays in range even for bad input.
    hyp_lens, ref_lens = hyp_lens.clamp(0, hyps.shape[1]), ref_lens.clamp(0, refs.shape[1])
    prefix_lens, suffix_lens = _common_affix_lens(hyps, hyp_lens, refs, ref_lens)
    # Longest reference first: the pairs still being aligned at any row are then a leading block of
    # the batch, which shrinks as the rows go by, and each row is only as wide as its widest pair.
    order = torch.argsort(ref_lens - prefix_lens - suffix_lens, descending=True, stable=True)
    refs, hyps, prefix_lens = refs[order], hyps[order], prefix_lens[order]
    mid_ref_lens = (ref_lens - suffix_lens)[order] - prefix_lens
    mid_hyp_lens = (hyp_lens - suffix_lens)[order] - prefix_lens
    widest_hyps = torch.cummax(mid_hyp_lens, dim=0).values
    # One synchronisation serves the boundary check and the loop bounds.
    host = torch.cat([bad_lens.long().reshape(1), mid_ref_lens, widest_hyps]).tolist()
    if host[0]:
        raise ValueError(
            f"lengths out of range: hyp_lens must lie in [0, {hyps.shape[1]}] and ref_lens in [0, {refs.shape[1]}]"
        )
    row_ends, widths = host[1 : batch_size + 1], host[batch_size + 1 :]  # row_ends is non-increasing
    mid_refs = _shift_left(refs, prefix_lens)[:, : row_ends[0]]
    mid_hyps = _shift_left(hyps, prefix_lens)[:, : widths[-1]]

    # Work in int32: distances are bounded by Lr + Lh, and the row updates are memory bound.
    columns = torch.arange(widths[-1] + 1, device=device, dtype=torch.int32)
    prev_dist = columns.expand(batch_size, -1)  # row 0: j insertions
    prev_ins = prev_dist
    final_dist = mid_hyp_lens.int()  # what a pair with an empty reference middle keeps
    final_ins = final_dist.clone()
    zero_col = torch.zeros(batch_size, 1, dtype=torch.int32, device=device)
    num_active = batch_size
    for row in range(1, row_ends[0] + 1):
        while row_ends[num_active - 1] < row:
            num_active -= 1
        width = widths[num_active - 1] + 1
        cols = columns[:width]
        prev_dist, prev_ins = prev_dist[:num_active, :width], prev_ins[:num_active, :width]
        first_col = zero_col[:num_active]

        mismatch = (mid_refs[:num_active, row - 1 : row] != mid_hyps[:num_active, : width - 1]).int()
        # Best of diagonal and vertical moves into columns 1..M; column 0 is `row` deletions.
        from_above = torch.minimum(prev_dist[:, :-1] + mismatch, prev_dist[:, 1:] + 1)
        candidates = torch.cat([first_col + row, from_above], dim=1)
        # D[j] = min over k <= j of candidates[k] + (j - k): the horizontal chain is a prefix minimum.
        cur_dist = torch.cummin(candidates - cols, dim=1).values + cols

        is_del = prev_dist[:, 1:] + 1 == cur_dist[:, 1:]
        is_ins = ~is_del & (prev_dist[:, :-1] == cur_dist[:, :-1] + 1)
        base_ins = torch.cat([first_col, torch.where(is_del, prev_ins[:, 1:], prev_ins[:, :-1])], dim=1)
        # An insertion continues the path of the nearest cell to its left that is not an insertion.
        not_ins_cols = torch.where(torch.cat([first_col.bool(), is_ins], dim=1), 0, cols)
        anchor = torch.cummax(not_ins_cols, dim=1).values
        cur_ins = base_ins.gather(1, anchor.long()) + (cols - anchor)

        first_ending = num_active
        while first_ending > 0 and row_ends[first_ending - 1] == row:
            first_ending -= 1
        if first_ending < num_active:  # pairs whose reference ends here: the tail of the active block
            ending = slice(first_ending, num_active)
            end_cols = mid_hyp_lens[ending, None]
            final_dist[ending] = cur_dist[ending].gather(1, end_cols).squeeze(1)
            final_ins[ending] = cur_ins[ending].gather(1, end_cols).squeeze(1)
        prev_dist, prev_ins = cur_dist, cur_ins

    insertions = final_ins.long()
    deletions = insertions + mid_ref_lens - mid_hyp_lens
    substitutions = final_dist.long() - insertions - deletions
    # Back to the caller's order.
    return tuple(torch.empty_like(part).index_copy_(0, order, part) for part in (substitutions, deletions, insertions))


def split_words_on_device(tokens: Tensor, token_lens: Tensor, space_id: int) -> tuple[Tensor, Tensor]:
    """Character-token sequences (B, L) -> word-id sequences (B, W) on the same device.

    Words are the runs of tokens between `space_id` tokens; leading, trailing and repeated spaces make
    no empty words. A word's id is a 62-bit polynomial hash of its tokens (two 31-bit hashes side by
    side), so equal words get equal ids in every batch item, and distinct words collide with
    probability about 2**-62 per pair. W = (L + 1) // 2, the most words L tokens can hold, so no
    synchronisation is needed; positions at or past word_lens (B,) hold 0.
    Returns (word_ids (B, W) int64, word_lens (B,) int64).
    """
    _check_batch("tokens", tokens, "token_lens", token_lens)
    device = tokens.device
    batch_size, max_len = tokens.shape
    max_words = (max_len + 1) // 2
    positions = torch.arange(max_len, device=device)
    is_word = (positions < token_lens[:, None]) & (tokens != space_id)
    follows_word = torch.cat([torch.zeros_like(is_word[:, :1]), is_word[:, :-1]], dim=1)
    starts = is_word & ~follows_word
    word_lens = starts.long().sum(1)
    # Tokens outside words go to an extra column that is dropped at the end.
    word_index = torch.where(is_word, starts.long().cumsum(1) - 1, max_words)
    offset_in_word = positions - torch.cummax(torch.where(starts, positions, 0), dim=1).values

    word_ids = torch.zeros(batch_size, max_words + 1, dtype=torch.long, device=device)
    for modulus, base in zip(_HASH_MODULI, _HASH_BASES):
        powers = [1]
        for _ in range(max(max_len - 1, 0)):
            powers.append(powers[-1] * base % modulus)
        power = torch.tensor(powers, dtype=torch.long, device=device)[offset_in_word]
        # +1 so that a token 0 still changes the hash. Products stay below 2**62 and reduced terms
        # below 2**31, so a word's sum fits in int64 for any realistic length.
        terms = (torch.remainder(tokens.long(), modulus - 1) + 1) * power % modulus
        sums = torch.zeros_like(word_ids).scatter_add_(1, word_index, torch.where(is_word, terms, 0))
        word_ids = word_ids * modulus + sums % modulus
    word_ids = word_ids[:, :max_words]
    word_ids = torch.where(torch.arange(max_words, device=device) < word_lens[:, None], word_ids, 0)
    return word_ids, word_lens


_MULTIPLE_SPACES = re.compile(r"\s\s+")


def _words(text: str) -> list[str]:
    # jiwer's wer_default: runs of two or more whitespace characters become one space, then strip,
    # then split on " " only. A lone tab or no-break space therefore stays inside a word, as in jiwer.
    # After that, no two spaces touch and none is at an end, so only "" would give an empty word.
    text = _MULTIPLE_SPACES.sub(" ", text).strip()
    return text.split(" ") if text else []


def _chars(text: str) -> str:
    # jiwer's cer_default: strip the ends; inner spaces count as characters.
    return text.strip()


def _check_unit_backend(unit: str, backend: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def _rapidfuzz_counts(ref_seqs: Sequence[Sequence], hyp_seqs: Sequence[Sequence]) -> list[ErrorCounts]:
    from rapidfuzz.distance import Levenshtein

    counts = []
    for ref, hyp in zip(ref_seqs, hyp_seqs):
        ops = Levenshtein.editops(ref, hyp).as_list()  # plain tuples iterate faster than Editop objects
        num_ins = [op[0] for op in ops].count("insert")
        num_dels = num_ins + len(ref) - len(hyp)
        counts.append(ErrorCounts(len(ops) - num_ins - num_dels, num_dels, num_ins, len(ref)))
    return counts


def _padded(flat_ids: Tensor, seq_lens: Tensor) -> Tensor:
    """flat_ids (N,) concatenated sequences, seq_lens (B,) -> (B, max(seq_lens)) padded with 0."""
    max_len = int(seq_lens.max()) if len(seq_lens) else 0
    mask = torch.arange(max_len, device=flat_ids.device) < seq_lens[:, None]
    padded = torch.zeros(mask.shape, dtype=torch.long, device=flat_ids.device)
    padded[mask] = flat_ids  # a boolean mask fills row by row, the order of the concatenation
    return padded


def _encode(
    seqs: Sequence[Sequence], unit: Unit, word_ids: dict[str, int], device: torch.device
) -> tuple[Tensor, Tensor]:
    """Strings (chars: code points) or word lists (ids from `word_ids`) -> ((B, L) padded ids, lens (B,))."""
    seq_lens = torch.tensor([len(seq) for seq in seqs], dtype=torch.long)
    if unit == "char":
        flat = np.frombuffer("".join(seqs).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    else:
        flat = np.fromiter(
            (word_ids.setdefault(word, len(word_ids)) for seq in seqs for word in seq), dtype=np.int64
        )
    seq_lens = seq_lens.to(device)
    return _padded(torch.from_numpy(flat).to(device), seq_lens), seq_lens


def _torch_counts(ref_seqs: Sequence[Sequence], hyp_seqs: Sequence[Sequence], unit: Unit, device) -> list[ErrorCounts]:
    word_ids: dict[str, int] = {}  # shared so that a word has one id in refs and hyps
    refs, ref_lens = _encode(ref_seqs, unit, word_ids, device)
    hyps, hyp_lens = _encode(hyp_seqs, unit, word_ids, device)
    substitutions, deletions, insertions = batched_edit_counts(hyps, hyp_lens, refs, ref_lens)
    rows = torch.stack([substitutions, deletions, insertions, ref_lens], dim=1).tolist()
    return [ErrorCounts(*row) for row in rows]


def sequence_edit_counts(hyps: Tensor, hyp_lens: Tensor, refs: Tensor, ref_lens: Tensor,
                         backend: Backend = "auto") -> tuple[Tensor, Tensor, Tensor]:
    """`batched_edit_counts` with the backend choice of `edit_counts`: on the CPU, "auto" aligns the id
    sequences with RapidFuzz (faster there, same counts); elsewhere the batch stays on its device.

    hyps (B, Lh), hyp_lens (B,), refs (B, Lr), ref_lens (B,) -> (substitutions, deletions, insertions), each (B,).
    """
    _check_unit_backend("char", backend)
    if backend == "torch" or (backend == "auto" and hyps.device.type != "cpu"):
        return batched_edit_counts(hyps, hyp_lens, refs, ref_lens)
    hyp_rows = [row[:length] for row, length in zip(hyps.tolist(), hyp_lens.tolist())]
    ref_rows = [row[:length] for row, length in zip(refs.tolist(), ref_lens.tolist())]
    counts = _rapidfuzz_counts(ref_rows, hyp_rows)
    table = torch.tensor([[count.substitutions, count.deletions, count.insertions] for count in counts],
                         dtype=torch.long).reshape(-1, 3)
    return table[:, 0], table[:, 1], table[:, 2]


def edit_counts(
    refs: Sequence[str],
    hyps: Sequence[str],
    unit: Unit,
    backend: Backend = "auto",
    device: str | torch.device = "cpu",
) -> list[ErrorCounts]:
    """Per-pair counts for strings, with jiwer's default text handling.

    unit="word": runs of two or more whitespace characters collapse to one space, the ends are
    stripped, and words are split on " " (jiwer's wer_default). unit="char": the ends are stripped and
    every other character counts, inner spaces included (jiwer's cer_default).
    backend="auto" uses RapidFuzz on the CPU, where it is fastest (see the module docstring), and the
    torch path on any other device; "torch" runs `batched_edit_counts` on `device`; "rapidfuzz"
    aligns pair by pair on the CPU. All give the same counts.
    """
    _check_unit_backend(unit, backend)
    if len(refs) != len(hyps):
        raise ValueError(f"refs and hyps must have the same length, got {len(refs)} refs and {len(hyps)} hyps")
    device = torch.device(device)
    if backend == "auto":
        backend = "rapidfuzz" if device.type == "cpu" else "torch"
    split = _words if unit == "word" else _chars
    ref_seqs = [split(text) for text in refs]
    hyp_seqs = [split(text) for text in hyps]
    if backend == "torch":
        return _torch_counts(ref_seqs, hyp_seqs, unit, device)
    if unit == "word":
        # Integer ids, as jiwer uses: RapidFuzz compares hashable items by hash value.
        word_ids: dict[str, int] = {}
        ref_seqs = [[word_ids.setdefault(word, len(word_ids)) for word in seq] for seq in ref_seqs]
        hyp_seqs = [[word_ids.setdefault(word, len(word_ids)) for word in seq] for seq in hyp_seqs]
    return _rapidfuzz_counts(ref_seqs, hyp_seqs)


def word_error_rate(
    refs: Sequence[str], hyps: Sequence[str], backend: Backend = "auto", device: str | torch.device = "cpu"
) -> float:
    """Corpus WER: total word errors / total reference words (see `ErrorCounts.rate` for empty refs)."""
    return corpus_counts(edit_counts(refs, hyps, "word", backend, device)).rate


def char_error_rate(
    refs: Sequence[str], hyps: Sequence[str], backend: Backend = "auto", device: str | torch.device = "cpu"
) -> float:
    """Corpus CER: total character errors / total reference characters, spaces included."""
    return corpus_counts(edit_counts(refs, hyps, "char", backend, device)).rate


# --- BLEU ------------------------------------------------------------------------------------------------
# Corpus BLEU of Papineni et al. (2002), "BLEU: a method for automatic evaluation of machine translation",
# as their paper defines it and without smoothing, so scores compare with other plain corpus-BLEU figures.


@dataclass(frozen=True)
class BleuScore:
    """Corpus BLEU-1..N with the parts it is made of.

    `bleu[n - 1]` is BLEU-n = brevity_penalty * geometric mean of precisions[0:n]; `precisions[n - 1]` is the
    modified (clipped) n-gram precision summed over the corpus; lengths are in tokens, `reference_length`
    summing, per item, the reference length closest to the hypothesis length.
    """

    bleu: tuple[float, ...]
    precisions: tuple[float, ...]
    brevity_penalty: float
    hypothesis_length: int
    reference_length: int

    @property
    def max_order(self) -> int:
        return len(self.bleu)

    def __str__(self) -> str:
        scores = "/".join(f"{100 * value:.2f}" for value in self.bleu)
        precisions = "/".join(f"{100 * value:.1f}" for value in self.precisions)
        return (f"BLEU-{self.max_order} {100 * self.bleu[-1]:.2f} (BLEU-1..{self.max_order} {scores}; "
                f"precisions {precisions}; brevity penalty {self.brevity_penalty:.3f}; "
                f"hypothesis/reference length {self.hypothesis_length}/{self.reference_length})")


def _ngram_counts(tokens: Sequence[str], order: int) -> Counter:
    return Counter(tuple(tokens[start:start + order]) for start in range(len(tokens) - order + 1))


def _closest_reference_length(hypothesis_length: int, references: Sequence[Sequence[str]]) -> int:
    # Papineni et al.'s "best match length"; on a tie the shorter reference, which gives the larger penalty.
    return min((len(reference) for reference in references),
               key=lambda length: (abs(length - hypothesis_length), length))


def _check_bleu_inputs(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]],
                       max_order: int) -> None:
    if isinstance(max_order, bool) or not isinstance(max_order, int) or max_order < 1:
        raise ValueError(f"max_order must be a positive integer, got {max_order!r}")
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists: "
                         "give one list of references per hypothesis")
    if not hypotheses:
        raise ValueError("no hypotheses: BLEU of an empty corpus is undefined")
    for index, (hypothesis, item_references) in enumerate(zip(hypotheses, references)):
        # A str is a sequence of characters: accepted silently it would score characters, not words.
        if isinstance(hypothesis, str):
            raise ValueError(f"hypothesis {index} is a string ({hypothesis[:40]!r}); give a list of tokens "
                             "(e.g. text.split())")
        if isinstance(item_references, str) or not len(item_references):
            raise ValueError(f"item {index}: expected a non-empty list of references (each a list of tokens), "
                             f"got {item_references!r}")
        for reference_index, reference in enumerate(item_references):
            if isinstance(reference, str):
                raise ValueError(f"item {index}: reference {reference_index} is a string ({reference[:40]!r}); "
                                 "give a list of tokens (e.g. text.split())")


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]],
                max_order: int = 4) -> BleuScore:
    """Corpus BLEU-1..max_order of tokenised `hypotheses` against `references[i]`, the references of item i.

    Per order n, each hypothesis n-gram counts at most as often as it occurs in any one reference of its
    item (clipping, with the maximum over that item's references), and precision p_n = clipped matches
    / hypothesis n-grams, both summed over the corpus before dividing. Brevity penalty BP = 1 when the
    hypotheses are longer than r, else exp(1 - r / c), where c is the hypotheses' total length and r sums the
    reference length closest to each hypothesis length (the shorter on a tie). BLEU-n = BP * exp(mean of log
    p_1..p_n). There is no smoothing: a zero precision (or one with no n-grams to count, as when every
    hypothesis is shorter than n) makes BLEU of that order and all higher orders 0.
    """
    _check_bleu_inputs(hypotheses, references, max_order)
    matches = [0] * max_order
    totals = [0] * max_order
    hypothesis_length = reference_length = 0
    for hypothesis, item_references in zip(hypotheses, references):
        hypothesis_length += len(hypothesis)
        reference_length += _closest_reference_length(len(hypothesis), item_references)
        for order in range(1, max_order + 1):
            hypothesis_counts = _ngram_counts(hypothesis, order)
            most_in_one_reference: Counter = Counter()
            for reference in item_references:
                most_in_one_reference |= _ngram_counts(reference, order)  # | keeps the maximum of each count
            matches[order - 1] += sum(min(count, most_in_one_reference[ngram])
                                      for ngram, count in hypothesis_counts.items())
            totals[order - 1] += sum(hypothesis_counts.values())

    precisions = tuple(match / total if total else 0.0 for match, total in zip(matches, totals))
    if hypothesis_length == 0:
        brevity_penalty = 0.0  # exp(1 - r / 0): nothing was said
    elif hypothesis_length > reference_length:
        brevity_penalty = 1.0
    else:
        brevity_penalty = math.exp(1.0 - reference_length / hypothesis_length)
    bleu = []
    log_precision_sum = 0.0
    for order, precision in enumerate(precisions, start=1):
        if precision == 0.0:
            bleu += [0.0] * (max_order - order + 1)
            break
        log_precision_sum += math.log(precision)
        bleu.append(brevity_penalty * math.exp(log_precision_sum / order))
    return BleuScore(bleu=tuple(bleu), precisions=precisions, brevity_penalty=brevity_penalty,
                     hypothesis_length=hypothesis_length, reference_length=reference_length)
