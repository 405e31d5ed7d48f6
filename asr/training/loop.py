"""The one training loop, shared by every model family: compute_loss -> train_one_epoch -> evaluate -> fit.

Each step is written out (autocast, scaler, clip, step, zero_grad) so nothing happens out of sight.
SIGINT and SIGTERM (Ctrl-C, a scheduler's preemption) end the run after the step in progress, with
`last.pt` saved: `fit` then raises TrainingInterrupted and `--resume` continues exactly from there.
Started by torchrun, the same loop trains data-parallel (see asr/training/distributed.py).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from torch.utils.data import DataLoader
from tqdm import tqdm

from asr.config import ExperimentConfig
from asr.data.datasets import Batch, build_dataset, collate_examples
from asr.data.sampler import BucketBatchSampler, ShardedBatchSampler
from asr.metrics import ErrorCounts, corpus_counts, edit_counts, sequence_edit_counts, split_words_on_device
from asr.text import Vocabulary
from asr.training import distributed
from asr.training.distributed import DistributedContext
from asr.training.logs import MetricsLog, NullLog
from asr.training.objectives import AttentionObjective, CTCObjective, build_objective
from asr.training.optim import build_optimizer, build_scheduler
from asr.training.setup import PreparedData, build_recognizer, prepare_data, resolve_device
from asr.training.state import load_checkpoint, restore_rng_state, rng_state, save_checkpoint

logger = logging.getLogger(__name__)

Objective = CTCObjective | AttentionObjective


@dataclass
class EvalResult:
    loss: float
    word_counts: ErrorCounts
    char_counts: ErrorCounts

    @property
    def wer(self) -> float:
        return self.word_counts.rate

    @property
    def cer(self) -> float:
        return self.char_counts.rate


class TrainingInterrupted(Exception):
    """A stop signal ended the run; `checkpoint` holds everything needed to resume it."""

    def __init__(self, signal_number: int, checkpoint: Path):
        self.signal_number = signal_number
        self.checkpoint = checkpoint
        super().__init__(f"stopped by {signal.Signals(signal_number).name} at the end of a step; "
                         f"saved {checkpoint}: continue with --resume")


def ignore_stop_signals(worker_id: int) -> None:
    """DataLoader worker start-up: leave SIGINT and SIGTERM to the main process.

    Ctrl-C and schedulers signal the whole process group; a worker that died of it would crash the main
    process before it could save. Workers are shut down by the loader itself when training ends.
    """
    for number in StopRequest.SIGNALS:
        signal.signal(number, signal.SIG_IGN)


class StopRequest:
    """Turns SIGINT and SIGTERM into a flag the loop checks between steps.

    A step cut in half would leave the optimiser and the data order out of step with the checkpoint,
    so the signal only asks; the loop saves and leaves at the next step boundary. A second Ctrl-C
    while the first is pending stops at once; further SIGTERMs are only logged, since schedulers and
    torchrun often send the same request twice, and the save must not be cut short.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signal_number: int | None = None

    def _handle(self, signal_number: int, frame: object) -> None:
        if self.signal_number is not None:
            logger.warning("%s received again: still saving", signal.Signals(signal_number).name)
            return
        logger.warning("%s received: saving a checkpoint after the current step (Ctrl-C again to stop at once)",
                       signal.Signals(signal_number).name)
        self.signal_number = signal_number
        signal.signal(signal.SIGINT, signal.default_int_handler)

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        if threading.current_thread() is not threading.main_thread():
            yield self  # signals are delivered to the main thread only; nothing to install
            return
        previous = {number: signal.getsignal(number) for number in self.SIGNALS}
        for number in self.SIGNALS:
            signal.signal(number, self._handle)
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


