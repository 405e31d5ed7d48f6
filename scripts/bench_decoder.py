"""Benchmark CTC beam search: asr against pyctcdecode and torchaudio's flashlight-text `ctc_decoder`.

The same emissions (one model, run once over a manifest's audio) and the same ARPA files are decoded by
every decoder at each beam width; the script prints utterances per second and WER/CER side by side.

    .venv/bin/python scripts/bench_decoder.py --model english-small \\
        --manifest data/english/lj_dev.jsonl --lm exp/lm/english_word3.arpa --char-lm exp/lm/english_char6.arpa \\
        --lm-weight 0.5 --word-bonus 0 --char-lm-weight 1.0 --char-bonus 2 --beams 8,32,100

Settings that make the runs comparable (all decoders get the same alpha and beta):
- asr and pyctcdecode weight natural-log LM scores by alpha; flashlight weights the base-10 scores
  that KenLM returns, so it gets lm_weight = alpha * ln(10).
- flashlight scores a word LM only with a lexicon: it runs (a) with a lexicon of the LM's words and
  the word LM (its strong setting; words outside the lexicon cannot be produced), and (b)
  lexicon-free with the character LM (its word_score has no effect there).
- pyctcdecode runs at its defaults: it skips tokens below log-prob -5 per frame (token_min_logp) and
  prunes beams 10 below the best (beam_prune_logp), which makes it faster and unable to recover a
  letter the model buried. asr runs at its own defaults (top-10 tokens above log-prob -10, beam
  threshold 25); flashlight at its defaults (all tokens, beam threshold 50).
- Everything runs in this one process on one thread, utterance by utterance; timings cover the
  decoding calls only (loading an LM and building a decoder is excluded), after one warm-up utterance,
  and each is the fastest of `--repeats` passes over the set (other work on a shared machine only
  ever slows a pass down).

The peers are optional (`pip install -e .[bench]`); a peer that cannot be imported is skipped with the
reason printed.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asr.config import DecodingConfig  # noqa: E402
from asr.data.manifest import read_manifest  # noqa: E402
from asr.decoding.ctc_beam import CTCBeamSearchDecoder, NgramTables, load_lm  # noqa: E402
from asr.decoding.greedy import greedy_decode  # noqa: E402
from asr.inference import load_model  # noqa: E402
from asr.metrics import corpus_counts, edit_counts  # noqa: E402
from asr.text import BLANK, SPACE, Vocabulary  # noqa: E402

FLASHLIGHT_BLANK, FLASHLIGHT_SPACE = "-", "|"


@dataclass
class Row:
    decoder: str
    setting: str
    beam: int | str
    seconds: float
    num_utterances: int
    wer: float
    cer: float

    @property
    def utterances_per_second(self) -> float:
        return self.num_utterances / self.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="checkpoint (or bundled model name) giving the emissions")
    parser.add_argument("--manifest", required=True, help="dev manifest: real audio with reference transcripts")
    parser.add_argument("--lm", required=True, help="word n-gram LM, ARPA")
    parser.add_argument("--char-lm", default=None, help="character n-gram LM, ARPA (units: the model's tokens, "
                                                        "<space> for the word boundary); optional")
    parser.add_argument("--lm-weight", type=float, default=0.5, help="alpha (natural-log LM scores)")
    parser.add_argument("--word-bonus", type=float, default=1.0, help="beta, per word")
    parser.add_argument("--char-lm-weight", type=float, default=0.5, help="alpha for the character LM")
    parser.add_argument("--char-bonus", type=float, default=0.0, help="beta per character for the character LM")
    parser.add_argument("--beams", default="8,32,100", help="comma-separated beam widths")
    parser.add_argument("--token-min-logp", type=float, default=DecodingConfig.token_min_logp,
                        help="asr's per-frame token threshold (pyctcdecode's default token_min_logp is -5)")
    parser.add_argument("--token-top-k", type=int, default=DecodingConfig.token_top_k,
                        help="asr: at most this many tokens per frame (0: no limit)")
    parser.add_argument("--beam-threshold", type=float, default=DecodingConfig.beam_threshold,
                        help="asr: prefixes this far below the frame's best are dropped")
    parser.add_argument("--limit", type=int, default=0, help="only the first N utterances (0: all)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="decode the set this many times and keep the fastest (the machine may be shared)")
    parser.add_argument("--skip", default="", help="comma-separated decoders to leave out: pyctcdecode, flashlight")
    args = parser.parse_args()
    torch.set_num_threads(1)
    beams = [int(width) for width in args.beams.split(",")]
    skip = set(filter(None, args.skip.split(",")))

    print("command: python " + " ".join(sys.argv))
    print(f"machine: {os.cpu_count()} CPU cores; decoding on 1 thread; torch {torch.__version__}")
    transcriber = load_model(args.model)
    vocabulary = transcriber.vocabulary
    items = read_manifest(args.manifest)
    if args.limit:
        items = items[:args.limit]
    emissions = compute_emissions(transcriber, [item.path for item in items])
    references = [transcriber.normalize(item.text) for item in items]
    audio_seconds = sum(item.duration for item in items)
    print(f"model {args.model}: {len(vocabulary)} tokens, {transcriber.seconds_per_frame * 1000:.0f} ms per frame")
    print(f"dev {args.manifest}: {len(items)} utterances, {audio_seconds / 60:.1f} min of audio, "
          f"{sum(len(item) for item in emissions)} frames")
    print(f"word LM {args.lm}; char LM {args.char_lm or '-'}; alpha {args.lm_weight:g}, beta {args.word_bonus:g} "
          f"(char LM: alpha {args.char_lm_weight:g}, beta {args.char_bonus:g} per char)")
    print(f"asr pruning: tokens above log-prob {args.token_min_logp:g}, at most {args.token_top_k or 'all'} per "
          f"frame; beam threshold {args.beam_threshold:g}")

    def score(name: str, setting: str, beam: int | str, decode: Callable[[np.ndarray], str]) -> Row:
        decode(emissions[0])  # warm-up: compilation, caches
        seconds = math.inf
        for _ in range(args.repeats):
            start = time.perf_counter()
            texts = [decode(item) for item in emissions]
            seconds = min(seconds, time.perf_counter() - start)
        texts = [" ".join(text.split()) for text in texts]
        words = corpus_counts(edit_counts(references, texts, unit="word"))
        chars = corpus_counts(edit_counts(references, texts, unit="char"))
        row = Row(name, setting, beam, seconds, len(texts), 100 * words.rate, 100 * chars.rate)
        print(f"  {name:<12} {setting:<24} beam {str(beam):>4}: {row.utterances_per_second:9.1f} utt/s  "
              f"WER {row.wer:6.2f}  CER {row.cer:6.2f}", flush=True)
        return row

    rows = [score("asr", "greedy", "-", lambda item: greedy_text(item, vocabulary))]
    word_lm = load_lm(args.lm)
    char_lm = load_lm(args.char_lm) if args.char_lm else None
    peers = load_peers(skip)
    for reason in peers["skipped"]:
        print(f"  skipped: {reason}")
    with tempfile.TemporaryDirectory() as scratch:
        words = lexicon_words(word_lm, vocabulary)
        lexicon = write_lexicon(Path(scratch) / "lexicon.txt", words, vocabulary)
        print(f"lexicon: {len(words)} words; {oov_rate(references, words):.2f}% of the dev words are not in it "
              f"(a floor under the lexicon decoder's WER)")
        flashlight_char_lm = flashlight_char_arpa(args.char_lm, Path(scratch)) if args.char_lm else None
        for beam in beams:
            pruning = dict(token_min_logp=args.token_min_logp, token_top_k=args.token_top_k,
                           beam_threshold=args.beam_threshold)
            config = DecodingConfig(decoder="beam", beam_size=beam, lm_weight=args.lm_weight,
                                    word_bonus=args.word_bonus, **pruning)
            ours = CTCBeamSearchDecoder(vocabulary, config, word_lm)
            rows.append(score("asr", "word LM", beam, lambda item: asr_text(ours, item)))
            if char_lm is not None:
                char_config = DecodingConfig(decoder="beam", beam_size=beam, lm_weight=args.char_lm_weight,
                                             word_bonus=args.char_bonus, lm_kind="char", **pruning)
                ours_char = CTCBeamSearchDecoder(vocabulary, char_config, char_lm)
                rows.append(score("asr", "char LM", beam, lambda item: asr_text(ours_char, item)))
            if "pyctcdecode" in peers:
                decoder = peers["pyctcdecode"](pyctcdecode_labels(vocabulary), kenlm_model_path=args.lm,
                                               alpha=args.lm_weight, beta=args.word_bonus)
                rows.append(score("pyctcdecode", "word LM, defaults", beam,
                                  lambda item: decoder.decode(item, beam_width=beam)))
            if "flashlight" in peers:
                tokens = flashlight_tokens(vocabulary)
                with_lexicon = peers["flashlight"](lexicon=str(lexicon), tokens=tokens, lm=args.lm, beam_size=beam,
                                                   lm_weight=args.lm_weight * math.log(10), word_score=args.word_bonus)
                rows.append(score("flashlight", "lexicon + word LM", beam, lambda item: flashlight_text(
                    with_lexicon, flashlight_emission(item, vocabulary), words=True)))
                if flashlight_char_lm is not None:
                    lexicon_free = peers["flashlight"](lexicon=None, tokens=tokens, lm=str(flashlight_char_lm),
                                                       beam_size=beam, lm_weight=args.char_lm_weight * math.log(10),
                                                       sil_score=args.char_bonus)
                    rows.append(score("flashlight", "lexicon-free + char LM", beam, lambda item: flashlight_text(
                        lexicon_free, flashlight_emission(item, vocabulary), words=False)))
    print_table(rows)
    return 0


def compute_emissions(transcriber, paths: Sequence[Path], batch_size: int = 16) -> list[np.ndarray]:
    """Log-probs `(T, V)` float32 per file, without padding."""
    emissions = []
    for start in range(0, len(paths), batch_size):
        features = [transcriber._load_features(path)[0] for path in paths[start:start + batch_size]]
        log_probs, output_lens = transcriber.emissions(features)
        for row, length in zip(log_probs.float().cpu().numpy(), output_lens.tolist()):
            emissions.append(np.ascontiguousarray(row[:length]))
    return emissions


def greedy_text(emission: np.ndarray, vocabulary: Vocabulary) -> str:
    tensor = torch.from_numpy(emission)[None]
    return greedy_decode(tensor, torch.tensor([emission.shape[0]]), vocabulary)[0].text


def asr_text(decoder: CTCBeamSearchDecoder, emission: np.ndarray) -> str:
    return decoder.decode_emission(emission, nbest=1)[0].hypothesis.text


def load_peers(skip: set[str]) -> dict:
    peers: dict = {"skipped": []}
    if "pyctcdecode" in skip:
        peers["skipped"].append("pyctcdecode (--skip)")
    else:
        try:
            import kenlm  # noqa: F401  (pyctcdecode decodes without an LM when kenlm is missing: say so instead)
            from pyctcdecode import build_ctcdecoder
            peers["pyctcdecode"] = build_ctcdecoder
        except ImportError as error:
            peers["skipped"].append(f"pyctcdecode: {error} (pip install pyctcdecode kenlm)")
    if "flashlight" in skip:
        peers["skipped"].append("flashlight (--skip)")
    else:
        try:
            from torchaudio.models.decoder import ctc_decoder
            ctc_decoder(lexicon=None, tokens=["-", "|", "a"])  # fails here when flashlight-text is missing
            peers["flashlight"] = ctc_decoder
        except (ImportError, RuntimeError) as error:
            peers["skipped"].append(f"flashlight: {error} (pip install flashlight-text)")
    return peers


def pyctcdecode_labels(vocabulary: Vocabulary) -> list[str]:
    """pyctcdecode wants the blank as '' and the word boundary as ' ', else its columns shift silently."""
    return ["" if token == BLANK else " " if token == SPACE else token for token in vocabulary.tokens]


def flashlight_tokens(vocabulary: Vocabulary) -> list[str]:
    """The vocabulary in flashlight's spelling; a vocabulary without `<space>` gets a `|` column that
    `flashlight_emission` fills with a log-prob no path takes (flashlight needs a silence token)."""
    tokens = [FLASHLIGHT_BLANK if token == BLANK else FLASHLIGHT_SPACE if token == SPACE else token
              for token in vocabulary.tokens]
    clashes = {FLASHLIGHT_BLANK, FLASHLIGHT_SPACE} & set(vocabulary.tokens)
    if clashes:
        raise ValueError(f"the vocabulary uses {sorted(clashes)}, which flashlight reserves for blank and silence")
    return tokens if vocabulary.space_id is not None else tokens + [FLASHLIGHT_SPACE]


def flashlight_emission(emission: np.ndarray, vocabulary: Vocabulary) -> torch.Tensor:
    if vocabulary.space_id is None:
        emission = np.pad(emission, ((0, 0), (0, 1)), constant_values=-1e4)
    return torch.from_numpy(emission)[None]


def lexicon_words(lm: NgramTables, vocabulary: Vocabulary) -> list[str]:
    """The LM's words that the vocabulary can spell: the lexicon of the flashlight decoder."""
    known = set(vocabulary.tokens)
    return [word for word in lm.words if word not in ("<s>", "</s>", "<unk>") and set(word) <= known]


def write_lexicon(path: Path, words: Sequence[str], vocabulary: Vocabulary) -> Path:
    """`words` as 'word  t1 t2 ... |' lines (flashlight's lexicon format; no trailing `|` for a vocabulary
    without `<space>`)."""
    boundary = f" {FLASHLIGHT_SPACE}" if vocabulary.space_id is not None else ""
    path.write_text("".join(f"{word}\t{' '.join(word)}{boundary}\n" for word in words), encoding="utf-8")
    return path


def oov_rate(references: Sequence[str], lexicon: Sequence[str]) -> float:
    """Percent of the reference words (running words, not types) that the lexicon lacks."""
    known = set(lexicon)
    words = [word for reference in references for word in reference.split()]
    return 100.0 * sum(word not in known for word in words) / max(1, len(words))


def flashlight_char_arpa(path: str, scratch: Path) -> Path:
    """The char ARPA with `<space>` renamed to flashlight's `|` (a token rename; the file is not parsed)."""
    target = scratch / "char_lm_flashlight.arpa"
    text = Path(path).read_text(encoding="utf-8")
    target.write_text(re.sub(r"(?<=\s)<space>(?=\s)", FLASHLIGHT_SPACE, text), encoding="utf-8")
    return target


def flashlight_text(decoder, emission: torch.Tensor, words: bool) -> str:
    (hypotheses,) = decoder(emission)
    best = hypotheses[0]
    if words:
        return " ".join(best.words)
    tokens = decoder.idxs_to_tokens(best.tokens)
    return "".join(" " if token == FLASHLIGHT_SPACE else token for token in tokens if token != FLASHLIGHT_BLANK)


def print_table(rows: list[Row]) -> None:
    print()
    print(f"| decoder | setting | beam | utt/s | WER % | CER % |")
    print(f"|---|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row.decoder} | {row.setting} | {row.beam} | {row.utterances_per_second:.1f} | {row.wer:.2f} | "
              f"{row.cer:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
