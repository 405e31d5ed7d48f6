"""Searches over an attention decoder's output steps: greedy and beam search, with optional joint CTC scoring.

The searches never look inside the network: they drive it through the narrow step interface `StepDecoder`
(start / step / select), so one search serves every attention decoder, and a table of log-probs serves the
tests. A whole batch is searched at once: every step makes one `step` call on all live rows of all items.

Scores are natural logarithms and never increase as a hypothesis grows (see `beam_search`).

Joint CTC/attention decoding (Watanabe et al. 2017, "Hybrid CTC/attention architecture for end-to-end
speech recognition"): a hypothesis g is scored (1 - λ) · log p_att(g) + λ · log ψ(g), where ψ(g) is the CTC
prefix probability of g (the probability that the CTC output begins with g), and once it ends, with `<eos>`,
(1 - λ) · log p_att(g, eos) + λ · log p_ctc(g) (the probability that the CTC output is exactly g). Summed
step by step this is the per-candidate increment (1 - λ) · log p_att(c | g) + λ · (log ψ(g c) - log ψ(g));
the search keeps the telescoped totals instead of the increments, so that an impossible prefix (ψ = 0)
gives -inf rather than -inf - -inf = NaN. `CTCPrefixScorer` computes ψ for many hypotheses and candidates at
once with tensor operations, looping over frames only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from asr.config import DecodingConfig
from asr.text import BLANK_ID

NEG_INF = float("-inf")


class StepDecoder(Protocol):
    """What a search needs from an attention decoder. The state is opaque to the search; it holds N rows
    (hypotheses), and `select` is the only way the search rearranges them."""

    sos_id: int  # token fed at the first step
    eos_id: int  # token that ends a hypothesis (may equal sos_id; here both are the CTC blank's id, 0)

    def start(self, memory: torch.Tensor, memory_lens: torch.Tensor) -> Any:
        """memory `(B, T, D)`, memory_lens `(B,)` -> the state of B rows before their first token."""
        ...

    def step(self, state: Any, tokens: torch.Tensor) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """tokens `(N,)` long (the last token of each row) -> normalised log-probs of the next token `(N, V)`,
        the new state, and the attention weights of this step `(N, T)`."""
        ...

    def select(self, state: Any, rows: torch.Tensor) -> Any:
        """rows `(N',)` long, repeats allowed -> the state of those rows (expands to beams, reorders, drops)."""
        ...


@dataclass(frozen=True)
class AttentionHypothesis:
    tokens: tuple[int, ...]  # emitted tokens, without <sos> and <eos>
    score: float  # the ranking score: after length normalisation and CTC fusion (greedy: = log_prob)
    log_prob: float  # attention log-prob of the tokens, including <eos> when the hypothesis emitted it
    # (L, T_b) weights of each step, trimmed to the item's memory length T_b: L = len(tokens) + 1 for a
    # hypothesis ended by <eos>, len(tokens) for one cut at max_len. Not compared: tensors have no truth value.
    attention: torch.Tensor | None = field(default=None, compare=False, repr=False)


MIN_OUTPUT_STEPS = 4  # even an item with one encoder frame may say a few tokens


def output_limits(memory_lens: torch.Tensor, tokens_per_frame: float) -> list[int]:
    """Each item's step limit for a search: `tokens_per_frame` tokens per encoder frame (for a picture,
    per grid position), at least MIN_OUTPUT_STEPS. Per item, so that an item decodes alike in any batch."""
    return [max(MIN_OUTPUT_STEPS, math.ceil(tokens_per_frame * length)) for length in memory_lens.tolist()]


def decode_with(decoding: DecodingConfig, decoder: StepDecoder, memory: torch.Tensor, memory_lens: torch.Tensor,
                ctc_log_probs: torch.Tensor | None = None) -> list[AttentionHypothesis]:
    """The search `decoding` names (greedy, or beam search with its length penalty), rescored with CTC prefix
    scores when `ctc_log_probs` `(B, T, V)` (a joint model's, on the memory's frames) and decoding.ctc_weight
    > 0 are given. One best hypothesis per item."""
    limits = output_limits(memory_lens, decoding.max_length_ratio)
    if decoding.decoder == "greedy":
        return greedy_search(decoder, memory, memory_lens, limits)
    use_ctc = ctc_log_probs is not None and decoding.ctc_weight > 0
    found = beam_search(decoder, memory, memory_lens, decoding.beam_size, limits, decoding.length_penalty,
                        ctc_log_probs if use_ctc else None, memory_lens if use_ctc else None,
                        decoding.ctc_weight if use_ctc else 0.0)
    return [nbest[0] for nbest in found]


# ---------------------------------------------------------------------------------------------------
# Greedy search


@torch.no_grad()
def greedy_search(decoder: StepDecoder, memory: torch.Tensor, memory_lens: torch.Tensor,
                  max_len: int | Sequence[int] | torch.Tensor) -> list[AttentionHypothesis]:
    """The most likely next token at every step, for the whole batch at once.

    memory `(B, T, D)`, memory_lens `(B,)` -> one hypothesis per item. An item stops at `<eos>`; one that
    has not emitted it after `max_len` steps (one limit for all, or one per item: `(B,)`, so that an item
    decodes the same in any batch) ends there, with `max_len` tokens and no `<eos>`. Rows of ended items
    leave the batch, so long items do not make short ones pay for extra steps.
    """
    max_lens = _item_limits(max_len, memory.shape[0])
    _check_inputs(memory, memory_lens, max_lens)
    device = memory.device
    row_limits = torch.tensor(max_lens, device=device)
    state = decoder.start(memory, memory_lens)
    items = torch.arange(memory.shape[0], device=device)  # the item of each row
    previous = torch.full_like(items, decoder.sos_id)
    totals = torch.zeros(items.shape, dtype=torch.float32, device=device)
    # One entry per step, one element per row of that step; assembled per item once the search is over,
    # so that the loop syncs with the device only to learn which rows go on.
    step_items, step_tokens, step_totals, step_weights = [], [], [], []
    for step in range(max(max_lens)):
        log_probs, state, weights = decoder.step(state, previous)
        best_log_probs, best = log_probs.max(dim=-1)
        # A running total, added in the same order as beam_search adds it: beam size 1 gives the same floats.
        totals = totals + best_log_probs
        step_items.append(items)
        step_tokens.append(best)
        step_totals.append(totals)
        step_weights.append(weights)
        going_on = ((best != decoder.eos_id) & (step + 1 < row_limits[items])).nonzero().squeeze(1)
        if going_on.numel() == 0:
            break
        if going_on.numel() < items.numel():
            state = decoder.select(state, going_on)
            items, totals, best = items[going_on], totals[going_on], best[going_on]
        previous = best
    positions: list[list[int]] = [[] for _ in range(memory.shape[0])]
    for position, item in enumerate(torch.cat(step_items).tolist()):
        positions[item].append(position)
    tokens, totals_list = torch.cat(step_tokens).tolist(), torch.cat(step_totals).tolist()
    weights = torch.cat(step_weights)
    hypotheses = []
    for item, (item_positions, length) in enumerate(zip(positions, memory_lens.tolist())):
        emitted = [tokens[position] for position in item_positions]
        if emitted[-1] == decoder.eos_id:
            emitted.pop()
        log_prob = totals_list[item_positions[-1]]
        attention = weights[torch.tensor(item_positions, device=weights.device), :length]
        hypotheses.append(AttentionHypothesis(tuple(emitted), log_prob, log_prob, attention))
    return hypotheses


# ---------------------------------------------------------------------------------------------------
# CTC prefix scores


@dataclass(frozen=True, eq=False)  # tensors have no truth value to compare
class CTCPrefixScorer:
    """CTC forward variables of N hypotheses (rows), each reading the emissions of one item.

    Column t of the forward variables is "after frame t" (t = 1..T'), column 0 "before the first frame";
    for the prefix g of a row:
      nonblank[:, t]  log-prob that frames 1..t emit exactly g, the path ending in g's last label (r^n_t(g)),
      blank[:, t]     the same with the path ending in a blank (r^b_t(g)).
    The empty prefix has blank[:, t] = log of the product of the blank's probabilities over frames 1..t.

    Frames beyond an item's length are padded so that they can only be blank, with probability 1: the
    recursion then carries each row's variables unchanged to column T', so every row's full-sequence
    score reads the last column, and no prefix can place a label there.

    Start with `CTCPrefixScorer.start`, then `extend` by candidate labels and `select` rows, as a search
    does with the decoder's state. Labels must never be the blank (it is no label: the attention's <eos>).
    """

    emissions: torch.Tensor  # (B, T', V) padded log-probs, shared by all rows
    items: torch.Tensor  # (N,) the item whose emissions each row reads
    nonblank: torch.Tensor  # (N, T' + 1)
    blank: torch.Tensor  # (N, T' + 1)
    last: torch.Tensor  # (N,) the last label of each prefix, the blank for the empty prefix
    blank_id: int
    # The shortest prefix among the rows (all rows of a beam search are equally long): an extension of a
    # prefix of n labels needs n + 1 frames, so the recursion may skip the first n.
    min_length: int

    @classmethod
    def start(cls, log_probs: torch.Tensor, log_probs_lens: torch.Tensor,
              blank_id: int = BLANK_ID) -> CTCPrefixScorer:
        """log_probs `(B, T', V)` (normalised), log_probs_lens `(B,)` -> B rows holding the empty prefix."""
        if log_probs.dim() != 3 or log_probs_lens.shape != log_probs.shape[:1]:
            raise ValueError(f"CTC log_probs must be (B, T, V) with lengths (B,), got {tuple(log_probs.shape)} "
                             f"and {tuple(log_probs_lens.shape)}")
        if not 0 <= blank_id < log_probs.shape[2]:
            raise ValueError(f"blank_id {blank_id} is outside the CTC vocabulary of {log_probs.shape[2]}")
        lens = log_probs_lens.to(log_probs.device)
        num_frames = int(lens.max().item()) if lens.numel() else 0  # padding past every item is never read
        if lens.numel() and (int(lens.min().item()) < 0 or num_frames > log_probs.shape[1]):
            raise ValueError(f"CTC lengths must lie in [0, {log_probs.shape[1]}], got {lens.tolist()}")
        # float32 at least: half-precision sums over hundreds of frames lose the differences between prefixes
        dtype = torch.promote_types(log_probs.dtype, torch.float32)
        emissions = log_probs[:, :num_frames].to(dtype)
        padded = torch.arange(num_frames, device=lens.device)[None, :] >= lens[:, None]  # (B, T')
        emissions = emissions.masked_fill(padded[:, :, None], NEG_INF)
        emissions[:, :, blank_id] = emissions[:, :, blank_id].masked_fill(padded, 0.0)
        batch_size = emissions.shape[0]
        no_frames = emissions.new_zeros(batch_size, 1)
        return cls(emissions=emissions, items=torch.arange(batch_size, device=lens.device),
                   nonblank=torch.full((batch_size, num_frames + 1), NEG_INF, dtype=dtype, device=lens.device),
                   blank=torch.cat([no_frames, emissions[:, :, blank_id].cumsum(dim=1)], dim=1),
                   last=torch.full((batch_size,), blank_id, dtype=torch.long, device=lens.device),
                   blank_id=blank_id, min_length=0)

    def select(self, rows: torch.Tensor) -> CTCPrefixScorer:
        """rows `(N',)` long, repeats allowed -> the scorer of those rows."""
        return CTCPrefixScorer(self.emissions, self.items[rows], self.nonblank[rows], self.blank[rows],
                               self.last[rows], self.blank_id, self.min_length)

    def full_scores(self) -> torch.Tensor:
        """-> `(N,)` log p_ctc(prefix): the log-prob that the whole CTC output is exactly each row's prefix."""
        return torch.logaddexp(self.nonblank[:, -1], self.blank[:, -1])

    def extend(self, labels: torch.Tensor) -> tuple[torch.Tensor, CTCPrefixScorer]:
        """labels `(N, C)` long, C candidates per row (never the blank) -> prefix scores `(N, C)`, the log of
        ψ(prefix + label), and the scorer of the N * C extended prefixes (row n, candidate c -> n * C + c)."""
        num_rows, num_labels = labels.shape
        num_frames = self.emissions.shape[1]
        frames = torch.arange(num_frames, device=labels.device)
        # (T', N, C): the emission of each candidate label at each frame, and (T', N, 1) the blank's
        label_emissions = self.emissions[self.items[None, :, None], frames[:, None, None], labels[None, :, :]]
        blank_emissions = self.emissions[self.items, :, self.blank_id].T[:, :, None]
        # phi[t]: frames 1..t emitted the prefix in a way that lets frame t + 1 start the new label: after a
        # blank, or after the prefix's last label if the new one differs (a repeat needs a blank between).
        repeats = (labels == self.last[:, None])[None, :, :]
        phi = torch.logaddexp(self.blank.T[:, :, None],
                              self.nonblank.T[:, :, None].masked_fill(repeats, NEG_INF))  # (T' + 1, N, C)
        # The new label starts at frame t + 1 after phi[t]; the rest of the frames may emit anything.
        prefix_scores = torch.logsumexp(phi[:-1] + label_emissions, dim=0)
        nonblank = phi.new_full(phi.shape, NEG_INF)
        blank = phi.new_full(phi.shape, NEG_INF)
        for frame in range(self.min_length + 1, num_frames + 1):
            nonblank[frame] = torch.logaddexp(nonblank[frame - 1], phi[frame - 1]) + label_emissions[frame - 1]
            blank[frame] = torch.logaddexp(blank[frame - 1], nonblank[frame - 1]) + blank_emissions[frame - 1]
        extended = CTCPrefixScorer(
            self.emissions, self.items.repeat_interleave(num_labels),
            nonblank.permute(1, 2, 0).reshape(num_rows * num_labels, num_frames + 1),
            blank.permute(1, 2, 0).reshape(num_rows * num_labels, num_frames + 1),
            labels.reshape(-1), self.blank_id, self.min_length + 1)
        return prefix_scores, extended