@dataclass
class TrainState:
    """What a resumed run needs beyond the weights and the optimiser, all plain values."""

    step: int = 0
    epoch: int = 0
    batches_done: int = 0  # batches of `epoch` already trained on
    best_dev_cer: float = math.inf
    epochs_without_improvement: int = 0
    skipped_steps: int = 0  # steps skipped for a non-finite loss or gradient
    history: list[dict[str, Any]] = field(default_factory=list)


def compute_loss(network: torch.nn.Module, batch: Batch, objective: Objective) -> torch.Tensor:
    return objective.loss(network, batch)


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: DataLoader, objective: Objective, device: torch.device,
             vocabulary: Vocabulary, context: DistributedContext = DistributedContext()) -> EvalResult:
    """Dev loss, WER and CER with greedy decoding. On a GPU the edit distances are computed and summed
    there and only the totals are copied back; on the CPU they go through RapidFuzz (faster there).
    In data-parallel training each process evaluates its share of the batches and the totals are summed.
    With word tokens (captions) the word counts come from the token ids and the character counts from
    the decoded texts."""
    model.eval()
    totals = torch.zeros(8, dtype=torch.long, device=device)  # word S, D, I, N, char S, D, I, N
    loss_sum, num_items = 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        loss, hyps, hyp_lens = objective.loss_and_hypotheses(model, batch)
        loss_sum += loss.item() * len(batch.item_ids)
        num_items += len(batch.item_ids)
        if vocabulary.unit == "word":
            word_counts = sequence_edit_counts(hyps, hyp_lens, batch.tokens, batch.token_lens)
            totals[0:3] += torch.stack([counts.sum() for counts in word_counts])
            totals[3] += batch.token_lens.sum()
            hyp_texts = [vocabulary.decode(row[:length]) for row, length in zip(hyps.tolist(), hyp_lens.tolist())]
            ref_texts = [vocabulary.decode(row[:length]) for row, length in zip(batch.tokens.tolist(),
                                                                               batch.token_lens.tolist())]
            char_counts = corpus_counts(edit_counts(ref_texts, hyp_texts, "char"))
            totals[4:8] += torch.tensor([char_counts.substitutions, char_counts.deletions, char_counts.insertions,
                                         char_counts.reference_length], device=device)
            continue
        char_counts = sequence_edit_counts(hyps, hyp_lens, batch.tokens, batch.token_lens)
        totals[4:7] += torch.stack([counts.sum() for counts in char_counts])
        totals[7] += batch.token_lens.sum()
        # Without a space token every transcript is a single word: -1 matches no token.
        space_id = vocabulary.space_id
        word_separator = space_id if space_id is not None else -1
        hyp_words, hyp_word_lens = split_words_on_device(hyps, hyp_lens, word_separator)
        ref_words, ref_word_lens = split_words_on_device(batch.tokens, batch.token_lens, word_separator)
        word_counts = sequence_edit_counts(hyp_words, hyp_word_lens, ref_words, ref_word_lens)
        totals[0:3] += torch.stack([counts.sum() for counts in word_counts])
        totals[3] += ref_word_lens.sum()
    model.train()
    loss_totals = context.sum(torch.tensor([loss_sum, num_items], dtype=torch.float64, device=device)).tolist()
    values = context.sum(totals).tolist()
    return EvalResult(loss_totals[0] / max(1, loss_totals[1]), ErrorCounts(*values[0:4]), ErrorCounts(*values[4:8]))


