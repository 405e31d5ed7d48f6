"""Data-parallel training: two gloo processes started by torchrun give the same per-step losses and
final weights as one process on the same global batches."""

from __future__ import annotations

import csv
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from asr.data.sampler import BucketBatchSampler, ShardedBatchSampler
from asr.training.loop import fit
from asr.training.state import load_checkpoint
from tests.training.test_loop import step_losses, tiny_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_shards_cover_each_global_batch_once():
    sampler = BucketBatchSampler([1.0] * 10, batch_size=4, shuffle=True, seed=0)
    shards = [list(ShardedBatchSampler(sampler, rank, 2)) for rank in range(2)]
    for global_batch, first, second in zip(iter(sampler), *shards):
        assert sorted(first + second) == sorted(global_batch)  # 4, 4 and a last batch of 2
    lone = ShardedBatchSampler(sampler, 1, 3)
    assert lone.shard([(7, 0)]) == [(7, 0)]  # fewer items than processes: every process gets one


def without_dropout(config):
    # Dropout masks are drawn per process, so only a dropout-free model can match one process exactly.
    return dataclasses.replace(config, model=dataclasses.replace(config.model, dropout=0.0))


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_on_the_same_global_batch(tiny_fsdd, tmp_path):
    single_dir, parallel_dir = tmp_path / "single", tmp_path / "parallel"
    torch.set_num_threads(1)
    fit(without_dropout(tiny_config(tiny_fsdd, single_dir, max_steps=6, threads=1)))

    config_path = tmp_path / "parallel.yaml"
    config_path.write_text(yaml.safe_dump(without_dropout(tiny_config(tiny_fsdd, parallel_dir, max_steps=6,
                                                                      threads=1)).to_dict()))
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "asr", "train", "--config", str(config_path)],
                            capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 processes" in result.stderr

    expected, parallel = step_losses(single_dir), step_losses(parallel_dir)
    assert sorted(parallel) == sorted(expected) == list(range(1, 7))
    for step in expected:
        assert parallel[step] == pytest.approx(expected[step], rel=1e-4, abs=1e-5), step
    single_weights = load_checkpoint(single_dir / "last.pt")["model"]
    parallel_weights = load_checkpoint(parallel_dir / "last.pt")["model"]
    for name, tensor in single_weights.items():
        torch.testing.assert_close(parallel_weights[name], tensor, rtol=1e-4, atol=1e-5, msg=name)
    # Each process evaluates half the dev batches; the summed counts are those of the whole dev set.
    single_epochs, parallel_epochs = epoch_rows(single_dir), epoch_rows(parallel_dir)
    assert len(single_epochs) == len(parallel_epochs) == 2
    for one, two in zip(single_epochs, parallel_epochs):
        assert (one["dev_wer"], one["dev_cer"]) == (two["dev_wer"], two["dev_cer"])
        assert float(one["dev_loss"]) == pytest.approx(float(two["dev_loss"]), rel=1e-4)


def epoch_rows(out_dir: Path) -> list[dict[str, str]]:
    with open(out_dir / "metrics.csv", newline="") as stream:
        return list(csv.DictReader(stream))
