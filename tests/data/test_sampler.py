"""BucketBatchSampler: coverage, budgets, determinism per (seed, epoch), exact resume, augmentation seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asr.data.sampler import BucketBatchSampler, augment_seed

LENGTHS = np.random.default_rng(1).uniform(1.0, 20.0, size=103).round(2).tolist()


def indices_of(batches) -> list[list[int]]:
    return [[index for index, _ in batch] for batch in batches]


@pytest.mark.parametrize("options", [
    {"batch_size": 8}, {"batch_size": 8, "shuffle": False}, {"max_batch_frames": 60.0},
    {"max_batch_frames": 60.0, "shuffle": False},
])
def test_every_index_exactly_once_per_epoch(options):
    sampler = BucketBatchSampler(LENGTHS, **options)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = indices_of(sampler)
        assert len(batches) == len(sampler)
        assert sorted(index for batch in batches for index in batch) == list(range(len(LENGTHS)))


def test_batch_size_and_drop_last():
    assert [len(batch) for batch in BucketBatchSampler(LENGTHS, batch_size=10, shuffle=False)] == [10] * 10 + [3]
    sampler = BucketBatchSampler(LENGTHS, batch_size=10, drop_last=True)
    assert len(sampler) == 10 and all(len(batch) == 10 for batch in sampler)


def test_batches_respect_max_batch_frames():
    for shuffle in (True, False):
        sampler = BucketBatchSampler(LENGTHS, max_batch_frames=60.0, shuffle=shuffle)
        for batch in sampler.epoch_batches(0):
            assert len(batch) * max(LENGTHS[index] for index in batch) <= 60.0


def test_unshuffled_batches_run_from_short_to_long():
    batches = BucketBatchSampler(LENGTHS, batch_size=10, shuffle=False).epoch_batches(0)
    flat = [LENGTHS[index] for batch in batches for index in batch]
    assert flat == sorted(LENGTHS)


def test_shuffled_batches_still_group_similar_lengths():
    # Jitter of 10% may swap neighbours but keeps each batch's spread far below the corpus's (1..20).
    for batch in BucketBatchSampler(LENGTHS, batch_size=10).epoch_batches(0):
        lengths = [LENGTHS[index] for index in batch]
        assert max(lengths) - min(lengths) < 6.0


def test_order_is_a_pure_function_of_seed_and_epoch():
    first = BucketBatchSampler(LENGTHS, max_batch_frames=60.0, seed=5)
    second = BucketBatchSampler(LENGTHS, max_batch_frames=60.0, seed=5)
    for epoch in range(3):  # history does not matter: epochs 0..2 then 2 equals 2 directly
        first.set_epoch(epoch)
        epoch_two_via_history = list(first)
    second.set_epoch(2)
    assert list(second) == epoch_two_via_history

    assert first.epoch_batches(0) != first.epoch_batches(1)
    assert first.epoch_batches(0) != BucketBatchSampler(LENGTHS, max_batch_frames=60.0, seed=6).epoch_batches(0)


def test_augment_seeds_depend_on_seed_epoch_and_index_only():
    sampler = BucketBatchSampler(LENGTHS, batch_size=4, seed=3)
    sampler.set_epoch(1)
    pairs = dict(pair for batch in sampler for pair in batch)
    assert pairs == {index: augment_seed(3, 1, index) for index in range(len(LENGTHS))}
    assert len(set(pairs.values())) == len(LENGTHS)
    assert all(0 <= value < 2**63 for value in pairs.values())
    assert augment_seed(3, 1, 0) != augment_seed(3, 2, 0) != augment_seed(4, 1, 0)
    assert augment_seed(3, 1, 0) != augment_seed(3, 1, 1)


def test_resumed_sampler_yields_exactly_the_remaining_batches():
    uninterrupted = BucketBatchSampler(LENGTHS, max_batch_frames=60.0, seed=9)
    uninterrupted.set_epoch(4)
    full_epoch = list(uninterrupted)

    interrupted = BucketBatchSampler(LENGTHS, max_batch_frames=60.0, seed=9)
    interrupted.set_epoch(4)
    for _ in zip(range(7), iter(interrupted)):  # a DataLoader may fetch more than the trainer uses
        interrupted.mark_batch_done()
    state = interrupted.state_dict()
    assert state == {"epoch": 4, "batches_done": 7}

    resumed = BucketBatchSampler(LENGTHS, max_batch_frames=60.0, seed=9)
    resumed.load_state_dict(state)
    resumed.set_epoch(4)  # the training loop re-enters the same epoch: the count is kept
    assert list(resumed) == full_epoch[7:]
    resumed.set_epoch(5)  # a new epoch starts from its first batch
    assert resumed.state_dict() == {"epoch": 5, "batches_done": 0}
    assert len(list(resumed)) == len(resumed)


def test_marks_during_iteration_do_not_shift_the_running_epoch():
    sampler = BucketBatchSampler(LENGTHS, batch_size=10)
    expected = list(sampler)
    seen = []
    for batch in sampler:
        seen.append(batch)
        sampler.mark_batch_done()
    assert seen == expected
    with pytest.raises(RuntimeError, match="already marked done"):
        sampler.mark_batch_done()
    assert list(sampler) == []  # the epoch is complete until set_epoch moves on


def test_bad_state_is_refused():
    sampler = BucketBatchSampler(LENGTHS, batch_size=10)
    with pytest.raises(ValueError, match="outside"):
        sampler.load_state_dict({"epoch": 0, "batches_done": 12})
    with pytest.raises(ValueError, match="'epoch' must be a non-negative integer"):
        sampler.load_state_dict({"batches_done": 0})


@pytest.mark.parametrize("options, message", [
    ({}, "exactly one of"),
    ({"batch_size": 4, "max_batch_frames": 10.0}, "exactly one of"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"max_batch_frames": -1.0}, "max_batch_frames must be a positive number"),
    ({"max_batch_frames": 10.0, "drop_last": True}, "drop_last applies to batch_size only"),
    ({"max_batch_frames": 19.0}, "longer than max_batch_frames=19 and fit no batch"),
    ({"batch_size": 4, "seed": -1}, "seed must be a non-negative integer"),
])
def test_bad_arguments(options, message):
    with pytest.raises(ValueError, match=message):
        BucketBatchSampler(LENGTHS, **options)


def test_bad_lengths_name_the_index():
    with pytest.raises(ValueError, match="index 1"):
        BucketBatchSampler([1.0, float("nan")], batch_size=1)
    with pytest.raises(ValueError, match="non-empty"):
        BucketBatchSampler([], batch_size=1)


class EchoDataset(torch.utils.data.Dataset):
    """Returns what the sampler handed it, with a draw from the per-item generator."""

    def __getitem__(self, index_and_seed):
        index, seed = index_and_seed
        return index, torch.rand(1, generator=torch.Generator().manual_seed(seed)).item()

    def __len__(self):
        return len(LENGTHS)


def test_works_as_a_dataloader_batch_sampler():
    sampler = BucketBatchSampler(LENGTHS, batch_size=16, seed=2)
    loader = torch.utils.data.DataLoader(EchoDataset(), batch_sampler=sampler, collate_fn=list)
    first = list(loader)
    assert len(first) == len(sampler)
    assert list(loader) == first  # augmentation draws repeat: they depend on (seed, epoch, index) only
