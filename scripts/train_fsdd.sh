#!/usr/bin/env bash
# The FSDD recipe end to end: manifests split by speaker, synthetic digit voices, training.
#   scripts/train_fsdd.sh [configs/fsdd_bigru_ctc.yaml] [--set key=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/fsdd_bigru_ctc.yaml}
shift || true
scripts/setup.sh
.venv/bin/python datasets/fsdd.py --root ../shared/data/fsdd --out data/fsdd --dev-speaker lucas
if [ ! -f data/synth_digits/manifest.jsonl ]; then
    # 10 digits x 300 voices at FSDD's 8 kHz: about a minute on 2 cores
    .venv/bin/python datasets/synth_speech.py --digits --num-variants 300 --sample-rate 8000 --seed 1 \
        --out data/synth_digits
fi
.venv/bin/asr train --config "$config" "$@"