@dataclass
class TrainingRun:
    """Everything `train_one_epoch` touches, built once by `fit`."""

    config: ExperimentConfig
    data: PreparedData
    model: torch.nn.Module  # the model itself: evaluation and checkpoints
    network: torch.nn.Module  # what training calls: the model, or its DistributedDataParallel wrapper
    objective: Objective
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    sampler: BucketBatchSampler
    train_dataset: torch.utils.data.Dataset  # SpeechDataset or ImageDataset
    dev_loader: DataLoader
    device: torch.device
    state: TrainState
    log: MetricsLog | NullLog
    out_dir: Path
    start_time: float
    minutes_before: float = 0.0  # training minutes spent by earlier runs of this experiment
    stop: StopRequest = field(default_factory=StopRequest)
    context: DistributedContext = field(default_factory=DistributedContext)
    time_is_up: bool = False  # as agreed by every process
    stopping: bool = False  # a stop signal reached some process, as agreed by every process

    def agree(self, flag: bool) -> bool:
        """True when `flag` is true in any process (one exchange; the flag itself when single-process)."""
        return bool(self.context.sum(torch.tensor([float(flag)], dtype=torch.float64, device=self.device)).item())

    @property
    def minutes(self) -> float:
        return self.minutes_before + (time.monotonic() - self.start_time) / 60

    def out_of_budget(self) -> bool:
        """The step budget, or the time budget as last agreed by every process (clocks differ a little)."""
        max_steps = self.config.train.max_steps
        return bool((max_steps and self.state.step >= max_steps) or self.time_is_up)

    def clock_says_stop(self) -> bool:
        max_minutes = self.config.train.max_minutes
        return bool(max_minutes and self.minutes >= max_minutes)

    def checkpoint_payload(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "vocabulary": list(self.data.vocabulary.tokens),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "train_state": {**self.state.__dict__, "minutes": self.minutes},
            "sampler": self.sampler.state_dict(),
            "rng": rng_state(),
        }

    def save(self, name: str) -> None:
        if self.context.is_main:  # every process holds the same weights; one writes them
            save_checkpoint(self.out_dir / name, self.checkpoint_payload())


def train_one_epoch(run: TrainingRun) -> float:
    """Train until the epoch ends or the budget runs out; returns the mean training loss."""
    config, state, model = run.config, run.state, run.model
    run.sampler.set_epoch(state.epoch)
    run.sampler.load_state_dict({"epoch": state.epoch, "batches_done": state.batches_done})
    batch_sampler = (ShardedBatchSampler(run.sampler, run.context.rank, run.context.world_size)
                     if run.context.enabled else run.sampler)
    loader = DataLoader(run.train_dataset, batch_sampler=batch_sampler, collate_fn=collate_examples,
                        worker_init_fn=ignore_stop_signals,
                        num_workers=config.data.num_workers, generator=torch.Generator(),
                        pin_memory=run.device.type == "cuda")
    # The loader gets its own generator: drawing its worker seed from the global RNG would shift the
    # dropout masks of a resumed run.
    use_amp = config.train.amp and run.device.type == "cuda"
    model.train()
    loss_sum, num_steps = 0.0, 0
    progress = tqdm(loader, desc=f"epoch {state.epoch + 1}", initial=state.batches_done, total=len(run.sampler),
                    unit="batch", dynamic_ncols=True, leave=False, disable=None if run.context.is_main else True)
    for batch in progress:
        batch = batch.to(run.device)
        with torch.autocast(run.device.type, enabled=use_amp):
            loss = compute_loss(run.network, batch, run.objective)
        run.scaler.scale(loss).backward()  # DistributedDataParallel averages the gradients here
        run.scaler.unscale_(run.optimizer)
        grad_norm = (torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.clip_norm)
                     if config.optim.clip_norm > 0 else None)
        # What every process must agree on, summed in one exchange: the losses (their mean is the loss
        # of the global batch), whether any is non-finite, and whether any process must stop.
        loss_finite = bool(torch.isfinite(loss).item())
        agreed = run.context.sum(torch.tensor(
            [loss.item() if loss_finite else 0.0, not loss_finite, run.stop.signal_number is not None,
             run.clock_says_stop()], dtype=torch.float64, device=run.device)).tolist()
        run.time_is_up = agreed[3] > 0
        step_loss = agreed[0] / run.context.world_size
        finite = agreed[1] == 0 and (grad_norm is None or torch.isfinite(grad_norm).item())
        run.stopping = agreed[2] > 0  # decided together: a signal after this exchange waits for the next
        if finite:
            run.scaler.step(run.optimizer)
            loss_sum += step_loss
            num_steps += 1
        else:
            state.skipped_steps += 1
            if not loss_finite or not run.context.enabled:  # the process whose items it was names them
                logger.warning("step %d skipped: non-finite loss or gradient in items %s", state.step,
                               ", ".join(batch.item_ids))
        run.scaler.update()
        run.optimizer.zero_grad(set_to_none=True)
        run.scheduler.step()
        state.step += 1
        state.batches_done += 1
        lr = run.optimizer.param_groups[0]["lr"]
        if state.step % config.train.log_every_steps == 0 and finite:
            run.log.step(state.step, step_loss, lr)
        progress.set_postfix(loss=f"{step_loss:.3f}", lr=f"{lr:.2e}")
        if run.stopping:
            break  # `fit` saves and leaves
        if state.step % config.train.checkpoint_every_steps == 0:
            run.save("last.pt")
        if run.out_of_budget():
            break
    progress.close()
    return loss_sum / max(1, num_steps)


