"""Training-only distortions of handwriting images, seeded per item so results repeat after a resume.

They work on ink images `(height, width)` (0 = paper, 1 = ink; see asr.frontend.image), so pixels moved
in from outside the picture are blank paper. Every function takes an explicit `numpy.random.Generator`
(seeded by the sampler's per-item augment_seed); none touches a global RNG.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from asr.config import AugmentConfig

ELASTIC_SMOOTHNESS = 0.15  # elastic field smoothed with a Gaussian of this share of the image height


def affine_warp(ink: np.ndarray, rotate_degrees: float, shear: float, width_scale: float,
                scale: float = 1.0) -> np.ndarray:
    """Scale the writing by `scale` (both axes, about the centre row), stretch its width, shear it
    horizontally (x += shear * (centre row - y): a positive shear slants writing to the right) and rotate
    it about the centre; the height stays, the width follows the writing's."""
    height, width = ink.shape
    out_width = max(1, round(width * width_scale * scale + abs(shear) * height
                             + abs(math.sin(math.radians(rotate_degrees))) * height))
    angle = math.radians(rotate_degrees)
    # Forward map (output from input), about the centres: scale and stretch, then shear, then rotate.
    stretch = np.array([[scale, 0.0], [0.0, width_scale * scale]])  # (row, column) coordinates
    slant = np.array([[1.0, 0.0], [-shear, 1.0]])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    forward = rotation @ slant @ stretch
    inverse = np.linalg.inv(forward)
    in_centre = np.array([(height - 1) / 2, (width - 1) / 2])
    out_centre = np.array([(height - 1) / 2, (out_width - 1) / 2])
    offset = in_centre - inverse @ out_centre
    return ndimage.affine_transform(ink, inverse, offset=offset, output_shape=(height, out_width), order=1,
                                    mode="constant", cval=0.0)


def elastic_warp(ink: np.ndarray, max_displacement: float, generator: np.random.Generator) -> np.ndarray:
    """Move pixels along a smooth random field whose largest displacement is `max_displacement` pixels."""
    height, width = ink.shape
    sigma = max(1.0, ELASTIC_SMOOTHNESS * height)
    fields = []
    for _ in range(2):
        field = ndimage.gaussian_filter(generator.uniform(-1.0, 1.0, size=ink.shape), sigma, mode="constant")
        peak = np.abs(field).max()
        fields.append(field * (max_displacement / peak) if peak > 0 else field)
    rows, columns = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return ndimage.map_coordinates(ink, [rows + fields[0], columns + fields[1]], order=1, mode="constant", cval=0.0)


def change_strokes(ink: np.ndarray, radius: int) -> np.ndarray:
    """Thicken strokes (radius > 0: grey dilation) or thin them (radius < 0: grey erosion) by |radius| pixels."""
    if radius == 0:
        return ink
    size = 2 * abs(radius) + 1
    footprint = np.hypot(*np.mgrid[-abs(radius):abs(radius) + 1, -abs(radius):abs(radius) + 1]) <= abs(radius) + 0.5
    assert footprint.shape == (size, size)
    operation = ndimage.grey_dilation if radius > 0 else ndimage.grey_erosion
    return operation(ink, footprint=footprint, mode="constant", cval=0.0)


def blur(ink: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(ink, sigma, mode="constant", cval=0.0) if sigma > 0 else ink


def scale_contrast(ink: np.ndarray, factor: float) -> np.ndarray:
    """Fainter (factor < 1) or bolder (> 1) ink; paper stays 0."""
    return np.clip(ink * factor, 0.0, 1.0)


def augment_image(ink: np.ndarray, config: AugmentConfig, generator: np.random.Generator) -> np.ndarray:
    """Apply each distortion that `config` enables with probability `config.image_prob`, in a fixed order
    (geometry first, then strokes, blur and contrast); returns float32 ink `(height, new_width)`.

    The draws are made whether or not a distortion fires, so one item's random stream does not shift
    with the outcome of an earlier coin.
    """
    ink = np.asarray(ink, dtype=np.float64)
    low_scale, high_scale = config.image_width_scale
    fires = generator.uniform(size=5) < config.image_prob
    rotate = generator.uniform(-config.image_rotate, config.image_rotate)
    shear = generator.uniform(-config.image_shear, config.image_shear)
    width_scale = generator.uniform(low_scale, high_scale)
    scale = generator.uniform(*config.image_scale)
    stroke = int(generator.integers(-config.image_stroke, config.image_stroke + 1))
    sigma = generator.uniform(0.0, config.image_blur)
    contrast = generator.uniform(*config.image_contrast)
    elastic_seed = int(generator.integers(2**63))

    if fires[0] and (rotate or shear or width_scale != 1.0 or scale != 1.0):
        ink = affine_warp(ink, rotate, shear, width_scale, scale)
    if fires[1] and config.image_elastic > 0:
        ink = elastic_warp(ink, config.image_elastic, np.random.default_rng(elastic_seed))
    if fires[2]:
        # Thinning by more than a pixel erases the fine strokes of small writing: thin by one at most.
        ink = change_strokes(ink, max(stroke, -1))
    if fires[3]:
        ink = blur(ink, sigma)
    if fires[4]:
        ink = scale_contrast(ink, contrast)
    return np.clip(ink, 0.0, 1.0).astype(np.float32)


def min_width_scale(config: AugmentConfig | None) -> float:
    """The narrowest an image can become under `config` (for the CTC feasibility check), as a factor."""
    if config is None or config.image_prob == 0:
        return 1.0
    return min(1.0, config.image_width_scale[0] * config.image_scale[0])
