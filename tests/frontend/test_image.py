"""The image front-end and image distortions: every Pillow mode loads, known pixel values, geometry, seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from asr.config import AugmentConfig, ConfigError, FeatureConfig
from asr.frontend import build_frontend
from asr.frontend.image import ImageDecodeError, ImageFrontend, image_size, ink_box, read_grey_image
from asr.frontend.image_augment import (affine_warp, augment_image, blur, change_strokes, elastic_warp,
                                        min_width_scale, scale_contrast)

HEIGHT = 32


def frontend(normalize: str = "utterance", height: int = HEIGHT) -> ImageFrontend:
    return ImageFrontend(FeatureConfig(kind="image", image_height=height, normalize=normalize))


def stroke_picture(width: int = 60, height: int = 20) -> np.ndarray:
    """8-bit grey `(height, width)`: white paper, a black bar in rows 5-14, columns 10-49."""
    pixels = np.full((height, width), 255, dtype=np.uint8)
    pixels[5:15, 10:50] = 0
    return pixels


# Every mode the issue names (and those Pillow reaches from them): mode -> how to build it from grey.
def _as_mode(grey: np.ndarray, mode: str) -> Image.Image:
    base = Image.fromarray(grey)
    if mode == "I;16":
        return Image.fromarray(grey.astype("<u2") * 257)
    if mode == "P":
        return base.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    if mode == "RGBA":
        rgba = base.convert("RGBA")
        rgba.putalpha(255)
        return rgba
    return base.convert(mode)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I", "F", "CMYK"])
@pytest.mark.parametrize("extension", [".png", ".tif"])
def test_every_mode_loads_to_the_same_ink(tmp_path, mode, extension):
    image = _as_mode(stroke_picture(), mode)
    if extension == ".png" and mode in ("CMYK", "F", "I"):  # 16-bit PNGs load as I;16, tested here
        pytest.skip(f"PNG cannot store mode {mode}")
    path = tmp_path / f"picture{extension}"
    image.save(path)
    grey = read_grey_image(path)
    assert grey.shape == (20, 60) and grey.dtype == np.float32
    np.testing.assert_allclose(grey, stroke_picture() / 255.0, atol=2 / 255)


@pytest.mark.parametrize("extension", [".jpg", ".jpeg", ".bmp"])
def test_jpeg_and_bmp_load(tmp_path, extension):
    path = tmp_path / f"picture{extension}"
    Image.fromarray(stroke_picture()).convert("RGB").save(path)
    ink = frontend().load(path)
    assert ink.shape == (HEIGHT, 96)
    assert ink[:, :10].max() < 0.1 and ink[12:20, 24:72].min() > 0.8  # JPEG is lossy: loose bounds


def test_sixteen_bit_values_are_scaled_not_clipped(tmp_path):
    values = np.array([[0, 16384, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values.astype("<u2")).save(path)
    np.testing.assert_allclose(read_grey_image(path), [[0.0, 0.25, 0.5, 1.0]], atol=1e-4)


def test_transparent_pixels_are_white_paper(tmp_path):
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)  # black everywhere ...
    rgba[0, :, 3] = 255  # ... opaque in the first row, fully transparent in the second
    rgba[1, 0, 3] = 128
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba).save(path)
    np.testing.assert_allclose(read_grey_image(path), [[0.0, 0.0], [1 - 128 / 255, 1.0]], atol=1e-6)


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (4, 2), 0)
    image.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    image.putpixel((0, 0), 1)
    image.info["transparency"] = 0  # palette entry 0 (black) is transparent: the picture is all paper
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    np.testing.assert_allclose(read_grey_image(path), np.ones((2, 4)), atol=1e-6)


def test_colour_is_reduced_to_luma(tmp_path):
    path = tmp_path / "red.png"
    Image.new("RGB", (3, 3), (255, 0, 0)).save(path)
    np.testing.assert_allclose(read_grey_image(path), np.full((3, 3), 0.299), atol=1e-6)


def test_height_normalised_aspect_kept_ink_polarity():
    ink = frontend(normalize="none").to_ink(stroke_picture(width=60, height=20) / 255.0)
    assert ink.shape == (HEIGHT, 96)  # 60 * 32 / 20
    assert ink.dtype == torch.float32 and 0 <= ink.min() and ink.max() <= 1
    assert ink[:, :12].max() < 1e-6 and ink[:, -10:].max() < 1e-6  # paper is 0
    assert ink[12:20, 24:72].min() > 0.99  # the black bar is ink 1


def test_utterance_normalisation_stretches_grey_paper_and_pale_ink():
    grey = np.full((20, 60), 0.8, dtype=np.float32)  # grey paper
    grey[5:15, 10:50] = 0.5  # pale ink
    ink = frontend(normalize="utterance", height=20).to_ink(grey)
    assert ink[0, 0] == 0.0 and ink[8, 20] == pytest.approx(1.0)
    blank = frontend(normalize="utterance", height=20).to_ink(np.full((20, 60), 0.7, dtype=np.float32))
    assert blank.abs().max() == 0


def test_forward_turns_width_into_time():
    module = frontend()
    ink = torch.rand(HEIGHT, 50)
    features = module(ink)
    assert features.shape == (50, HEIGHT) and module.output_dim == HEIGHT
    torch.testing.assert_close(features, ink.T)
    with pytest.raises(ValueError, match="expected an ink image"):
        module(torch.rand(HEIGHT + 1, 50))


def test_input_width_from_header_matches_decoded_width(tmp_path):
    path = tmp_path / "word.png"
    Image.fromarray(stroke_picture(width=257, height=64)).save(path)
    assert image_size(path) == (257, 64)
    module = frontend()
    assert module.input_width(path) == module.load(path).shape[1] == round(257 * HEIGHT / 64)


def test_ink_box_keeps_the_writing_and_a_margin_and_ignores_a_speck():
    ink = np.zeros((64, 256), dtype=np.float32)
    ink[20:45, 30:180] = 1.0  # the writing: 25 rows, 150 columns
    ink[2, 250] = 1.0  # a speck in a corner: 1 / 3751 of the ink
    top, bottom, left, right = ink_box(ink)
    margin = round(0.08 * 25)  # CROP_MARGIN of the writing's height
    assert (top, bottom, left, right) == (20 - margin, 45 + margin, 30 - margin, 180 + margin)
    assert ink_box(np.zeros((10, 30), dtype=np.float32)) == (0, 10, 0, 30)  # blank paper: all of it
    grey_paper = np.full((10, 30), 0.2, dtype=np.float32)  # uniformly tinted paper is no writing
    assert ink_box(grey_paper) == (0, 10, 0, 30)
    underline = np.zeros((64, 256), dtype=np.float32)
    underline[50, 20:200] = 1.0  # a lone horizontal stroke keeps a quarter of the rows, about its middle
    assert ink_box(underline) == (51 - 1 - 7, 51 - 1 - 7 + 16, 19, 201)
    underline[:] = 0.0
    underline[63, 20:200] = 1.0  # ... and stays inside the image at its edge
    assert ink_box(underline)[:2] == (48, 64)


def test_cropped_image_scales_the_writing_to_the_full_height(tmp_path):
    grey = np.full((64, 256), 255, dtype=np.uint8)
    grey[24:40, 40:120] = 0  # small writing: 16 rows by 80 columns, in a wide white margin
    path = tmp_path / "small.png"
    Image.fromarray(grey).save(path)
    cropping = ImageFrontend(FeatureConfig(kind="image", image_height=HEIGHT, image_crop=True))
    ink = cropping.load(path)
    margin = round(0.08 * 16)
    box_height, box_width = 16 + 2 * margin, 80 + 2 * margin
    assert ink.shape == (HEIGHT, round(box_width * HEIGHT / box_height))
    assert cropping.input_width(path) == ink.shape[1]  # decoded, not read from the header
    assert ink[HEIGHT // 2, ink.shape[1] // 2] == pytest.approx(1.0)  # the writing now fills the middle rows
    assert ink[0].max() < 0.6 and ink[-1].max() < 0.6  # the margin's rows stay paper (up to smoothing)
    with pytest.raises(ConfigError, match="features.image_crop"):
        FeatureConfig(kind="fbank", image_crop=True).validate()


def test_missing_and_undecodable_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.png"):
        frontend().load(tmp_path / "nowhere.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture at all")
    with pytest.raises(ImageDecodeError, match="broken.png"):
        frontend().load(broken)
    with pytest.raises(ImageDecodeError, match="broken.png"):
        image_size(broken)


def test_build_frontend_picks_by_kind():
    assert isinstance(build_frontend(FeatureConfig(kind="image")), ImageFrontend)
    assert not isinstance(build_frontend(FeatureConfig(kind="mfcc")), ImageFrontend)


# --- distortions ------------------------------------------------------------------------------------------

def bar_ink(height: int = 32, width: int = 80) -> np.ndarray:
    ink = np.zeros((height, width))
    ink[10:22, 20:60] = 1.0
    return ink


def test_identity_affine_is_exact():
    np.testing.assert_allclose(affine_warp(bar_ink(), 0.0, 0.0, 1.0), bar_ink(), atol=1e-9)


def test_width_scale_stretches_and_keeps_the_height():
    stretched = affine_warp(bar_ink(), 0.0, 0.0, 1.5)
    assert stretched.shape == (32, 120)
    columns = np.flatnonzero(stretched[16] > 0.5)
    assert 58 <= columns.size <= 62  # a 40-pixel bar becomes 60 pixels


def test_scale_shrinks_the_writing_about_the_centre_row():
    small = affine_warp(bar_ink(), 0.0, 0.0, 1.0, scale=0.5)
    assert small.shape == (32, 40)
    rows = np.flatnonzero(small[:, 20] > 0.5)
    assert rows.size == 6 and rows[0] >= 12 and rows[-1] <= 19  # 12 rows become 6, still centred


def test_shear_slants_rows_the_right_way():
    sheared = affine_warp(bar_ink(), 0.0, 0.5, 1.0)
    assert sheared.shape == (32, 96)  # 80 + 0.5 * 32 columns hold the slant
    top_start = np.flatnonzero(sheared[10] > 0.5)[0]
    bottom_start = np.flatnonzero(sheared[21] > 0.5)[0]
    assert top_start - bottom_start == pytest.approx(0.5 * 11, abs=1.0)  # upper rows move right


def test_strokes_thicken_and_thin():
    thick = change_strokes(bar_ink(), 1)
    thin = change_strokes(bar_ink(), -1)
    assert (thick > 0.5).sum() == 14 * 42 and (thin > 0.5).sum() == 10 * 38
    assert change_strokes(bar_ink(), 0) is not None and np.array_equal(change_strokes(bar_ink(), 0), bar_ink())


def test_blur_contrast_and_elastic_keep_range_and_shape():
    ink = bar_ink()
    blurred = blur(ink, 1.0)
    assert blurred.shape == ink.shape and 0 < blurred[9, 40] < 0.5 < blurred[10, 40] < 1.0  # edges spread
    np.testing.assert_allclose(scale_contrast(ink, 0.5).max(), 0.5)
    warped = elastic_warp(ink, 2.0, np.random.default_rng(0))
    assert warped.shape == ink.shape and 0 <= warped.min() and warped.max() <= 1
    assert np.abs(warped - ink).max() > 0.1


FULL = AugmentConfig(image_prob=1.0, image_rotate=3, image_shear=0.3, image_width_scale=(0.8, 1.2),
                     image_scale=(0.9, 1.1), image_elastic=2,
                     image_blur=1.0, image_stroke=1, image_contrast=(0.6, 1.0))


def test_augment_is_a_function_of_the_seed():
    first = augment_image(bar_ink(), FULL, np.random.default_rng(7))
    again = augment_image(bar_ink(), FULL, np.random.default_rng(7))
    other = augment_image(bar_ink(), FULL, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)
    assert first.dtype == np.float32 and first.shape[0] == 32 and 0 <= first.min() and first.max() <= 1


def test_augment_off_is_identity_and_min_width_scale():
    np.testing.assert_array_equal(augment_image(bar_ink(), AugmentConfig(), np.random.default_rng(0)), bar_ink())
    assert min_width_scale(None) == min_width_scale(AugmentConfig()) == 1.0
    assert min_width_scale(FULL) == pytest.approx(0.72)
    for seed in range(20):  # the narrowest width the feasibility check assumes is never undercut
        assert augment_image(bar_ink(), FULL, np.random.default_rng(seed)).shape[1] >= int(80 * 0.72)
