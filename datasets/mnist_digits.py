"""Recipe: handwritten digit strings made from the MNIST training digits -> PNG images and manifests.

    python datasets/mnist_digits.py --root ../shared/data/mnist --out data/mnist_digits

Each string has a random length from 1 to --max-length; its digits are real MNIST digits placed left to
right with random gaps (slight overlaps included) and random vertical offsets, on a canvas of
CANVAS_HEIGHT rows, black ink on white paper. Everything is a pure function of (--seed, split, string
number), so the same command writes the same files, byte for byte.

Split: MNIST has no writer ids, so digits are held out by index range instead: the last --dev-digits
digits of the training file (by default indices 50000-59999) make the dev strings, the others the
training strings, so no dev image shares a digit image with training. MNIST's training file mixes its
~250 writers across the whole index range, so a writer may appear on both sides: dev figures predict
new digit images, not strictly new writers.

Writes OUT/train.jsonl and OUT/dev.jsonl (image manifests: "image", "text", "speaker": "mnist") and the
images under OUT/train/ and OUT/dev/.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from asr.data.manifest import ManifestItem, write_manifest  # noqa: E402

IMAGES_FILE = "train-images-idx3-ubyte.gz"
LABELS_FILE = "train-labels-idx1-ubyte.gz"
NUM_MNIST_TRAIN = 60_000
DIGIT_SIZE = 28  # MNIST digits are 28x28, the digit's 20x20 box centred in it by its centre of mass
CANVAS_HEIGHT = 40  # rows: a digit plus room for the vertical offsets
MAX_VERTICAL_OFFSET = CANVAS_HEIGHT - DIGIT_SIZE
GAP_RANGE = (-6, 6)  # pixels between neighbouring 28-pixel boxes; negative overlaps their blank margins
MARGIN_RANGE = (0, 8)  # blank pixels before the first and after the last digit
SPEAKER = "mnist"  # MNIST has no writer ids

# IDX type codes (big-endian data): https://yann.lecun.com/exdb/mnist/ describes the format.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IdxError(ValueError):
    """A file that is not a well-formed IDX array; the message names it."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed when its name ends in .gz) into a numpy array of its shape."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            data = stream.read()
    except (OSError, EOFError) as error:  # a damaged .gz raises BadGzipFile (an OSError) or EOFError
        raise IdxError(f"cannot read {path}: {error}") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise IdxError(f"{path}: not an IDX file (its first two bytes must be zero)")
    type_code, num_dims = data[2], data[3]
    if type_code not in IDX_DTYPES:
        raise IdxError(f"{path}: unknown IDX type code 0x{type_code:02X}")
    header_size = 4 + 4 * num_dims
    if len(data) < header_size:
        raise IdxError(f"{path}: truncated header")
    shape = tuple(int.from_bytes(data[4 + 4 * dim: 8 + 4 * dim], "big") for dim in range(num_dims))
    dtype = np.dtype(IDX_DTYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header_size != expected:
        raise IdxError(f"{path}: header says shape {shape} ({expected} bytes of data), "
                       f"the file holds {len(data) - header_size}")
    return np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(root: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST training digits `(60000, 28, 28)` uint8 (255 = ink) and labels `(60000,)`."""
    root = Path(root)
    images, labels = read_idx(root / IMAGES_FILE), read_idx(root / LABELS_FILE)
    if images.ndim != 3 or images.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE) or labels.shape != images.shape[:1]:
        raise IdxError(f"{root}: expected images (N, 28, 28) and labels (N,), got {images.shape} and {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise IdxError(f"{root / LABELS_FILE}: labels must be digits 0-9")
    return images.astype(np.uint8), labels.astype(np.int64)


def split_indices(num_digits: int, num_dev_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, dev) digit indices: dev is the last `num_dev_digits` of the file, train the rest."""
    if not 0 < num_dev_digits < num_digits:
        raise ValueError(f"--dev-digits must lie in [1, {num_digits - 1}], got {num_dev_digits}")
    boundary = num_digits - num_dev_digits
    return np.arange(boundary), np.arange(boundary, num_digits)


def compose_string(digits: list[np.ndarray], generator: np.random.Generator) -> np.ndarray:
    """Digit images `(28, 28)` uint8 (255 = ink) -> one line `(CANVAS_HEIGHT, width)` uint8, 255 = ink.

    Overlapping pixels keep the darker ink (the maximum), as two strokes on paper do.
    """
    left, right = (int(generator.integers(MARGIN_RANGE[0], MARGIN_RANGE[1] + 1)) for _ in range(2))
    gaps = [int(generator.integers(GAP_RANGE[0], GAP_RANGE[1] + 1)) for _ in digits[1:]]
    offsets = [int(generator.integers(0, MAX_VERTICAL_OFFSET + 1)) for _ in digits]
    width = left + DIGIT_SIZE * len(digits) + sum(gaps) + right
    canvas = np.zeros((CANVAS_HEIGHT, width), dtype=np.uint8)
    column = left
    for position, (digit, offset) in enumerate(zip(digits, offsets)):
        region = canvas[offset:offset + DIGIT_SIZE, column:column + DIGIT_SIZE]
        np.maximum(region, digit, out=region)
        column += DIGIT_SIZE + (gaps[position] if position < len(gaps) else 0)
    return canvas


@dataclass(frozen=True)
class StringPlan:
    """What one generated string is: which MNIST digits, and the seed of its layout."""

    number: int
    digit_indices: tuple[int, ...]
    layout_seed: int


def plan_strings(pool: np.ndarray, num_strings: int, max_length: int, seed: int,
                 split: str) -> Iterator[StringPlan]:
    """Plans of `num_strings` strings drawn from the digit indices `pool`, each a pure function of
    (seed, split, number), so a string does not change when more are asked for."""
    if max_length < 1:
        raise ValueError(f"--max-length must be positive, got {max_length}")
    split_code = {"train": 0, "dev": 1}[split]
    for number in range(num_strings):
        generator = np.random.default_rng([seed, split_code, number])
        length = int(generator.integers(1, max_length + 1))
        indices = generator.choice(pool, size=length, replace=True)
        yield StringPlan(number, tuple(int(index) for index in indices), int(generator.integers(2**63)))


def _write_image(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(255 - array).save(path, optimize=False)  # black ink on white paper


def render_plan(images: np.ndarray, labels: np.ndarray, plan: StringPlan, out_dir: Path,
                split: str) -> ManifestItem:
    canvas = compose_string([images[index] for index in plan.digit_indices],
                            np.random.default_rng(plan.layout_seed))
    path = out_dir / split / f"{plan.number:06d}.png"
    _write_image(canvas, path)
    text = "".join(str(labels[index]) for index in plan.digit_indices)
    return ManifestItem(id=f"mnist-{split}-{plan.number:06d}", path=path, text=text, duration=0.0,
                        speaker=SPEAKER, kind="image")


_WORKER_DATA: dict = {}


def _init_worker(images: np.ndarray, labels: np.ndarray, out_dir: Path, split: str) -> None:
    _WORKER_DATA.update(images=images, labels=labels, out_dir=out_dir, split=split)


def _render_in_worker(plan: StringPlan) -> ManifestItem:
    data = _WORKER_DATA
    return render_plan(data["images"], data["labels"], plan, data["out_dir"], data["split"])


def generate_split(images: np.ndarray, labels: np.ndarray, pool: np.ndarray, num_strings: int, max_length: int,
                   seed: int, out_dir: Path, split: str, num_workers: int = 1) -> list[ManifestItem]:
    """Render `num_strings` strings from the digits in `pool` under OUT/split/, return their items in order."""
    (out_dir / split).mkdir(parents=True, exist_ok=True)
    plans = list(plan_strings(pool, num_strings, max_length, seed, split))
    if num_workers <= 1:
        return [render_plan(images, labels, plan, out_dir, split) for plan in plans]
    with ProcessPoolExecutor(num_workers, initializer=_init_worker,
                             initargs=(images, labels, out_dir, split)) as pool_executor:
        return list(pool_executor.map(_render_in_worker, plans, chunksize=256))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help=f"MNIST directory (holds {IMAGES_FILE}, {LABELS_FILE})")
    parser.add_argument("--out", required=True, help="directory for train.jsonl, dev.jsonl and the images")
    parser.add_argument("--train-strings", type=int, default=20_000)
    parser.add_argument("--dev-strings", type=int, default=2_000)
    parser.add_argument("--max-length", type=int, default=6, help="longest string, in digits (default 6)")
    parser.add_argument("--dev-digits", type=int, default=10_000,
                        help="digits held out for dev: the last N of the training file (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    try:
        images, labels = load_mnist(args.root)
        train_pool, dev_pool = split_indices(len(labels), args.dev_digits)
        if args.train_strings < 1 or args.dev_strings < 1:
            raise ValueError("--train-strings and --dev-strings must be positive")
    except (OSError, ValueError) as error:
        print(f"mnist_digits: error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    for split, pool, count in (("train", train_pool, args.train_strings), ("dev", dev_pool, args.dev_strings)):
        items = generate_split(images, labels, pool, count, args.max_length, args.seed, out, split, args.workers)
        write_manifest(out / f"{split}.jsonl", items)
        num_digits = sum(len(item.text) for item in items)
        print(f"{out / f'{split}.jsonl'}: {len(items)} strings, {num_digits} digits "
              f"(MNIST training digits {pool[0]}-{pool[-1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
