"""Tests for datasets/mnist_digits.py: the IDX reader on known bytes, string layout, split, determinism."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asr.data.manifest import read_manifest
from tests.script_loader import REPO_ROOT, load_script

SHARED_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist"

mnist = load_script("datasets/mnist_digits.py", "mnist_digits_recipe")


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(size.to_bytes(4, "big") for size in array.shape)
    return header + array.astype(mnist.IDX_DTYPES[type_code]).tobytes()


def fake_mnist(root: Path, num_digits: int = 40) -> Path:
    """IDX files in MNIST's layout: digit k is a 28x28 square of ink level 10 * (k % 25) + 5, label k % 10."""
    root.mkdir(parents=True, exist_ok=True)
    images = np.zeros((num_digits, 28, 28), dtype=np.uint8)
    for index in range(num_digits):
        images[index, 6:22, 6:22] = 10 * (index % 25) + 5
    labels = np.arange(num_digits, dtype=np.uint8) % 10
    (root / mnist.IMAGES_FILE).write_bytes(gzip.compress(idx_bytes(images)))
    (root / mnist.LABELS_FILE).write_bytes(gzip.compress(idx_bytes(labels)))
    return root


def test_read_idx_known_answers(tmp_path):
    values = np.array([[1, -2, 3], [40000, 5, -6]], dtype=np.int32)
    (tmp_path / "ints.idx").write_bytes(idx_bytes(values, 0x0C))
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "ints.idx"), values)
    floats = np.array([0.5, -1.25], dtype=np.float32)
    (tmp_path / "floats.idx.gz").write_bytes(gzip.compress(idx_bytes(floats, 0x0D)))
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "floats.idx.gz"), floats)


@pytest.mark.parametrize("content, message", [
    (b"\x01\x00\x08\x01", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02", "truncated header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "header says shape (3,)"),
])
def test_read_idx_rejects_malformed_files_naming_them(tmp_path, content, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(content)
    with pytest.raises(mnist.IdxError, match=r"bad\.idx") as raised:
        mnist.read_idx(path)
    assert message in str(raised.value)
    with pytest.raises(FileNotFoundError):
        mnist.read_idx(tmp_path / "absent.idx")


def test_split_holds_out_the_last_digits():
    train, dev = mnist.split_indices(100, 30)
    assert train.tolist() == list(range(70)) and dev.tolist() == list(range(70, 100))
    with pytest.raises(ValueError, match="--dev-digits"):
        mnist.split_indices(100, 100)


def test_compose_string_places_every_digit_within_the_canvas():
    digits = [np.full((28, 28), 200, dtype=np.uint8) for _ in range(3)]
    canvas = mnist.compose_string(digits, np.random.default_rng(3))
    assert canvas.shape[0] == mnist.CANVAS_HEIGHT and canvas.dtype == np.uint8
    low_gap, high_gap = mnist.GAP_RANGE
    assert 3 * 28 + 2 * low_gap <= canvas.shape[1] <= 3 * 28 + 2 * high_gap + 2 * mnist.MARGIN_RANGE[1]
    assert (canvas == 200).sum() >= 28 * 28  # overlapping digits merge (the darker ink wins), none vanishes
    assert set(np.unique(canvas)) <= {0, 200}


def test_strings_are_a_function_of_seed_split_and_number():
    pool = np.arange(100)
    first = list(mnist.plan_strings(pool, 5, 4, seed=1, split="train"))
    longer = list(mnist.plan_strings(pool, 8, 4, seed=1, split="train"))
    assert first == longer[:5]  # asking for more strings does not change the earlier ones
    assert first != list(mnist.plan_strings(pool, 5, 4, seed=2, split="train"))
    assert first != list(mnist.plan_strings(pool, 5, 4, seed=1, split="dev"))
    assert all(1 <= len(plan.digit_indices) <= 4 for plan in longer)


def test_recipe_writes_images_and_manifests_deterministically(tmp_path):
    root = fake_mnist(tmp_path / "mnist")
    arguments = ["--root", str(root), "--train-strings", "6", "--dev-strings", "3", "--max-length", "3",
                 "--dev-digits", "10", "--seed", "5"]
    assert mnist.main(arguments + ["--out", str(tmp_path / "a")]) == 0
    assert mnist.main(arguments + ["--out", str(tmp_path / "b"), "--workers", "2"]) == 0
    train = read_manifest(tmp_path / "a" / "train.jsonl")
    dev = read_manifest(tmp_path / "a" / "dev.jsonl")
    assert len(train) == 6 and len(dev) == 3
    assert all(item.kind == "image" and item.speaker == "mnist" and item.text.isdigit() for item in train + dev)
    for item in train + dev:
        twin = tmp_path / "b" / item.path.relative_to(tmp_path / "a")
        assert hashlib.sha256(item.path.read_bytes()).digest() == hashlib.sha256(twin.read_bytes()).digest()
        pixels = np.asarray(Image.open(item.path))
        assert pixels.shape[0] == mnist.CANVAS_HEIGHT and pixels.max() == 255  # white paper, dark ink
    # Dev strings use only the held-out digits (indices 30-39), whose ink levels identify them.
    held_out_levels = {10 * (index % 25) + 5 for index in range(30, 40)}
    for item in dev:
        ink_levels = set(np.unique(255 - np.asarray(Image.open(item.path)))) - {0}
        assert ink_levels <= held_out_levels


@pytest.mark.skipif(not (SHARED_MNIST / mnist.IMAGES_FILE).is_file(), reason="shared MNIST data not present")
def test_real_mnist_loads():
    images, labels = mnist.load_mnist(SHARED_MNIST)
    assert images.shape == (60_000, 28, 28) and labels.shape == (60_000,) and labels[:5].tolist() == [5, 0, 4, 1, 9]