# ---------------------------------------------------------------------------------------------------
# Beam search


@dataclass(frozen=True)
class _Ended:
    """A finished hypothesis; its attention rows are traced back from (step, row) only if it is returned."""

    score: float
    log_prob: float
    tokens: tuple[int, ...]
    step: int  # the last step of the hypothesis
    row: int  # its row at that step


@torch.no_grad()
def beam_search(decoder: StepDecoder, memory: torch.Tensor, memory_lens: torch.Tensor, beam_size: int,
                max_len: int | Sequence[int] | torch.Tensor, length_penalty: float = 0.0,
                ctc_log_probs: torch.Tensor | None = None, ctc_lens: torch.Tensor | None = None,
                ctc_weight: float = 0.0, blank_id: int = BLANK_ID,
                nbest: int = 1, pre_beam: int | None = None) -> list[list[AttentionHypothesis]]:
    """Beam search of a batch: memory `(B, T, D)`, memory_lens `(B,)` -> the `nbest` best hypotheses of each
    item, best first.

    Every step makes one `decoder.step` call on `beam_size` rows per unfinished item. Each item keeps the
    `beam_size` best of all its rows' one-token extensions (`<eos>` included); those ending in `<eos>` are
    finished, the others are its live rows for the next step (so an item may have fewer live rows than
    `beam_size`). With beam_size 1 this is exactly `greedy_search`. Hypotheses still live after `max_len`
    steps (one limit, or one per item `(B,)`) are finished as they are (no `<eos>` term in their scores).

    Ranking: score = total / (len(tokens) + 1) ** length_penalty, where total is the attention log-prob, or
    with CTC the fused score of the module docstring; length_penalty 0 means no normalisation. Live rows
    all have the same length, so normalising changes only how finished hypotheses of different lengths
    compare.

    Stopping rule: an item stops when it has no live row, or when it has `nbest` finished hypotheses and
    none of its live rows can still beat the n-th best of them. Totals never increase (log-probs are <= 0
    and ψ(g c) <= ψ(g), p_ctc(g) <= ψ(g)), so a live row with total s can reach at most s / (n + 1) **
    length_penalty over the token counts n it may still end with: stopping early never changes the result.

    Joint CTC/attention (ctc_weight λ in (0, 1], with ctc_log_probs `(B, T', V)` and ctc_lens `(B,)` on the
    memory's device, sharing the attention's ids): the blank (`blank_id`) is never proposed as a label; it
    is the `<eos>` id, whose CTC term is log p_ctc(prefix). CTC prefix scores cost a pass over the frames
    per step, so they are computed only for the `pre_beam` labels the attention likes best in each row:
    by default min(number of labels, int(1.5 * beam_size) + 4), i.e. the 1.5 x beam of Watanabe et al.
    (room to refill the beam when CTC vetoes a third of the attention's choices) plus 4, so that a narrow
    beam still lets CTC overrule the attention's first few choices. With λ = 1 the attention has no say,
    so every label is scored.
    """
    max_lens = _item_limits(max_len, memory.shape[0])
    _check_inputs(memory, memory_lens, max_lens)
    _check_beam_options(beam_size, nbest, length_penalty, ctc_weight, ctc_log_probs, ctc_lens, pre_beam)
    device = memory.device
    batch_size, eos_id = memory.shape[0], decoder.eos_id
    rows = torch.arange(batch_size, device=device).repeat_interleave(beam_size)
    state = decoder.select(decoder.start(memory, memory_lens), rows)
    ctc = None
    if ctc_log_probs is not None and ctc_weight > 0:
        if ctc_log_probs.shape[0] != batch_size:
            raise ValueError(f"ctc_log_probs holds {ctc_log_probs.shape[0]} items, memory {batch_size}")
        ctc = CTCPrefixScorer.start(ctc_log_probs, ctc_lens, blank_id).select(rows)
    # Row b * beam_size + k is beam k of the b-th unfinished item; at first only beam 0 is live, so the
    # first step does not propose each extension beam_size times.
    alive = torch.arange(rows.numel(), device=device) % beam_size == 0
    attention_totals = torch.zeros(rows.shape, dtype=torch.float32, device=device)
    previous = torch.full_like(rows, decoder.sos_id)
    item_list = list(range(batch_size))  # the item of each block of beam_size rows
    prefixes: list[tuple[int, ...]] = [()] * rows.numel()  # tokens of each row (CPU copy for the results)
    ended: list[list[_Ended]] = [[] for _ in range(batch_size)]
    step_weights: list[torch.Tensor] = []  # attention weights of every row at every step
    parents: list[list[int]] = []  # parents[i][r]: the row at step i of row r at step i + 1
    for step in range(max(max_lens)):
        log_probs, state, weights = decoder.step(state, previous)
        step_weights.append(weights)
        num_items, vocab_size = len(item_list), log_probs.shape[1]
        fused, candidates, extended, extended_rows = _fused_scores(attention_totals, log_probs, ctc, ctc_weight,
                                                                   eos_id, blank_id, beam_size, pre_beam)
        fused = fused.masked_fill(~alive[:, None], NEG_INF).view(num_items, beam_size * vocab_size)
        top_scores, top_index = fused.topk(beam_size, dim=1)  # (A, K) over all beams' extensions of an item
        top_att = candidates.view(num_items, -1).gather(1, top_index)
        sources = top_index // vocab_size + torch.arange(num_items, device=device)[:, None] * beam_size
        tokens = top_index % vocab_size
        kept, alive_list, prefixes = _settle_step(
            item_list, top_scores.tolist(), top_att.tolist(), sources.tolist(), tokens.tolist(), prefixes, ended,
            step, max_lens, eos_id, nbest, length_penalty)
        if not kept:
            break
        # Carry the kept items' K chosen extensions (dead slots included: they are masked next step).
        kept_index = torch.tensor(kept, device=device)
        next_rows = sources[kept_index].reshape(-1)
        parents.append(next_rows.tolist())
        item_list = [item_list[index] for index in kept]
        state = decoder.select(state, next_rows)
        if ctc is not None:
            ctc = extended.select(extended_rows.view(num_items, -1).gather(1, top_index)[kept_index].reshape(-1))
        previous = tokens[kept_index].reshape(-1)
        attention_totals = top_att[kept_index].reshape(-1)
        alive = torch.tensor(alive_list, dtype=torch.bool, device=device)
    return _best_hypotheses(ended, nbest, step_weights, parents, memory_lens.tolist())


