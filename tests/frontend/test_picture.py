"""The picture front-end (captioning): colour kept, transparency over white, one square size, errors by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from asr.config import FeatureConfig
from asr.frontend.image import ImageDecodeError
from asr.frontend.picture import PictureFrontend, read_rgb_image


def test_rgba_is_laid_over_white_and_colour_is_kept(tmp_path):
    pixels = np.zeros((4, 6, 4), dtype=np.uint8)
    pixels[..., 0] = 255  # red everywhere ...
    pixels[:, :3, 3] = 255  # ... opaque on the left half, transparent on the right
    Image.fromarray(pixels, "RGBA").save(tmp_path / "half.png")
    rgb = read_rgb_image(tmp_path / "half.png")
    assert rgb.shape == (4, 6, 3)
    np.testing.assert_allclose(rgb[:, :3], np.broadcast_to([1.0, 0.0, 0.0], (4, 3, 3)))
    np.testing.assert_allclose(rgb[:, 3:], np.ones((4, 3, 3)))


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "LA"])
def test_every_mode_becomes_a_colour_square_of_the_configured_size(tmp_path, mode):
    Image.new("RGB", (40, 20), (0, 0, 255)).convert(mode).save(tmp_path / f"{mode}.png")
    frontend = PictureFrontend(FeatureConfig(kind="picture", picture_size=16))
    picture = frontend.load(tmp_path / f"{mode}.png")
    assert picture.shape == (3, 16, 16)
    if mode in ("RGB", "P"):  # blue stays blue; grey modes keep only the luma
        torch.testing.assert_close(picture[:, 8, 8], torch.tensor([0.0, 0.0, 1.0]), atol=0.02, rtol=0)
    assert frontend(picture).shape == (16, 48) and frontend.input_width(tmp_path / f"{mode}.png") == 16


def test_unreadable_and_missing_pictures_are_named(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ImageDecodeError, match="broken.png"):
        read_rgb_image(tmp_path / "broken.png")
    with pytest.raises(FileNotFoundError, match="absent.png"):
        read_rgb_image(tmp_path / "absent.png")
