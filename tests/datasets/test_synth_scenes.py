"""Tests for datasets/synth_scenes.py: captions from a known scene, reruns, the COCO importer, and captions
checked against the pixels with the test's own reading of colours, shapes' positions and sizes."""

from __future__ import annotations

import colorsys
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asr.data.importers import import_coco_captions
from tests.script_loader import load_script

scenes = load_script("datasets/synth_scenes.py", "synth_scenes_recipe")

NUM_IMAGES = 40

# The test's own caption grammar, written from the module docstring rather than from the code.
COLOUR = r"(red|green|blue|yellow|purple|orange)"
SHAPE = r"(circle|square|triangle|diamond)"
SIZE = r"(?:(small|large) )?"
NOUN_PHRASE = rf"an? {SIZE}{COLOUR} {SHAPE}"
RELATION = r"(to the left of|to the right of|above|below)"
ONE_OBJECT = [re.compile(rf"(?:there is )?{NOUN_PHRASE}"), re.compile(rf"a single {SIZE}{COLOUR} {SHAPE}"),
              re.compile(rf"an? {SIZE}{SHAPE} that is {COLOUR}")]
TWO_RELATED = re.compile(rf"(?:there is )?{NOUN_PHRASE}(?: is)? {RELATION} {NOUN_PHRASE}")
TWO_JOINED = re.compile(rf"{NOUN_PHRASE} and {NOUN_PHRASE}")

# Hue ranges in degrees that the colour words name (independent of the recipe's palette).
HUES = {"red": [(0, 15), (340, 360)], "orange": [(15, 40)], "yellow": [(40, 75)], "green": [(90, 170)],
        "blue": [(190, 250)], "purple": [(255, 320)]}
LIGHT = 185  # a pixel whose darkest channel is above this is background


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scenes") / "seed3"
    scenes.generate_scenes(out, NUM_IMAGES, seed=3, progress=False)
    return out


def load_document(out: Path) -> dict:
    return json.loads((out / "captions.json").read_text(encoding="utf-8"))


def captions_by_image(document: dict) -> dict[int, list[str]]:
    captions: dict[int, list[str]] = {}
    for annotation in document["annotations"]:
        captions.setdefault(annotation["image_id"], []).append(annotation["caption"])
    return captions