def _fused_scores(attention_totals: torch.Tensor, log_probs: torch.Tensor, ctc: CTCPrefixScorer | None,
                  ctc_weight: float, eos_id: int, blank_id: int, beam_size: int, pre_beam: int | None
                  ) -> tuple[torch.Tensor, torch.Tensor, CTCPrefixScorer | None, torch.Tensor | None]:
    """attention_totals `(N,)`, log_probs `(N, V)` -> the ranking totals of every extension `(N, V)` (-inf where not
    scored), their attention log-probs `(N, V)`, and with CTC the scorer of the N * C scored extensions and
    `(N, V)` the row of each extension in that scorer (any row where not scored: such a one is never kept)."""
    candidates = attention_totals[:, None] + log_probs
    if ctc is None:
        return candidates, candidates, None, None
    num_rows, vocab_size = log_probs.shape
    if ctc.emissions.shape[2] != vocab_size:
        raise ValueError(f"the CTC vocabulary has {ctc.emissions.shape[2]} ids, the attention decoder's "
                         f"{vocab_size}; joint decoding needs one table of ids")
    proposable = log_probs.clone()
    proposable[:, [blank_id, eos_id]] = NEG_INF  # the blank is no label; <eos> is scored below
    num_labels = vocab_size - len({blank_id, eos_id})
    if ctc_weight >= 1.0:
        num_candidates = num_labels
    else:
        num_candidates = min(num_labels, pre_beam if pre_beam is not None else int(1.5 * beam_size) + 4)
    labels = proposable.topk(num_candidates, dim=1).indices  # (N, C)
    prefix_scores, extended = ctc.extend(labels)
    label_scores = ctc_weight * prefix_scores
    eos_scores = ctc_weight * ctc.full_scores()
    if ctc_weight < 1.0:  # at λ = 1 the attention term is left out, not multiplied by 0 (0 * -inf is NaN)
        label_scores = label_scores + (1.0 - ctc_weight) * candidates.gather(1, labels)
        eos_scores = eos_scores + (1.0 - ctc_weight) * candidates[:, eos_id]
    fused = candidates.new_full(candidates.shape, NEG_INF).scatter(1, labels, label_scores.to(candidates.dtype))
    fused[:, eos_id] = eos_scores.to(candidates.dtype)
    extended_rows = labels.new_zeros(num_rows, vocab_size).scatter(
        1, labels, torch.arange(num_rows * num_candidates, device=labels.device).view(num_rows, num_candidates))
    return fused, candidates, extended, extended_rows