def end_of_epoch(run: TrainingRun, train_loss: float) -> bool:
    """Evaluate on dev, log, keep the best checkpoint; returns True when early stopping says stop."""
    state = run.state
    result = evaluate(run.model, run.dev_loader, run.objective, run.device, run.data.vocabulary, run.context)
    # Fractional when a budget stopped the run mid-epoch, so the row says how much was trained.
    row = {"epoch": round(state.epoch + state.batches_done / len(run.sampler), 2), "step": state.step,
           "train_loss": round(train_loss, 5), "dev_loss": round(result.loss, 5), "dev_wer": round(result.wer, 5),
           "dev_cer": round(result.cer, 5), "lr": run.optimizer.param_groups[0]["lr"], "minutes": round(run.minutes, 2)}
    run.log.epoch(row)
    improved = result.cer < state.best_dev_cer
    logger.info("epoch %g step %d: train loss %.3f, dev loss %.3f, dev WER %.2f%%, dev CER %.2f%%%s",
                row["epoch"], state.step, train_loss, result.loss, 100 * result.wer, 100 * result.cer,
                " (best)" if improved else "")
    if improved:
        state.best_dev_cer = result.cer
        state.epochs_without_improvement = 0
    else:
        state.epochs_without_improvement += 1
    if state.batches_done >= len(run.sampler):  # the epoch is complete: the next one starts at batch 0
        state.epoch += 1
        state.batches_done = 0
    run.save("last.pt")
    if improved:
        run.save("best.pt")
    patience = run.config.train.patience
    return bool(patience and state.epochs_without_improvement >= patience)


def fit(config: ExperimentConfig, resume: str | Path | None = None) -> TrainState:
    """Train `config` from scratch, or continue exactly from the checkpoint `resume`.

    Under torchrun every process calls this; `data.batch_size` (or `max_batch_seconds`) is the global
    batch, shared out among them.
    """
    context = distributed.start(config.train.device)
    try:
        state = _fit(config, resume, context)
        # Every process finishes before any tears the group down: a gloo peer whose group is destroyed
        # under it aborts ("terminate called without an active exception", seen in a CI run).
        context.barrier()
        return state
    finally:
        distributed.stop(context)


