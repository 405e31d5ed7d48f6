"""The picture front-end for captioning: one photograph or scene -> a colour square -> columns of pixels.

The signal contract for pictures, defined here once: every picture is scaled (antialiased, aspect ratio
not kept, as captioning CNNs usually do) to `FeatureConfig.picture_size` pixels square, RGB values in
[0, 1]; transparent pixels are laid over white. Like handwriting, the width becomes the feature axis of
time, so a picture is features `(size, 3 * size)`: one frame per pixel column, holding the column's red,
green and blue rows in that order. Every picture has the same width, so a batch needs no padding, and
the CNN encoder (asr.models.picture) folds the columns back into an image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from asr.config import FeatureConfig
from asr.frontend.image import decode_image

NUM_CHANNELS = 3


def _rgb_over_white(image) -> np.ndarray:
    """A decoded Pillow image of any mode -> RGB `(rows, columns, 3)` float32 in [0, 1], transparency over white."""
    pixels = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    alpha = pixels[..., 3:]
    return alpha * pixels[..., :3] + (1.0 - alpha)


def read_rgb_image(path: str | Path) -> np.ndarray:
    """Decode `path` -> RGB `(rows, columns, 3)` float32 in [0, 1] (see asr.frontend.image.decode_image)."""
    return decode_image(path, _rgb_over_white)


class PictureFrontend(nn.Module):
    """image file -> RGB `(3, size, size)` (`load`) -> features `(size, 3 * size)` (`forward`). No weights."""

    def __init__(self, config: FeatureConfig):
        super().__init__()
        if config.kind != "picture":
            raise ValueError(f"PictureFrontend needs features.kind 'picture', got {config.kind!r}")
        self.config = config
        self.size = config.picture_size
        self.output_dim = NUM_CHANNELS * config.picture_size

    def input_width(self, path: str | Path) -> int:
        """Frames that `load(path)` gives: always the picture size (checks that the file is there and readable)."""
        from asr.frontend.image import image_size

        image_size(path)
        return self.size

    def to_square(self, rgb: np.ndarray) -> torch.Tensor:
        """RGB `(rows, columns, 3)` in [0, 1] -> `(3, size, size)`."""
        tensor = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)
        rows, columns = tensor.shape[1:]
        if (rows, columns) != (self.size, self.size):
            tensor = torch.nn.functional.interpolate(tensor[None], size=(self.size, self.size), mode="bilinear",
                                                     align_corners=False, antialias=max(rows, columns) > self.size)[0]
        return tensor.clamp_(0.0, 1.0)

    def load(self, path: str | Path) -> torch.Tensor:
        return self.to_square(read_rgb_image(path))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """RGB `(3, size, size)` -> features `(size, 3 * size)`: column x holds rgb[:, :, x] flattened."""
        if tuple(rgb.shape) != (NUM_CHANNELS, self.size, self.size):
            raise ValueError(f"expected a picture (3, {self.size}, {self.size}), got shape {tuple(rgb.shape)}")
        return rgb.permute(2, 0, 1).reshape(self.size, NUM_CHANNELS * self.size).contiguous()


def features_to_pictures(features: torch.Tensor) -> torch.Tensor:
    """features `(B, size, 3 * size)` -> pictures `(B, 3, size, size)`: the inverse of `forward`, batched."""
    batch_size, size, _ = features.shape
    return features.reshape(batch_size, size, NUM_CHANNELS, size).permute(0, 2, 3, 1)