def _normalised(total: float, num_tokens: int, length_penalty: float) -> float:
    return total / (num_tokens + 1) ** length_penalty


def _settle_step(item_list: list[int], scores: list[list[float]], att_log_probs: list[list[float]],
                 sources: list[list[int]], tokens: list[list[int]], prefixes: list[tuple[int, ...]],
                 ended: list[list[_Ended]], step: int, max_lens: list[int], eos_id: int, nbest: int,
                 length_penalty: float) -> tuple[list[int], list[bool], list[tuple[int, ...]]]:
    """Sort each unfinished item's chosen extensions `(A, K)` (fused totals, attention log-probs, source
    rows, tokens) into finished ones (appended to `ended`) and live ones; decide which items go on.

    -> the indices of the items that go on, and for their K slots each: whether it is live, its prefix.
    """
    kept, alive, next_prefixes = [], [], []
    for index, item in enumerate(item_list):
        item_alive, item_prefixes = [], []
        for score, att, source, token in zip(scores[index], att_log_probs[index], sources[index], tokens[index]):
            prefix = prefixes[source]
            live = score != NEG_INF and token != eos_id and step < max_lens[item] - 1
            if score == NEG_INF:  # from a dead row, or impossible under CTC
                pass
            elif token == eos_id:
                ended[item].append(_Ended(_normalised(score, len(prefix), length_penalty), att, prefix, step, source))
            elif not live:  # cut at max_len
                ended[item].append(_Ended(_normalised(score, len(prefix) + 1, length_penalty), att, prefix + (token,),
                                          step, source))
            item_alive.append(live)
            item_prefixes.append(prefix + (token,) if live else ())
        live_scores = [score for score, live in zip(scores[index], item_alive) if live]
        if not _item_done(ended[item], live_scores, nbest, length_penalty, step, max_lens[item]):
            kept.append(index)
            alive.extend(item_alive)
            next_prefixes.extend(item_prefixes)
    return kept, alive, next_prefixes


