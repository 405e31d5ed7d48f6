#!/usr/bin/env bash
# The English recipe end to end: manifests (LJSpeech dev chapter and speechocean762 dev speakers held
# out), synthetic speech of LJSpeech lines, word and character n-gram LMs from the LJSpeech text
# without the dev chapter, then training.
#   scripts/train_english.sh [configs/english_bigru_ctc.yaml] [--set key=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/english_bigru_ctc.yaml}
shift || true
scripts/setup.sh
.venv/bin/python datasets/english.py --ljspeech ../shared/data/ljspeech \
    --speechocean ../shared/data/speechocean762 --out data/english --synth-lines 5500 --seed 0
# 5,500 sentences, one voice each: about 7 minutes on 2 cores; made again when the text list changed
if [ ! -f data/english/synth/manifest.jsonl ] \
        || [ "$(wc -l < data/english/synth/manifest.jsonl)" -ne "$(wc -l < data/english/synth_texts.txt)" ]; then
    .venv/bin/python datasets/synth_speech.py --texts data/english/synth_texts.txt --num-variants 1 --seed 0 \
        --out data/english/synth --overwrite
fi
mkdir -p exp/lm
.venv/bin/asr lm build --text data/english/lm_text.txt --normalizer lower_no_punct --order 3 --unit word \
    --smoothing kneser-ney --out exp/lm/english_word3.arpa
.venv/bin/asr lm build --text data/english/lm_text.txt --normalizer lower_no_punct --order 6 --unit char \
    --smoothing kneser-ney --out exp/lm/english_char6.arpa
.venv/bin/asr train --config "$config" "$@"
