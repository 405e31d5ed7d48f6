"""Length-bucketing batch sampler with exact, reproducible resume.

Batches hold items of similar length, so little of each batch is padding. The order of an epoch is a pure
function of (seed, epoch): nothing depends on how many epochs ran before in this process, which is what
makes a resumed run take exactly the batches an uninterrupted run would have taken.

Resume contract (the trainer tells the sampler what it consumed; the sampler never counts for itself,
because a DataLoader fetches batches ahead of the training step, so "yielded" is not "trained on"):

    sampler.load_state_dict(checkpoint["sampler"])      # e.g. {"epoch": 3, "batches_done": 17}
    for epoch in range(checkpoint_epoch, num_epochs):
        sampler.set_epoch(epoch)                         # same epoch as loaded: keeps batches_done
        for batch in loader:                             # yields only the batches not yet done
            train_step(batch)
            sampler.mark_batch_done()                    # after the optimiser step
        save({"sampler": sampler.state_dict(), ...})

Each batch is a list of (index, augment_seed) pairs; the dataset seeds its per-item augmentation with
augment_seed, which depends on (seed, epoch, index) only, so augmentation is the same with any number of
DataLoader workers and after a resume.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

logger = logging.getLogger(__name__)

# Seeds handed to datasets are kept below 2**63 so they fit torch.manual_seed, numpy and a signed int64.
AUGMENT_SEED_BITS = 63


def _mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on uint64 arrays: a bijection that spreads every input bit over the output."""
    values = values.astype(np.uint64, copy=True)
    values ^= values >> np.uint64(30)
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    values ^= values >> np.uint64(31)
    return values


def augment_seeds(seed: int, epoch: int, indices: np.ndarray) -> np.ndarray:
    """Per-item augmentation seeds, a pure function of (seed, epoch, index); int64 array like `indices`.

    Each of the three inputs goes through the mixer before the next is added, so neighbouring seeds,
    epochs or indices give unrelated outputs.
    """
    state = _mix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
    state = _mix64(state + np.uint64(epoch & 0xFFFFFFFFFFFFFFFF))
    mixed = _mix64(state + np.asarray(indices, dtype=np.uint64))
    return (mixed >> np.uint64(64 - AUGMENT_SEED_BITS)).astype(np.int64)


def augment_seed(seed: int, epoch: int, index: int) -> int:
    """The seed that BucketBatchSampler pairs with `index` in `epoch` (for tests and offline tools)."""
    return int(augment_seeds(seed, epoch, np.array([index]))[0])


class BucketBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches of items of similar length, shuffled per epoch, resumable mid-epoch.

    lengths: one length per item (seconds, frames or pixels: any unit, the same as max_batch_frames).
    batch_size: a fixed number of items per batch; or
    max_batch_frames: the most padded length per batch, len(batch) * longest item in it.
    shuffle: shuffle the order of batches and jitter lengths by up to `length_jitter` (relative) before
        sorting, so the same items are not always batched together; without it, batches run from
        shortest to longest, the same every epoch.
    drop_last: drop an incomplete final batch (only with batch_size: with max_batch_frames every batch
        is as full as its budget allows, so there is no "incomplete" one).
    """

    def __init__(self, lengths: Sequence[float], batch_size: int | None = None,
                 max_batch_frames: float | None = None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False, length_jitter: float = 0.1) -> None:
        if (batch_size is None) == (max_batch_frames is None):
            raise ValueError("give exactly one of batch_size and max_batch_frames")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if max_batch_frames is not None and not (math.isfinite(max_batch_frames) and max_batch_frames > 0):
            raise ValueError(f"max_batch_frames must be a positive number, got {max_batch_frames!r}")
        if drop_last and max_batch_frames is not None:
            raise ValueError("drop_last applies to batch_size only, not to max_batch_frames")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        if not 0 <= length_jitter < 1:
            raise ValueError(f"length_jitter must be in [0, 1), got {length_jitter!r}")

        self.lengths = np.asarray(lengths, dtype=np.float64)
        if self.lengths.ndim != 1 or self.lengths.size == 0:
            raise ValueError(f"lengths must be a non-empty 1-D sequence, got shape {self.lengths.shape}")
        bad = np.flatnonzero(~np.isfinite(self.lengths) | (self.lengths < 0))
        if bad.size:
            raise ValueError(f"{bad.size} lengths are negative or not finite, e.g. index {bad[0]}: "
                             f"{self.lengths[bad[0]]}")
        if max_batch_frames is not None:
            too_long = np.flatnonzero(self.lengths > max_batch_frames)
            if too_long.size:
                shown = ", ".join(f"{index} ({self.lengths[index]:g})" for index in too_long[:20])
                raise ValueError(f"{too_long.size} items are longer than max_batch_frames={max_batch_frames:g} "
                                 f"and fit no batch; filter them out first: {shown}")

        self._length_list = self.lengths.tolist()  # Python floats: the greedy cut below indexes them one by one
        self.batch_size = batch_size
        self.max_batch_frames = max_batch_frames
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.length_jitter = length_jitter
        self.epoch = 0
        self.batches_done = 0
        self._cached_epoch: int | None = None
        self._cached_batches: list[list[int]] = []

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """All batches of `epoch` in order, as lists of item indices: a pure function of (seed, epoch).

        The one place where batches are made; a distributed sampler takes its rank's share of this list.
        """
        if epoch == self._cached_epoch:
            return self._cached_batches
        # SeedSequence from (seed, epoch) rather than seed + epoch, so seed 1 epoch 0 != seed 0 epoch 1.
        generator = np.random.default_rng([self.seed, epoch])
        if self.shuffle:
            jitter = generator.uniform(-self.length_jitter, self.length_jitter, size=self.lengths.size)
            order = np.argsort(self.lengths * (1.0 + jitter), kind="stable")
        else:
            order = np.argsort(self.lengths, kind="stable")

        if self.batch_size is not None:
            batches = [order[start:start + self.batch_size].tolist()
                       for start in range(0, order.size, self.batch_size)]
            if self.drop_last and len(batches[-1]) < self.batch_size:
                batches.pop()
        else:
            batches = self._cut_by_frames(order)

        if self.shuffle:
            batches = [batches[position] for position in generator.permutation(len(batches))]
        self._cached_epoch, self._cached_batches = epoch, batches
        return batches

    def _cut_by_frames(self, order: np.ndarray) -> list[list[int]]:
        """Greedy cut of `order` so that len(batch) * max length in batch <= max_batch_frames.

        The running maximum is taken over the true lengths: after jittered sorting the last item of a
        batch is not necessarily its longest.
        """
        batches: list[list[int]] = []
        batch: list[int] = []
        longest = 0.0
        for index in order.tolist():
            length = self._length_list[index]
            if batch and (len(batch) + 1) * max(longest, length) > self.max_batch_frames:
                batches.append(batch)
                batch, longest = [], 0.0
            batch.append(index)
            longest = max(longest, length)
        if batch:
            batches.append(batch)
        return batches

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch to iterate; a new epoch starts with no batches done, the current one keeps its count."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
        if epoch != self.epoch:
            self.epoch = epoch
            self.batches_done = 0

    def mark_batch_done(self) -> None:
        """Record that the trainer has finished one more batch of the current epoch (call after the step)."""
        num_batches = len(self)
        if self.batches_done >= num_batches:
            raise RuntimeError(f"epoch {self.epoch} has only {num_batches} batches, all already marked done")
        self.batches_done += 1

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batches_done": self.batches_done}

    def load_state_dict(self, state: dict[str, int]) -> None:
        for key in ("epoch", "batches_done"):
            value = state.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"sampler state: {key!r} must be a non-negative integer, got {value!r}")
        num_batches = len(self.epoch_batches(state["epoch"]))
        if not 0 <= state["batches_done"] <= num_batches:
            raise ValueError(f"sampler state: batches_done={state['batches_done']} is outside "
                             f"[0, {num_batches}] for epoch {state['epoch']}; was the dataset or seed changed?")
        self.epoch = state["epoch"]
        self.batches_done = state["batches_done"]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        # Epoch and skip count are read now, when iteration starts, not lazily at the first next():
        # mark_batch_done() calls during the epoch must not shift the batches still to come.
        batches = self.epoch_batches(self.epoch)[self.batches_done:]
        if not batches:
            logger.warning("sampler: all %d batches of epoch %d are done; call set_epoch(%d) to go on",
                           len(self), self.epoch, self.epoch + 1)
        seeds = augment_seeds(self.seed, self.epoch, np.arange(self.lengths.size))
        return ([(index, int(seeds[index])) for index in batch] for batch in batches)

    def __len__(self) -> int:
        """Batches in the current epoch (with max_batch_frames it may differ by a few between epochs)."""
        return len(self.epoch_batches(self.epoch))


class ShardedBatchSampler(Sampler[list[tuple[int, int]]]):
    """One process's share of every batch of a BucketBatchSampler, for data-parallel training.

    All processes draw the same global batches (same seed, same epoch) and process `rank` takes the
    items at positions rank, rank + world_size, ... of each: the batch size in the config stays the
    global one, and N processes give the same gradient as one when the batch divides evenly (each
    process's mean loss weighs equally in the averaged gradient, so items of a smaller share weigh a
    little more otherwise). A batch with fewer items than processes is cycled, so that no process is
    left without an item while the others wait for it.
    Epoch, progress and resumption stay with the wrapped sampler.
    """

    def __init__(self, sampler: BucketBatchSampler, rank: int, world_size: int) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
        self.sampler, self.rank, self.world_size = sampler, rank, world_size

    def shard(self, batch: list) -> list:
        if len(batch) < self.world_size:
            return [batch[self.rank % len(batch)]]
        return batch[self.rank::self.world_size]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        return (self.shard(batch) for batch in iter(self.sampler))

    def __len__(self) -> int:
        return len(self.sampler)