def _item_done(ended: list[_Ended], live_scores: list[float], nbest: int, length_penalty: float, step: int,
               max_len: int) -> bool:
    """The stopping rule of `beam_search`, for one item after `step`."""
    if not live_scores:
        return True
    if len(ended) < nbest:
        return False
    nth_best = sorted((hypothesis.score for hypothesis in ended), reverse=True)[nbest - 1]
    best_live = max(live_scores)
    # A live row has step + 1 tokens and may end with up to max_len; total / (n + 1) ** p is largest at
    # one end of that range (the far end for a negative total, the near one for a rounding-positive total).
    reachable = max(_normalised(best_live, step + 1, length_penalty),
                    _normalised(best_live, max_len, length_penalty))
    return reachable <= nth_best


def _best_hypotheses(ended: list[list[_Ended]], nbest: int, step_weights: list[torch.Tensor],
                     parents: list[list[int]], memory_lens: list[int]) -> list[list[AttentionHypothesis]]:
    """The n best finished hypotheses of each item, best first, with their attention weights traced back."""
    all_weights = torch.cat(step_weights)
    offsets = [0]
    for weights in step_weights:
        offsets.append(offsets[-1] + weights.shape[0])
    results = []
    for item, (item_ended, length) in enumerate(zip(ended, memory_lens)):
        if not item_ended:  # only -inf everywhere can do this: a model or emission holding -inf or NaN
            raise ValueError(f"beam_search found no hypothesis of finite score for item {item}")
        best = sorted(item_ended, key=lambda hypothesis: hypothesis.score, reverse=True)[:nbest]
        item_results = []
        for hypothesis in best:
            positions, row = [], hypothesis.row
            for step in range(hypothesis.step, -1, -1):
                positions.append(offsets[step] + row)
                if step:
                    row = parents[step - 1][row]
            index = torch.tensor(positions[::-1], device=all_weights.device)
            item_results.append(AttentionHypothesis(hypothesis.tokens, hypothesis.score, hypothesis.log_prob,
                                                    all_weights[index, :length]))
        results.append(item_results)
    return results