def centre(box: list[int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def relation_holds(subject_box: list[int], relation: str, reference_box: list[int]) -> bool:
    """The test's reading of a relation: a clear majority of the centres' offset lies along its axis."""
    (subject_x, subject_y), (reference_x, reference_y) = centre(subject_box), centre(reference_box)
    dx, dy = subject_x - reference_x, subject_y - reference_y
    return {"to the left of": dx < 0 and abs(dx) > abs(dy), "to the right of": dx > 0 and abs(dx) > abs(dy),
            "above": dy < 0 and abs(dy) > abs(dx), "below": dy > 0 and abs(dy) > abs(dx)}[relation]


# --- known answers ------------------------------------------------------------------------------------

def test_captions_of_a_hand_made_scene():
    red = scenes.SceneObject("red", "circle", "small", (4, 20, 16, 32))
    blue = scenes.SceneObject("blue", "square", "large", (30, 16, 54, 40))
    assert scenes.describe(scenes.Scene((red, blue), "to the left of")) == [
        "a small red circle to the left of a large blue square",
        "a large blue square to the right of a small red circle",
        "there is a small red circle to the left of a large blue square",
        "a small red circle is to the left of a large blue square",
        "a large blue square is to the right of a small red circle",
        "a small red circle and a large blue square",
        "a red circle to the left of a blue square",
        "a blue square to the right of a red circle",
        "there is a red circle to the left of a blue square",
        "a red circle is to the left of a blue square",
        "a blue square is to the right of a red circle",
        "a red circle and a blue square",
    ]
    orange = scenes.SceneObject("orange", "triangle", "large", (10, 10, 36, 36))
    assert scenes.describe(scenes.Scene((orange,), None)) == [
        "a large orange triangle", "there is a large orange triangle", "a single large orange triangle",
        "a large triangle that is orange", "an orange triangle", "there is an orange triangle",
        "a single orange triangle", "a triangle that is orange"]
    assert len(scenes.describe(scenes.Scene((orange,), None))) == scenes.MAX_CAPTIONS_PER_IMAGE


def test_planned_scenes_fit_the_image_and_keep_their_relation():
    for image_size in (32, 64, 97):
        for index in range(300):
            scene = scenes.plan_scene(np.random.default_rng([11, index]), image_size)
            sides = []
            for scene_object in scene.objects:
                left, top, right, bottom = scene_object.box
                assert 0 <= left < right <= image_size and 0 <= top < bottom <= image_size
                assert right - left == bottom - top
                sides.append((scene_object.size, (right - left) / image_size))
            for size, share in sides:  # rounding to whole pixels moves a side by at most half a pixel
                low, high = scenes.SIZES[size]
                assert low - 0.5 / image_size <= share <= high + 0.5 / image_size
            if len(scene.objects) == 2:
                first, second = (scene_object.box for scene_object in scene.objects)
                assert scene.objects[0].colour != scene.objects[1].colour
                assert relation_holds(first, scene.relation, second)
                separated_in_x = first[2] <= second[0] or second[2] <= first[0]
                separated_in_y = first[3] <= second[1] or second[3] <= first[1]
                assert separated_in_x or separated_in_y  # the shapes never overlap
            else:
                assert scene.relation is None


# --- files --------------------------------------------------------------------------------------------

def read_pixels(out: Path, document: dict) -> list[np.ndarray]:
    return [np.asarray(Image.open(out / image["file_name"]).convert("RGB")) for image in document["images"]]


def test_same_seed_same_bytes_and_pixels_other_seed_other_scenes(generated, tmp_path):
    again = tmp_path / "again"
    scenes.generate_scenes(again, NUM_IMAGES, seed=3, progress=False)
    assert (again / "captions.json").read_bytes() == (generated / "captions.json").read_bytes()
    document = load_document(generated)
    assert all(np.array_equal(first, second) for first, second in
               zip(read_pixels(generated, document), read_pixels(again, document), strict=True))

    fewer = tmp_path / "fewer"
    scenes.generate_scenes(fewer, 5, seed=3, progress=False)
    assert load_document(fewer)["images"] == document["images"][:5]  # more images keep the first ones

    other = tmp_path / "other"
    scenes.generate_scenes(other, NUM_IMAGES, seed=4, progress=False)
    other_images = load_document(other)["images"]
    assert [image["objects"] for image in other_images] != [image["objects"] for image in document["images"]]
    assert not {image["file_name"] for image in other_images} & {image["file_name"] for image in document["images"]}


def test_the_json_imports_with_the_coco_importer(generated):
    document = load_document(generated)
    assert document["info"]["captions_per_image"] == scenes.DEFAULT_CAPTIONS_PER_IMAGE
    items = import_coco_captions(generated / "captions.json")
    assert len(items) == NUM_IMAGES * scenes.DEFAULT_CAPTIONS_PER_IMAGE == len(document["annotations"])
    assert len({item.id for item in items}) == len(items)
    assert {item.speaker for item in items} == {f"s3_{index:06d}" for index in range(NUM_IMAGES)}
    assert items[0].id == "s3_000000#0" and items[0].path == generated / "images" / "s3_000000.png"
    for image_id, captions in captions_by_image(document).items():
        assert len(set(captions)) == len(captions) == scenes.DEFAULT_CAPTIONS_PER_IMAGE, image_id


def test_every_caption_names_the_recorded_objects_and_a_true_relation(generated):
    document = load_document(generated)
    captions = captions_by_image(document)
    num_two_object_scenes = 0
    for image in document["images"]:
        objects = image["objects"]
        by_colour = {scene_object["colour"]: scene_object for scene_object in objects}
        for caption in captions[image["id"]]:
            if len(objects) == 1:
                matches = [pattern.fullmatch(caption) for pattern in ONE_OBJECT]
                assert any(matches), caption
                if matches[2]:  # "a [SIZE] SHAPE that is COLOUR"
                    size, shape, colour = matches[2].groups()
                else:
                    size, colour, shape = next(filter(None, matches)).groups()
                assert (colour, shape) == (objects[0]["colour"], objects[0]["shape"]), caption
                assert size in (None, objects[0]["size"]), caption
                continue
            related, joined = TWO_RELATED.fullmatch(caption), TWO_JOINED.fullmatch(caption)
            assert related or joined, caption
            groups = (related or joined).groups()
            phrases = [groups[0:3], groups[4:7]] if related else [groups[0:3], groups[3:6]]
            named = []
            for size, colour, shape in phrases:
                assert colour in by_colour and by_colour[colour]["shape"] == shape, caption
                assert size in (None, by_colour[colour]["size"]), caption
                named.append(by_colour[colour])
            assert {scene_object["colour"] for scene_object in named} == set(by_colour), caption
            assert (phrases[0][0] is None) == (phrases[1][0] is None), caption  # sizes for both or neither
            if related:
                assert relation_holds(named[0]["box"], groups[3], named[1]["box"]), caption
        if len(objects) == 2:
            num_two_object_scenes += 1
            assert relation_holds(objects[0]["box"], image["relation"], objects[1]["box"])
    assert 0 < num_two_object_scenes < NUM_IMAGES  # both kinds of scene were checked


def hue_name(pixel: np.ndarray) -> str | None:
    hue, _, _ = colorsys.rgb_to_hls(*(pixel / 255.0))
    degrees = 360 * hue
    return next((name for name, ranges in HUES.items() if any(low <= degrees < high for low, high in ranges)), None)


def test_the_named_colour_is_what_the_shape_box_shows(generated):
    document = load_document(generated)
    for image, pixels in zip(document["images"], read_pixels(generated, document), strict=True):
        assert pixels.shape == (64, 64, 3)
        for scene_object in image["objects"]:
            left, top, right, bottom = scene_object["box"]
            region = pixels[top:bottom, left:right].reshape(-1, 3).astype(np.float64)
            ink = region[region.min(axis=1) <= LIGHT]
            # Even a triangle or a diamond fills half its box; the rest is light background.
            assert len(ink) >= 0.4 * len(region), (image["file_name"], scene_object)
            names = [hue_name(pixel) for pixel in ink]
            dominant = max(set(names), key=names.count)
            assert dominant == scene_object["colour"], (image["file_name"], scene_object, dominant)
            assert names.count(dominant) >= 0.9 * len(names), (image["file_name"], scene_object)
        # Outside the shapes: background only.
        outside = np.ones(pixels.shape[:2], dtype=bool)
        for scene_object in image["objects"]:
            left, top, right, bottom = scene_object["box"]
            outside[top:bottom, left:right] = False
        assert pixels[outside].min(axis=1).min() > LIGHT - 20, image["file_name"]


# --- command line -------------------------------------------------------------------------------------

def test_main_writes_the_files_and_rejects_bad_options(tmp_path, capsys):
    out = tmp_path / "cli"
    assert scenes.main(["--out", str(out), "--num-images", "3", "--seed", "7", "--size", "48",
                        "--captions-per-image", "2", "--no-progress"]) == 0
    assert "3 images, 6 captions" in capsys.readouterr().out
    document = load_document(out)
    assert [image["file_name"] for image in document["images"]] == [f"images/s7_{index:06d}.png" for index in range(3)]
    assert Image.open(out / document["images"][0]["file_name"]).size == (48, 48)
    assert len(document["annotations"]) == 6

    for options, message in [(["--captions-per-image", "9"], "captions_per_image must be at most 8"),
                             (["--size", "16"], "size must be an integer >= 32"),
                             (["--num-images", "0"], "num_images must be an integer >= 1")]:
        argv = ["--out", str(tmp_path / "bad"), "--num-images", "2", *options]
        assert scenes.main(argv) == 2
        assert message in capsys.readouterr().err
