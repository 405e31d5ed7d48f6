"""Attention explanations written as PNG files: which encoder frames (or image positions) each emitted
token looked at.

`plot_sequence_attention` is for sequence inputs (a handwriting line image, a speech spectrogram): the
input on top, the (L, T) weight matrix below it on the same horizontal axis, and each token's peak
marked on the input, so a near-diagonal alignment (or where it breaks down) is visible at a glance.
`plot_image_attention` is for captioning: one panel per token, the image under a heat map of the
token's weights over the CNN feature grid.

Figures are built with `matplotlib.figure.Figure` and an Agg canvas, never through `pyplot`: pyplot keeps
every figure in a global registry until it is closed (a leak when one figure is written per test item,
thousands of times) and `matplotlib.use("Agg")` would switch the backend of a caller's notebook. A
figure that pyplot never saw is freed like any other object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

DPI = 100
MAX_PANELS_PER_ROW = 5
MAX_TOKEN_LABELS = 80  # beyond this many tokens, the y axis labels every k-th one to stay legible
PEAK_LABEL_HEIGHTS = (0.93, 0.80, 0.67)  # axes fractions; neighbouring peak labels alternate so they overlap less
BackgroundKind = Literal["image", "features"]


def _new_figure(width_inches: float, height_inches: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("plotting attention needs matplotlib: pip install matplotlib") from error
    figure = Figure(figsize=(width_inches, height_inches), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # attaches itself to the figure: PNG rendering without any GUI backend
    return figure


def _save(figure: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    figure.clear()  # drop the artists now rather than whenever the garbage collector gets to them
    return path


def _as_array(values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        # .float() first: numpy has no bfloat16, and attention computed under autocast may be half precision
        return values.detach().float().cpu().numpy()
    return np.asarray(values)


def _checked_weights(weights: Any, tokens: Sequence[str]) -> np.ndarray:
    """`weights` (L, T) as float64, with one display string per row in `tokens`."""
    weights = _as_array(weights)
    if weights.ndim != 2:
        raise ValueError(f"weights must be 2-D (L tokens, T positions), got shape {weights.shape}")
    num_tokens, num_positions = weights.shape
    if num_tokens == 0 or num_positions == 0:
        raise ValueError(f"weights must have at least one token and one position, got shape {weights.shape}")
    if len(tokens) != num_tokens:
        raise ValueError(f"got {len(tokens)} tokens for {num_tokens} rows of weights {weights.shape}: "
                         f"need one token per row")
    weights = weights.astype(np.float64)
    bad_rows = np.flatnonzero(~np.isfinite(weights).all(axis=1))
    if bad_rows.size:
        named = ", ".join(f"{row} ({tokens[row]!r})" for row in bad_rows[:5])
        raise ValueError(f"weights contain NaN or infinite values in {bad_rows.size} row(s): {named}")
    return weights


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def plot_sequence_attention(weights: Any, tokens: Sequence[str], path: str | Path, background: Any = None,
                            frames_per_column: float | None = None, title: str = "", *,
                            background_kind: BackgroundKind = "image") -> Path:
    """Write a PNG of a sequence model's attention and return its path (parent folders are created).

    weights: (L, T) numpy array or tensor, row l = token l's attention over the T encoder frames.
    tokens: L display strings, e.g. ["a", "<space>", "<eos>"].
    background: optional 2-D input drawn above the weights on the same horizontal axis:
        background_kind="image": a grey line image (H, W), ink dark on light, row 0 at the top;
        background_kind="features": speech features (F, T_in), e.g. log-mel, bin 0 (low) at the bottom.
    frames_per_column: background columns covered by one encoder frame (the encoder's subsampling factor,
        e.g. 4). None: the T frames are stretched over the whole background width (W / T columns each);
        without a background, 1. Give it when the encoder drops trailing input columns, so frames line up.
    """
    weights = _checked_weights(weights, tokens)
    num_tokens, num_frames = weights.shape
    if background_kind not in ("image", "features"):
        raise ValueError(f"background_kind must be 'image' or 'features', got {background_kind!r}")
    if background is not None:
        background = _as_array(background).astype(np.float64)
        if background.ndim != 2:
            raise ValueError(f"background must be 2-D ((H, W) image or (F, T_in) features), "
                             f"got shape {background.shape}")
        if background.size == 0:
            raise ValueError(f"background is empty: shape {background.shape}")
    if frames_per_column is not None and not (math.isfinite(frames_per_column) and frames_per_column > 0):
        raise ValueError(f"frames_per_column must be a positive number, got {frames_per_column!r}")
    if frames_per_column is not None:
        columns_per_frame = float(frames_per_column)
    elif background is not None:
        columns_per_frame = background.shape[1] / num_frames
    else:
        columns_per_frame = 1.0
    weights_width = num_frames * columns_per_frame  # in background columns: the shared x unit
    axis_width = max(weights_width, background.shape[1]) if background is not None else weights_width

    # One inch per ~80 columns, so a long line gets a long figure, bounded to stay a readable file
    width_inches = _clip(axis_width / 80, 6.0, 20.0)
    weights_inches = _clip(0.18 * num_tokens + 0.6, 1.5, 12.0)
    heights = [weights_inches]
    if background is not None:
        rows, columns = background.shape
        heights.insert(0, _clip(width_inches * rows / columns, 1.2, 3.0))
    title_inches = 0.4 if title else 0.0
    figure = _new_figure(width_inches, sum(heights) + 0.6 + title_inches)
    axes = figure.subplots(len(heights), 1, sharex=True, squeeze=False,
                           gridspec_kw={"height_ratios": heights})[:, 0]
    weights_axis = axes[-1]

    peak_frames = weights.argmax(axis=1)
    peak_columns = (peak_frames + 0.5) * columns_per_frame  # centre of each token's most-attended frame

    if background is not None:
        background_axis = axes[0]
        rows, columns = background.shape
        if background_kind == "image":
            low, high = (0.0, 1.0) if background.min() >= 0 and background.max() <= 1 else (None, None)
            if high is None and background.min() >= 0 and background.max() <= 255:
                low, high = 0.0, 255.0  # uint8-range grey values: keep white paper white
            background_axis.imshow(background, cmap="gray", vmin=low, vmax=high, aspect="auto",
                                   interpolation="nearest", extent=(0, columns, rows, 0))
            background_axis.set_ylabel("pixel row")
        else:
            background_axis.imshow(background, cmap="magma", origin="lower", aspect="auto",
                                   interpolation="nearest", extent=(0, columns, 0, rows))
            background_axis.set_ylabel("feature bin")
        # x in data units, y in axes fractions: the labels sit at fixed heights whatever the background's scale
        label_transform = background_axis.get_xaxis_transform()
        peak_colour = "tab:red" if background_kind == "image" else "cyan"  # red vanishes on magma
        for index, (column, token) in enumerate(zip(peak_columns, tokens)):
            background_axis.axvline(column, color=peak_colour, alpha=0.7, linewidth=0.8)
            background_axis.text(column, PEAK_LABEL_HEIGHTS[index % len(PEAK_LABEL_HEIGHTS)], str(token),
                                 transform=label_transform, ha="center", va="center", fontsize=7,
                                 color="tab:red", bbox={"facecolor": "white", "alpha": 0.8,
                                                        "edgecolor": "none", "pad": 1})
        background_axis.set_title("input, with each token at its attention peak", fontsize=9)

    peak_value = weights.max()
    image = weights_axis.imshow(weights, cmap="viridis", vmin=0.0, vmax=peak_value if peak_value > 0 else 1.0,
                                aspect="auto", interpolation="nearest",
                                extent=(0, weights_width, num_tokens, 0))
    weights_axis.scatter(peak_columns, np.arange(num_tokens) + 0.5, marker="x", s=12, color="tab:red",
                         linewidths=0.8)
    label_step = math.ceil(num_tokens / MAX_TOKEN_LABELS)
    labelled_rows = np.arange(0, num_tokens, label_step)
    weights_axis.set_yticks(labelled_rows + 0.5, [str(tokens[row]) for row in labelled_rows],
                            fontsize=8 if num_tokens <= 50 else 6)
    weights_axis.set_ylim(num_tokens, 0)
    weights_axis.set_xlim(0, axis_width)
    weights_axis.set_ylabel("emitted token")
    weights_axis.set_xlabel("input column" if background is not None or frames_per_column else "encoder frame")
    figure.colorbar(image, ax=list(axes), label="attention weight", fraction=0.02, pad=0.01)
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def _display_rgb(image: Any) -> np.ndarray:
    """An RGB (H, W, 3) uint8 or float image as floats in [0, 1] for imshow."""
    image = _as_array(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be RGB (H, W, 3), got shape {image.shape}"
                         + (" (channels first? transpose it to (H, W, 3))" if image.ndim == 3
                            and image.shape[0] == 3 else ""))
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty: shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255.0
    image = image.astype(np.float64)
    low, high = image.min(), image.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError("image contains NaN or infinite values")
    if low >= 0 and high <= 1:
        return image
    if low >= 0 and high <= 255:
        return image / 255.0  # float values on the 0-255 scale
    raise ValueError(f"float image values must lie in [0, 1] or [0, 255], got [{low:.3g}, {high:.3g}] "
                     f"(a normalised image? undo the normalisation before plotting)")


def plot_image_attention(weights: Any, tokens: Sequence[str], image: Any, grid_shape: tuple[int, int],
                         path: str | Path, title: str = "") -> Path:
    """Write a PNG with one panel per caption token and return its path (parent folders are created).

    weights: (L, T) numpy array or tensor over the T = grid_h * grid_w positions of a CNN feature map,
        row-major (position t is grid cell (t // grid_w, t % grid_w)).
    tokens: L display strings, one panel title each.
    image: RGB (H, W, 3), uint8 or float in [0, 1] (or [0, 255]).
    Each panel shows the image under the token's weights, upsampled smoothly to the image size; panels
    are laid out in rows of at most five.
    """
    weights = _checked_weights(weights, tokens)
    num_tokens, num_positions = weights.shape
    if len(grid_shape) != 2 or any(int(side) != side or side <= 0 for side in grid_shape):
        raise ValueError(f"grid_shape must be two positive integers (grid_h, grid_w), got {grid_shape!r}")
    grid_height, grid_width = (int(side) for side in grid_shape)
    if grid_height * grid_width != num_positions:
        raise ValueError(f"grid_shape {grid_height}x{grid_width} = {grid_height * grid_width} positions, "
                         f"but weights {weights.shape} have T = {num_positions}")
    rgb = _display_rgb(image)
    image_height, image_width = rgb.shape[:2]

    num_columns = min(num_tokens, MAX_PANELS_PER_ROW)
    num_rows = math.ceil(num_tokens / num_columns)
    panel_width = 2.2
    panel_height = _clip(panel_width * image_height / image_width, 1.0, 3.5) + 0.3  # + the token title
    title_inches = 0.4 if title else 0.0
    figure = _new_figure(panel_width * num_columns, panel_height * num_rows + title_inches)
    axes = figure.subplots(num_rows, num_columns, squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.set_axis_off()
        if index >= num_tokens:
            continue  # the unused tail of the last row stays blank
        heat = weights[index].reshape(grid_height, grid_width)
        axis.imshow(rgb, extent=(0, image_width, image_height, 0), interpolation="antialiased")
        # Each panel scaled to its own peak: over ~50-200 positions weights are small, and a shared scale
        # would leave most tokens' maps invisible. The bilinear resampling is the upsampling to image size.
        peak_value = heat.max()
        axis.imshow(heat, cmap="jet", alpha=0.5, vmin=0.0, vmax=peak_value if peak_value > 0 else 1.0,
                    interpolation="bilinear", extent=(0, image_width, image_height, 0))
        axis.set_xlim(0, image_width)
        axis.set_ylim(image_height, 0)
        axis.set_title(str(tokens[index]), fontsize=9)
    if title:
        figure.suptitle(title)
    return _save(figure, path)