def _item_limits(max_len: int | Sequence[int] | torch.Tensor, batch_size: int) -> list[int]:
    """One step limit per item, from one limit for all or one per item."""
    if isinstance(max_len, torch.Tensor):
        max_len = max_len.tolist()
    limits = [int(max_len)] * batch_size if isinstance(max_len, (int, float)) else [int(limit) for limit in max_len]
    if len(limits) != batch_size:
        raise ValueError(f"max_len gives {len(limits)} limits for {batch_size} items")
    return limits


def _check_inputs(memory: torch.Tensor, memory_lens: torch.Tensor, max_lens: list[int]) -> None:
    if memory.dim() != 3 or memory_lens.shape != memory.shape[:1]:
        raise ValueError(f"memory must be (B, T, D) with memory_lens (B,), got {tuple(memory.shape)} "
                         f"and {tuple(memory_lens.shape)}")
    if max_lens and min(max_lens) < 1:
        raise ValueError(f"max_len must be >= 1, got {min(max_lens)}")


def _check_beam_options(beam_size: int, nbest: int, length_penalty: float, ctc_weight: float,
                        ctc_log_probs: torch.Tensor | None, ctc_lens: torch.Tensor | None,
                        pre_beam: int | None) -> None:
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if not 1 <= nbest <= beam_size:
        raise ValueError(f"nbest must lie in [1, beam_size={beam_size}], got {nbest}")
    if length_penalty < 0:
        raise ValueError(f"length_penalty must be >= 0, got {length_penalty}")
    if not 0.0 <= ctc_weight <= 1.0:
        raise ValueError(f"ctc_weight must lie in [0, 1], got {ctc_weight}")
    if ctc_weight > 0 and (ctc_log_probs is None or ctc_lens is None):
        raise ValueError(f"ctc_weight={ctc_weight} needs ctc_log_probs and ctc_lens")
    if pre_beam is not None and pre_beam < 1:
        raise ValueError(f"pre_beam must be >= 1, got {pre_beam}")
