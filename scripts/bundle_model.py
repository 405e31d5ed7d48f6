"""Copy a trained checkpoint into the package as a bundled model: config, vocabulary and weights only.

    .venv/bin/python scripts/bundle_model.py exp/fsdd_bigru_ctc/best.pt fsdd-digits

The optimiser, scheduler and RNG states stay behind (they matter for resuming, not for inference);
the model card asr/pretrained/NAME.md is written by hand from the run's metrics.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.training.state import load_checkpoint, save_checkpoint  # noqa: E402

INFERENCE_KEYS = ("config", "vocabulary", "model")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("name", help="bundled model name, e.g. fsdd-digits")
    args = parser.parse_args()
    checkpoint = load_checkpoint(args.checkpoint)
    target = ROOT / "asr" / "pretrained" / f"{args.name}.pt"
    save_checkpoint(target, {key: checkpoint[key] for key in INFERENCE_KEYS})
    print(f"{target}: {target.stat().st_size / 1e6:.2f} MB from {args.checkpoint} "
          f"(step {checkpoint['train_state']['step']}, best dev CER {checkpoint['train_state']['best_dev_cer']:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
