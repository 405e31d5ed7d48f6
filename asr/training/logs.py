"""Where training figures go: a CSV a person can open, TensorBoard, and a PNG of the curves."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

EPOCH_COLUMNS = ["epoch", "step", "train_loss", "dev_loss", "dev_wer", "dev_cer", "lr", "minutes"]
STEP_COLUMNS = ["step", "loss", "lr"]


class MetricsLog:
    def __init__(self, out_dir: Path, history: list[dict[str, Any]], resumed_step: int = 0):
        self.out_dir = out_dir
        self.history = history  # one row per epoch, also kept in the checkpoint so a resume rewrites it whole
        self.steps_path = out_dir / "steps.csv"
        self._start_step_log(resumed_step)
        self.writer = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out_dir / "tensorboard"))
        except ImportError:
            logger.warning("tensorboard is not installed (pip install tensorboard): writing CSV and PNG only")

    def _start_step_log(self, resumed_step: int) -> None:
        """Keep the rows up to the checkpoint a run resumes from: steps logged after it were lost with
        the interrupted run and are trained (and logged) again."""
        kept = []
        if resumed_step and self.steps_path.is_file():
            with open(self.steps_path, newline="", encoding="utf-8") as stream:
                kept = [row for row in csv.DictReader(stream) if int(row["step"]) <= resumed_step]
        with open(self.steps_path, "w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=STEP_COLUMNS)
            writer.writeheader()
            writer.writerows(kept)

    def step(self, step: int, loss: float, lr: float) -> None:
        with open(self.steps_path, "a", newline="", encoding="utf-8") as stream:
            csv.writer(stream).writerow([step, f"{loss:.6f}", f"{lr:.6g}"])
        if self.writer is not None:
            self.writer.add_scalar("train/loss", loss, step)
            self.writer.add_scalar("train/lr", lr, step)

    def epoch(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        with open(self.out_dir / "metrics.csv", "w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=EPOCH_COLUMNS)
            writer.writeheader()
            writer.writerows(self.history)
        if self.writer is not None:
            for name in ("dev_loss", "dev_wer", "dev_cer", "train_loss"):
                self.writer.add_scalar(name.replace("_", "/", 1), row[name], row["step"])
            self.writer.flush()
        self.plot()

    def plot(self) -> None:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display on a training machine
        import matplotlib.pyplot as plt

        epochs = [row["epoch"] for row in self.history]
        figure, (loss_axis, error_axis) = plt.subplots(1, 2, figsize=(10, 4))
        loss_axis.plot(epochs, [row["train_loss"] for row in self.history], marker="o", label="train")
        loss_axis.plot(epochs, [row["dev_loss"] for row in self.history], marker="o", label="dev")
        loss_axis.set(xlabel="epoch", ylabel="CTC loss", title="loss")
        loss_axis.legend()
        error_axis.plot(epochs, [100 * row["dev_wer"] for row in self.history], marker="o", label="dev WER")
        error_axis.plot(epochs, [100 * row["dev_cer"] for row in self.history], marker="o", label="dev CER")
        error_axis.set(xlabel="epoch", ylabel="%", title="dev error rates")
        error_axis.legend()
        figure.tight_layout()
        figure.savefig(self.out_dir / "training_curves.png", dpi=100)
        plt.close(figure)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class NullLog:
    """What the processes other than rank 0 log to in data-parallel training: nothing (rank 0 logs the
    figures every process agreed on)."""

    def step(self, step: int, loss: float, lr: float) -> None:
        pass

    def epoch(self, row: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass
