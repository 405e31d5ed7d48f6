"""Pairs per second of the metric backends, side by side: jiwer, RapidFuzz, the torch path on CPU (and CUDA).

    python scripts/bench_metrics.py [--num-short 5000] [--num-long 1000] [--repeats 3] [--seed 0] [--threads N]

"strings" columns time `edit_counts` from Python strings (splitting, encoding, transfer included);
"tensors" columns time `batched_edit_counts` alone on ids already on the device, the case of a
training loop that scores its greedy hypotheses where they are. The result decides which backend
`edit_counts(backend="auto")` uses on the CPU.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.metrics import batched_edit_counts, edit_counts  # noqa: E402

_WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but have an "
    "they you were her she there been one all we their has would when if so no will more can out up who them "
    "speech model signal word error rate hand writing line image beam search language über straße grüße "
    "안녕하세요 감사합니다 λόγος φωνή"
).split()


def _mutate(words: list[str], rng: random.Random, error_rate: float) -> list[str]:
    """A hypothesis: each word kept, substituted, deleted or followed by an insertion."""
    hyp = []
    for word in words:
        roll = rng.random()
        if roll < error_rate / 3:
            continue
        if roll < 2 * error_rate / 3:
            word = rng.choice(_WORDS)
        elif roll < error_rate:
            word = word[: max(len(word) - 1, 1)] + rng.choice("aeiouß")
        hyp.append(word)
        if rng.random() < error_rate / 3:
            hyp.append(rng.choice(_WORDS))
    return hyp


def make_pairs(num_pairs: int, min_words: int, max_words: int, rng: random.Random) -> tuple[list[str], list[str]]:
    refs, hyps = [], []
    for _ in range(num_pairs):
        ref = [rng.choice(_WORDS) for _ in range(rng.randint(min_words, max_words))]
        refs.append(" ".join(ref))
        hyps.append(" ".join(_mutate(ref, rng, error_rate=0.2)))
    return refs, hyps


def best_time(run: Callable[[], object], repeats: int, device: torch.device | None = None) -> float:
    run()  # warm-up: lazy imports, CUDA context and kernels
    times = []
    for _ in range(repeats):
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        run()
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def _encoded(refs: list[str], hyps: list[str], unit: str, device: torch.device):
    """The tensors `edit_counts(backend="torch")` would build, made once so the kernel is timed alone."""
    split = (lambda text: text.split()) if unit == "word" else (lambda text: text.strip())
    word_ids: dict[str, int] = {}

    def encode(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        seqs = [
            [word_ids.setdefault(word, len(word_ids)) for word in split(text)] if unit == "word"
            else [ord(char) for char in split(text)]
            for text in texts
        ]
        seq_lens = torch.tensor([len(seq) for seq in seqs])
        padded = torch.zeros(len(seqs), max(int(seq_lens.max()), 1), dtype=torch.long)
        for index, seq in enumerate(seqs):
            padded[index, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        return padded.to(device), seq_lens.to(device)

    ref_ids, ref_lens = encode(refs)
    hyp_ids, hyp_lens = encode(hyps)
    return hyp_ids, hyp_lens, ref_ids, ref_lens


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-short", type=int, default=5000, help="pairs of 1-3 words")
    parser.add_argument("--num-long", type=int, default=1000, help="pairs of 15-40 words")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    import jiwer

    print("$ " + " ".join(shlex.quote(arg) for arg in [sys.executable, *sys.argv]))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    rng = random.Random(args.seed)
    datasets = {
        "short": make_pairs(args.num_short, 1, 3, rng),
        "long": make_pairs(args.num_long, 15, 40, rng),
    }
    cpu = torch.device("cpu")
    cuda = torch.device("cuda") if torch.cuda.is_available() else None
    if cuda is not None:
        print(f"CUDA device: {torch.cuda.get_device_name(cuda)}")

    columns = ["jiwer", "rapidfuzz", "torch-cpu strings", "torch-cpu tensors"]
    if cuda is not None:
        columns += ["cuda strings", "cuda tensors"]
    header = f"{'data':<6} {'unit':<5} {'pairs':>6} {'chars/ref':>9} " + " ".join(f"{name:>18}" for name in columns)
    print(f"\npairs per second (best of {args.repeats} runs)")
    print(header)
    print("-" * len(header))
    for data_name, (refs, hyps) in datasets.items():
        mean_chars = sum(len(ref) for ref in refs) / len(refs)
        for unit in ("word", "char"):
            jiwer_process = jiwer.process_words if unit == "word" else jiwer.process_characters
            runs: dict[str, tuple[Callable[[], object], torch.device | None]] = {
                "jiwer": (lambda: jiwer_process(refs, hyps), None),
                "rapidfuzz": (lambda: edit_counts(refs, hyps, unit, backend="rapidfuzz"), None),
                "torch-cpu strings": (lambda: edit_counts(refs, hyps, unit, backend="torch", device=cpu), cpu),
            }
            cpu_tensors = _encoded(refs, hyps, unit, cpu)
            runs["torch-cpu tensors"] = (lambda: batched_edit_counts(*cpu_tensors), cpu)
            if cuda is not None:
                cuda_tensors = _encoded(refs, hyps, unit, cuda)
                runs["cuda strings"] = (lambda: edit_counts(refs, hyps, unit, backend="torch", device=cuda), cuda)
                runs["cuda tensors"] = (lambda: batched_edit_counts(*cuda_tensors), cuda)
            rates = []
            for name in columns:
                run, device = runs[name]
                rates.append(len(refs) / best_time(run, args.repeats, device))
            row = f"{data_name:<6} {unit:<5} {len(refs):>6} {mean_chars:>9.1f} "
            print(row + " ".join(f"{rate:>18,.0f}" for rate in rates))


if __name__ == "__main__":
    main()
