"""Training that loses nothing when stopped: SIGTERM saves and exits cleanly; after SIGKILL, --resume
continues with the same per-step losses as a run that was never stopped."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from asr.training.loop import fit
from asr.training.state import load_checkpoint
from tests.training.test_loop import step_losses, tiny_config

NUM_STEPS = 30  # long enough that a signal lands mid-run; 3 steps an epoch over the 12 tiny items
REPO_ROOT = Path(__file__).resolve().parents[2]


def start_training(config, tmp_path: Path, *extra: str, new_session: bool = False) -> subprocess.Popen:
    config_path = tmp_path / f"{Path(config.train.out_dir).name}.yaml"
    config_path.write_text(yaml.safe_dump(config.to_dict()))
    # One thread, as in the in-process reference run: the same float summation order.
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "asr", "train", "--config", str(config_path), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                            start_new_session=new_session)


def wait_for(condition, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"training ended before the signal (exit {process.returncode}): {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("training made no progress")
        time.sleep(0.01)


def logged_steps(out_dir: Path) -> int:
    try:
        return max(step_losses(out_dir), default=0)
    # Not written yet, or a row half written; TypeError: the header was still empty when csv read it and
    # a row arrived before the next read (csv zips the row with fieldnames None).
    except (OSError, KeyError, ValueError, TypeError):
        return 0


def reference_losses(tiny_fsdd, tmp_path: Path) -> dict[int, float]:
    torch.set_num_threads(1)
    out_dir = tmp_path / "uninterrupted"
    fit(tiny_config(tiny_fsdd, out_dir, max_epochs=1000, max_steps=NUM_STEPS, threads=1))
    return step_losses(out_dir)


def assert_same_losses(resumed: dict[int, float], expected: dict[int, float]) -> None:
    assert sorted(resumed) == sorted(expected) == list(range(1, NUM_STEPS + 1))
    for step in expected:
        assert resumed[step] == pytest.approx(expected[step], rel=1e-5, abs=1e-6), step


def resume_and_compare(config, tiny_fsdd, tmp_path: Path) -> None:
    """Run `--resume` to the end; its per-step losses must be those of a run never stopped."""
    resumed = start_training(config, tmp_path, "--resume")
    _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert_same_losses(step_losses(Path(config.train.out_dir)), reference_losses(tiny_fsdd, tmp_path))


@pytest.mark.slow
def test_sigterm_saves_the_step_in_progress_and_exits_with_143(tiny_fsdd, tmp_path):
    out_dir = tmp_path / "terminated"
    config = tiny_config(tiny_fsdd, out_dir, max_epochs=1000, max_steps=NUM_STEPS, threads=1,
                         checkpoint_every_steps=1000)  # no periodic checkpoint: only the signal saves
    process = start_training(config, tmp_path)
    wait_for(lambda: logged_steps(out_dir) >= 5, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "SIGTERM" in stderr and "--resume" in stderr
    saved_step = load_checkpoint(out_dir / "last.pt")["train_state"]["step"]
    assert 5 <= saved_step < NUM_STEPS
    assert logged_steps(out_dir) == saved_step  # nothing trained after the checkpoint

    resume_and_compare(config, tiny_fsdd, tmp_path)


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_with_the_same_step_losses(tiny_fsdd, tmp_path):
    out_dir = tmp_path / "killed"
    config = tiny_config(tiny_fsdd, out_dir, max_epochs=1000, max_steps=NUM_STEPS, threads=1,
                         checkpoint_every_steps=4)
    process = start_training(config, tmp_path)
    wait_for(lambda: (out_dir / "last.pt").is_file() and logged_steps(out_dir) >= 10, process)
    process.kill()  # SIGKILL: no handler runs, the steps after the last checkpoint are lost
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    saved_step = load_checkpoint(out_dir / "last.pt")["train_state"]["step"]
    assert saved_step < NUM_STEPS  # every 4 steps and at each epoch end (3 steps)

    resume_and_compare(config, tiny_fsdd, tmp_path)


@pytest.mark.slow
def test_sigterm_to_the_whole_process_group_spares_the_data_workers(tiny_fsdd, tmp_path):
    """Schedulers and Ctrl-C signal every process of a job: the loader's workers must leave the signal
    to the main process, which saves and exits cleanly instead of crashing on a dead worker."""
    out_dir = tmp_path / "group"
    config = tiny_config(tiny_fsdd, out_dir, max_epochs=1000, max_steps=NUM_STEPS, threads=1,
                         checkpoint_every_steps=1000)
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, num_workers=1))
    process = start_training(config, tmp_path, new_session=True)
    wait_for(lambda: logged_steps(out_dir) >= 5, process)
    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "DataLoader worker" not in stderr
    assert load_checkpoint(out_dir / "last.pt")["train_state"]["step"] == logged_steps(out_dir)
