"""Data-parallel training across processes and machines, started by `torchrun`.

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK for every process it starts; without them (or with one
process) everything here is a no-op and training runs as a single process. Backends: NCCL when the
processes train on CUDA devices, gloo on the CPU.

What the loop does with it: every process trains on its share of each global batch (ShardedBatchSampler)
through DistributedDataParallel, which averages the gradients; losses, stop requests and dev error
counts are summed across processes, so every process takes the same decisions; only rank 0 writes
logs and checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over processes (the tensor itself when single-process)."""
        if self.enabled:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def start(device_name: str) -> DistributedContext:
    """Join the process group that torchrun describes in the environment; the device for this process.

    `device_name` is the config's train.device ("auto", "cpu", "cuda", ...): with CUDA each process
    takes the GPU of its LOCAL_RANK.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    context = DistributedContext(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    use_cuda = device_name != "cpu" and torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(context.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return context


def stop(context: DistributedContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()
