"""The image front-end: one picture of handwriting -> a grey, height-normalised ink image -> frames.

The signal contract for images, defined here once: pixels are "ink" values in [0, 1], 0 the paper and 1
the darkest ink, so padding a batch with zeros adds blank paper; every image is scaled to
`FeatureConfig.image_height` rows with its aspect ratio kept; and the width is time, so an image becomes
features `(width, height)` (one frame per pixel column), the layout every model here reads.

Any mode Pillow opens is accepted: 1-bit, grey, 16-bit and 32-bit grey, float, palette, RGB, RGBA,
grey+alpha, CMYK and the rest; transparent pixels are laid over white paper, colour is reduced to luma
(ITU-R 601, as Pillow's own "L" conversion) and 16-bit values are scaled by 65535, not clipped at 255.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from asr.config import FeatureConfig

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601-2, the weights of Pillow's RGB -> L conversion
MIN_CONTRAST = 1e-3  # ink range below which an image is blank paper (no contrast to stretch)
# Cropping to the writing: each side may leave out this share of the ink (specks, a stray stroke at the
# edge), and the crop keeps a margin of this share of the writing's height around what it kept.
CROP_ROW_TAIL = 0.01
CROP_COLUMN_TAIL = 0.002
CROP_MARGIN = 0.08
CROP_MIN_HEIGHT = 0.25  # share of the image's rows a crop keeps at least: a lone stroke is not blown up
EXIF_ORIENTATION = 0x0112
SWAPPED_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that turn the picture by 90 degrees


class ImageDecodeError(ValueError):
    """The file exists but Pillow cannot decode it as an image, or it holds no pixels."""


def _pillow():
    try:
        from PIL import Image, ImageOps
    except ImportError as error:  # a dependency of asr, but a stripped environment may lack it
        raise ImportError("reading images needs Pillow: pip install Pillow") from error
    return Image, ImageOps


def _grey_values(image) -> np.ndarray:
    """A decoded Pillow image of any mode -> grey `(rows, columns)` float32 in [0, 1], 1 = white."""
    Image, _ = _pillow()
    mode = image.mode
    if mode == "P":  # palette: its entries may carry transparency
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "PA":
        image = image.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    elif mode == "1":
        image = image.convert("L")
    mode = image.mode

    if mode.startswith("I;16"):
        values = np.asarray(image, dtype=np.float32) / 65535.0
    elif mode == "I":  # 32-bit integers: in practice 16-bit scans that Pillow widened
        values = np.asarray(image, dtype=np.float64)
        values = (values / (65535.0 if values.max(initial=0) > 255 else 255.0)).astype(np.float32)
    elif mode == "F":  # floats: taken as [0, 1], or as 8-bit levels when they exceed 1
        values = np.asarray(image, dtype=np.float32)
        values = values / 255.0 if values.max(initial=0) > 1.0 else values
    elif mode in ("L", "LA", "RGB", "RGBA"):
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        if pixels.ndim == 2:
            values, alpha = pixels, None
        elif mode == "LA":
            values, alpha = pixels[..., 0], pixels[..., 1]
        else:
            values = pixels[..., :3] @ np.asarray(LUMA_WEIGHTS, dtype=np.float32)
            alpha = pixels[..., 3] if mode == "RGBA" else None
        if alpha is not None:  # lay the picture over white paper
            values = alpha * values + (1.0 - alpha)
    else:
        values = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    return np.clip(values, 0.0, 1.0)


def decode_image(path: str | Path, to_values: Callable[[Any], np.ndarray]) -> np.ndarray:
    """Decode `path` (PNG, JPEG, TIFF, BMP, ...: the first frame) and turn the Pillow image into an array with
    `to_values`; errors name the file. The EXIF orientation of photographs is applied, so the picture is
    upright as a viewer shows it."""
    Image, ImageOps = _pillow()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    try:
        with Image.open(path) as image:
            image.load()
            values = to_values(ImageOps.exif_transpose(image))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        # Pillow reports unknown and truncated files as OSError (UnidentifiedImageError is one)
        raise ImageDecodeError(f"cannot decode image file {path}: {error}") from error
    if values.size == 0:
        raise ImageDecodeError(f"image file {path} holds no pixels")
    return values


def read_grey_image(path: str | Path) -> np.ndarray:
    """Decode `path` -> grey `(rows, columns)` float32, 1 = white (see `decode_image`)."""
    return decode_image(path, _grey_values)


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as displayed, from the file's header only (Pillow opens lazily: no decoding)."""
    Image, _ = _pillow()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(EXIF_ORIENTATION, 1) if image.format in ("JPEG", "TIFF") else 1
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageDecodeError(f"cannot read the image header of {path}: {error}") from error
    return (height, width) if orientation in SWAPPED_ORIENTATIONS else (width, height)


def ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """ink `(rows, columns)`, 0 = paper -> (top, bottom, left, right), the half-open box that holds the
    writing and a margin. The box is set by the ink's mass, not by its darkest pixels: all but a small
    share of it on each side (see CROP_*), so a speck or a pen mark near an edge does not stretch it.
    Blank paper gives the whole image."""
    rows, columns = ink.shape
    # Paper that is not quite white (no contrast stretch) must not count as ink: measure from the median.
    mass = np.clip(ink - np.median(ink), 0.0, None)
    total = float(mass.sum())
    if total <= 0.0:
        return 0, rows, 0, columns

    def span(profile: np.ndarray, tail: float) -> tuple[int, int]:
        cumulative = np.cumsum(profile) / total
        first = int(np.searchsorted(cumulative, tail, side="right"))
        last = int(np.searchsorted(cumulative, 1.0 - tail, side="left"))
        return first, min(last, profile.shape[0] - 1) + 1

    top, bottom = span(mass.sum(axis=1), CROP_ROW_TAIL)
    left, right = span(mass.sum(axis=0), CROP_COLUMN_TAIL)
    margin = max(1, round(CROP_MARGIN * (bottom - top)))
    top, bottom = max(0, top - margin), min(rows, bottom + margin)
    wanted = min(rows, math.ceil(CROP_MIN_HEIGHT * rows))
    if bottom - top < wanted:  # grow about the writing's middle, within the image
        top = min(max(0, top - (wanted - (bottom - top)) // 2), rows - wanted)
        bottom = top + wanted
    return top, bottom, max(0, left - margin), min(columns, right + margin)


def scaled_width(width: int, height: int, target_height: int) -> int:
    """Width after scaling an image of `width` x `height` to `target_height` rows, aspect ratio kept."""
    return max(1, round(width * target_height / height))


class ImageFrontend(nn.Module):
    """image file -> ink `(image_height, width)` (`load`) -> features `(width, image_height)` (`forward`).

    It has no weights; it is a module so that a model holds its front-end as speech models do, and
    inference rebuilds exactly the training front-end from the checkpoint's config.
    """

    def __init__(self, config: FeatureConfig):
        super().__init__()
        if config.kind != "image":
            raise ValueError(f"ImageFrontend needs features.kind 'image', got {config.kind!r}")
        self.config = config
        self.height = config.image_height
        self.output_dim = config.image_height  # features per frame: one pixel column

    def input_width(self, path: str | Path) -> int:
        """Frames (pixel columns) that `load(path)` gives: read from the header only, unless the image is
        cropped to its writing (then the image is decoded)."""
        if self.config.image_crop:
            return int(self.load(path).shape[1])
        width, height = image_size(path)
        return scaled_width(width, height, self.height)

    def to_ink(self, grey: np.ndarray) -> torch.Tensor:
        """grey `(rows, columns)` in [0, 1], 1 = white -> ink `(image_height, width)` in [0, 1], 0 = paper."""
        ink = 1.0 - np.asarray(grey, dtype=np.float32)
        if self.config.normalize == "utterance":
            # The median pixel is paper in any image of writing (ink covers a minority of it); stretching
            # from there to the darkest pixel removes grey paper, pale ink and scanner offsets alike.
            paper, darkest = float(np.median(ink)), float(ink.max())
            if darkest - paper < MIN_CONTRAST:
                ink = np.zeros_like(ink)
            else:
                ink = np.clip((ink - paper) / (darkest - paper), 0.0, 1.0)
        if self.config.image_crop:
            top, bottom, left, right = ink_box(ink)
            ink = ink[top:bottom, left:right]
        tensor = torch.from_numpy(np.ascontiguousarray(ink, dtype=np.float32))
        rows, columns = tensor.shape
        width = scaled_width(columns, rows, self.height)
        if (rows, columns) != (self.height, width):
            # Antialiased bilinear scaling: shrinking a scan averages its pixels instead of skipping them.
            tensor = torch.nn.functional.interpolate(tensor[None, None], size=(self.height, width), mode="bilinear",
                                                     align_corners=False, antialias=rows > self.height)[0, 0]
        return tensor.clamp_(0.0, 1.0)

    def load(self, path: str | Path) -> torch.Tensor:
        """Read an image file -> ink `(image_height, width)`; errors name the file."""
        return self.to_ink(read_grey_image(path))

    def forward(self, ink: torch.Tensor) -> torch.Tensor:
        """ink `(image_height, width)` -> features `(width, image_height)`: the width becomes time."""
        if ink.dim() != 2 or ink.shape[0] != self.height:
            raise ValueError(f"expected an ink image ({self.height}, width), got shape {tuple(ink.shape)}")
        return ink.transpose(0, 1).contiguous()
