#!/usr/bin/env bash
# The main job on the embedded default: the bundled model transcribes the bundled sample audio.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/asr transcribe asr/pretrained/samples "$@"
