"""Attention plots: each writes a real, non-blank PNG; the picture depends on the weights; bad input is
rejected with a ValueError that names the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

from asr.plots import plot_image_attention, plot_sequence_attention  # noqa: E402

TOKENS = ["h", "i", "<space>", "y", "o", "<eos>"]


def diagonal_weights(num_tokens: int, num_frames: int) -> np.ndarray:
    """(L, T) weights peaking on the diagonal, each row a distribution over frames."""
    frames = np.arange(num_frames)
    centres = (np.arange(num_tokens) + 0.5) * num_frames / num_tokens
    weights = np.exp(-0.5 * ((frames[None, :] - centres[:, None]) / 1.5) ** 2)
    return weights / weights.sum(axis=1, keepdims=True)


def line_image(height: int = 32, width: int = 240) -> np.ndarray:
    """(H, W) grey image, ink dark on light: a few dark strokes on white paper."""
    image = np.ones((height, width))
    for start in range(10, width - 20, 40):
        image[8:24, start:start + 12] = 0.1
    return image


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        assert picture.mode in ("RGB", "RGBA")
        width, height = picture.size
        assert width > 100 and height > 100, picture.size
        return np.asarray(picture.convert("RGB"))


def assert_not_blank(pixels: np.ndarray) -> None:
    assert pixels.std() > 5, "the image is (nearly) a single colour"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20


@pytest.fixture(scope="module")
def diagonal_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One rendering (about 0.3 s) shared by the tests that only read it."""
    target = tmp_path_factory.mktemp("plots") / "nested" / "folder" / "line.png"
    written = plot_sequence_attention(diagonal_weights(len(TOKENS), 30), TOKENS, target,
                                      background=line_image())
    assert written == target
    return target


def test_sequence_plot_with_image_background(diagonal_png: Path) -> None:
    assert diagonal_png.is_file()  # in folders that did not exist
    assert_not_blank(read_png(diagonal_png))


def test_sequence_plot_depends_on_the_weights(diagonal_png: Path, tmp_path: Path) -> None:
    anti_diagonal = diagonal_weights(len(TOKENS), 30)[:, ::-1].copy()
    first = read_png(diagonal_png)
    second = read_png(plot_sequence_attention(anti_diagonal, TOKENS, tmp_path / "anti.png",
                                              background=line_image()))
    assert first.shape == second.shape
    assert (first != second).any(axis=2).mean() > 0.01


def test_tensors_and_arrays_give_the_same_picture(diagonal_png: Path, tmp_path: Path) -> None:
    weights = torch.from_numpy(diagonal_weights(len(TOKENS), 30)).float()
    from_tensor = read_png(plot_sequence_attention(weights, TOKENS, tmp_path / "tensor.png",
                                                   background=torch.from_numpy(line_image())))
    assert np.array_equal(read_png(diagonal_png), from_tensor)


def test_sequence_plot_with_speech_features(tmp_path: Path) -> None:
    features = np.random.default_rng(0).normal(size=(40, 120))  # (F, T_in), subsampled 4x to T = 30
    speech = plot_sequence_attention(diagonal_weights(len(TOKENS), 30), TOKENS, tmp_path / "speech.png",
                                     background=features, frames_per_column=4, background_kind="features",
                                     title="utterance 7")
    assert_not_blank(read_png(speech))


def test_sequence_plot_without_background_leaves_no_figure_open(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    bare = plot_sequence_attention(diagonal_weights(3, 10), ["a", "b", "c"], tmp_path / "bare.png")
    assert_not_blank(read_png(bare))
    assert plt.get_fignums() == open_before


def test_image_plot_writes_one_panel_per_token(tmp_path: Path) -> None:
    caption = ["a", "dog", "on", "the", "grass", "with", "<eos>"]  # 7 tokens: two rows of panels
    weights = torch.softmax(torch.randn(len(caption), 4 * 6, generator=torch.Generator().manual_seed(0)), dim=1)
    image = np.random.default_rng(0).integers(0, 256, size=(60, 90, 3), dtype=np.uint8)
    target = tmp_path / "captions" / "dog.png"
    assert plot_image_attention(weights, caption, image, (4, 6), target, title="dog") == target
    uint8_pixels = read_png(target)
    assert_not_blank(uint8_pixels)
    float_pixels = read_png(plot_image_attention(weights.numpy(), caption, image / 255.0, (4, 6),
                                                 tmp_path / "float.png", title="dog"))
    assert np.array_equal(float_pixels, uint8_pixels)


@pytest.mark.parametrize(("weights", "tokens", "background", "message"), [
    (np.ones(5), ["a"], None, "2-D"),
    (np.ones((2, 3, 4)), ["a", "b"], None, "2-D"),
    (np.ones((3, 5)), ["a", "b"], None, "2 tokens for 3 rows"),
    (np.array([[0.5, np.nan], [0.5, 0.5]]), ["a", "b"], None, "NaN"),
    (np.ones((2, 5)), ["a", "b"], np.ones(100), "background must be 2-D"),
    (np.ones((2, 5)), ["a", "b"], np.ones((3, 10, 10)), "background must be 2-D"),
])
def test_sequence_plot_rejects_bad_input(tmp_path: Path, weights, tokens, background, message) -> None:
    with pytest.raises(ValueError, match=message):
        plot_sequence_attention(weights, tokens, tmp_path / "bad.png", background=background)
    assert not (tmp_path / "bad.png").exists()


def test_nan_error_names_the_token(tmp_path: Path) -> None:
    weights = torch.full((3, 4), 0.25)
    weights[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"1 \('b'\)"):
        plot_sequence_attention(weights, ["a", "b", "c"], tmp_path / "bad.png")


@pytest.mark.parametrize(("weights", "tokens", "grid_shape", "message"), [
    (np.ones(6), ["a"], (2, 3), "2-D"),
    (np.ones((2, 6)), ["a"], (2, 3), "1 tokens for 2 rows"),
    (np.ones((2, 6)), ["a", "b"], (2, 2), "4 positions.*T = 6"),
    (np.full((2, 6), np.nan), ["a", "b"], (2, 3), "NaN"),
])
def test_image_plot_rejects_bad_input(tmp_path: Path, weights, tokens, grid_shape, message) -> None:
    with pytest.raises(ValueError, match=message):
        plot_image_attention(weights, tokens, np.zeros((20, 30, 3)), grid_shape, tmp_path / "bad.png")


def test_image_plot_rejects_a_channels_first_image(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="channels first"):
        plot_image_attention(np.ones((1, 4)), ["a"], np.zeros((3, 20, 30)), (2, 2), tmp_path / "bad.png")