def _fit(config: ExperimentConfig, resume: str | Path | None, context: DistributedContext) -> TrainState:
    out_dir = Path(config.train.out_dir)
    if not context.is_main:
        logging.getLogger("asr").setLevel(logging.WARNING)  # rank 0 speaks for all
    checkpoint = load_checkpoint(resume) if resume else None
    if checkpoint is not None:
        logger.info("resuming from %s (step %d)", resume, checkpoint["train_state"]["step"])
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    torch.manual_seed(config.train.seed)
    device = resolve_device(config.train.device)
    if context.enabled and device.type == "cuda":
        device = torch.device("cuda", context.local_rank)  # one GPU per process
    if context.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")

    data = prepare_data(config, checkpoint["vocabulary"] if checkpoint else None)
    model = build_recognizer(config, data, fit_global_stats=checkpoint is None).to(device)
    logger.info("model %s: %.2fM parameters, vocabulary of %d tokens, on %s%s", config.model.name,
                sum(parameter.numel() for parameter in model.parameters()) / 1e6, len(data.vocabulary), device,
                f", {context.world_size} processes" if context.enabled else "")
    objective = build_objective(config, model)
    max_batch_frames = config.data.max_batch_seconds * config.features.sample_rate or None
    sampler = BucketBatchSampler(data.train_lengths, batch_size=None if max_batch_frames else config.data.batch_size,
                                 max_batch_frames=max_batch_frames, shuffle=True, seed=config.train.seed)
    steps_per_epoch = len(sampler)
    total_steps = config.train.max_steps or steps_per_epoch * config.train.max_epochs
    optimizer = build_optimizer(model.parameters(), config.optim)
    scheduler = build_scheduler(optimizer, config.optim, total_steps)
    scaler = torch.amp.GradScaler(device.type, enabled=config.train.amp and device.type == "cuda")
    state = TrainState()
    minutes_before = 0.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        scaler.load_state_dict(checkpoint["scaler"])
        saved = dict(checkpoint["train_state"])
        minutes_before = saved.pop("minutes")
        state = TrainState(**saved)
        restore_rng_state(checkpoint["rng"])
    network = model
    if context.enabled:
        # The front-end runs in the data loader, not in forward: its buffers need no synchronising.
        network = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False)
    # Dev batches are dealt out whole (each item is evaluated once); `evaluate` sums the counts.
    dev_batches = BucketBatchSampler(data.dev_lengths, batch_size=config.data.batch_size, shuffle=False)
    dev_loader = DataLoader(build_dataset(data.dev_items, data.dev_texts, data.vocabulary, model.frontend),
                            batch_sampler=dev_batches.epoch_batches(0)[context.rank::context.world_size],
                            collate_fn=collate_examples, num_workers=config.data.num_workers,
                            worker_init_fn=ignore_stop_signals, generator=torch.Generator())
    train_dataset = build_dataset(data.train_items, data.train_texts, data.vocabulary, model.frontend, config.augment)
    log = MetricsLog(out_dir, state.history, state.step) if context.is_main else NullLog()
    run = TrainingRun(config, data, model, network, objective, optimizer, scheduler, scaler, sampler, train_dataset,
                      dev_loader, device, state, log, out_dir, time.monotonic(), minutes_before, context=context)
    logger.info("%d training items in %d batches per epoch; %d dev items; writing to %s", len(data.train_items),
                steps_per_epoch, len(data.dev_items), out_dir)
    try:
        with run.stop.installed():
            run.time_is_up = run.agree(run.clock_says_stop())  # a resumed run may already be out of time
            while state.epoch < config.train.max_epochs and not run.out_of_budget():
                train_loss = train_one_epoch(run)
                # A signal that came after the epoch's last exchange is agreed on here, before evaluation.
                if run.stopping or run.agree(run.stop.signal_number is not None):
                    run.save("last.pt")
                    context.barrier()  # nobody leaves (and has torchrun stop the others) before the save
                    raise TrainingInterrupted(run.stop.signal_number or signal.SIGTERM, out_dir / "last.pt")
                if end_of_epoch(run, train_loss):
                    logger.info("early stopping: dev CER has not improved for %d epochs", config.train.patience)
                    break
    finally:
        run.log.close()
    if state.skipped_steps:
        logger.warning("%d steps were skipped for non-finite losses or gradients", state.skipped_steps)
    logger.info("done after %d steps (%.1f minutes); best dev CER %.2f%%; checkpoints in %s", state.step,
                run.minutes, 100 * state.best_dev_cer, out_dir)
    return state
