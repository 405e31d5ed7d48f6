"""Optimisers and the learning-rate schedule: linear warm-up, then cosine or exponential decay."""

from __future__ import annotations

import math

import torch

from asr.config import OptimConfig


def build_optimizer(parameters, config: OptimConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay,
                           nesterov=config.momentum > 0)


class WarmupThenDecay:
    """Multiplier of the base learning rate at a step. A class, not a closure, so that LambdaLR's
    state_dict stores its (plain) attributes and a resumed run gets the same schedule."""

    def __init__(self, config: OptimConfig, total_steps: int):
        self.warmup_steps = config.warmup_steps
        self.schedule = config.schedule
        self.decay_steps = config.decay_steps or max(1, total_steps - config.warmup_steps)
        self.gamma = config.gamma
        self.min_ratio = config.min_lr_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        since_warmup = step - self.warmup_steps
        if self.schedule == "cosine":
            progress = min(1.0, since_warmup / self.decay_steps)
            return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        if self.schedule == "exponential":
            return max(self.min_ratio, self.gamma**since_warmup)
        return 1.0


def build_scheduler(optimizer: torch.optim.Optimizer, config: OptimConfig,
                    total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupThenDecay(config, total_steps))
