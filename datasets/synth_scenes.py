"""Recipe: synthetic scenes of one or two coloured shapes, with true captions, for captioning models.

    python datasets/synth_scenes.py --out data/scenes/train --num-images 4000 --seed 0
    python datasets/synth_scenes.py --out data/scenes/dev --num-images 300 --seed 1
    asr data import coco data/scenes/train/captions.json --out data/scenes/train.jsonl

Each image is an RGB PNG (default 64x64) of a light background (a random tint, a mild brightness ramp
and Gaussian noise) holding one shape, or two shapes of different colours side by side or one above the
other. Colours: red, green, blue, yellow, purple, orange; shapes: circle, square, triangle, diamond;
sizes: small (side 18-26% of the image) and large (34-42%), each drawn with random jitter of
colour, size and position. Two shapes never overlap along the axis of their relation, and their centres
are at least twice as far apart along that axis as across it, so "left of", "above" and the rest are
unambiguous.

Captions come from this grammar, every one true to its image; --captions-per-image of them are drawn,
all different, from the image's possible captions:

    NP       := "a" [SIZE] COLOUR SHAPE                       ("a large green triangle", "a green triangle")
    one      := NP | "there is" NP | "a single" [SIZE] COLOUR SHAPE | "a" [SIZE] SHAPE "that is" COLOUR
    two      := NP1 REL NP2 | NP2 INVERSE(REL) NP1 | "there is" NP1 REL NP2 | NP1 "is" REL NP2
              | NP2 "is" INVERSE(REL) NP1 | NP1 "and" NP2
    REL      := "to the left of" | "to the right of" | "above" | "below"   (inverses: left/right, above/below)

NP1 and NP2 describe objects[0] and objects[1], REL is how objects[0] lies relative to objects[1], and a
caption states the sizes of all its shapes or of none; "an" replaces "a" before a vowel ("an orange
circle"). Output, in COCO caption format so that the `coco` importer reads it with no options (file names
are relative to the JSON's folder):

    OUT/images/s{seed}_{index:06d}.png
    OUT/captions.json   {"info", "licenses", "images": [{"id", "file_name", "width", "height", "objects",
                         "relation"}], "annotations": [{"id", "image_id", "caption"}]}

"objects" records what was drawn, `{"colour", "shape", "size", "box": [left, top, right, bottom]}` (pixels,
right and bottom exclusive), and "relation" says how objects[0] lies relative to objects[1] (null for one
shape); COCO readers ignore both. Image i is a pure function of (--seed, i, --size, --captions-per-image):
the same command writes the same pixels and a byte-identical JSON, and asking for more images keeps the
first ones. The seed is in the file names, so scenes of different seeds (train and dev) never share an id.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

# Colours far enough apart that the colour jitter never moves a shape nearer another palette colour (the pixel
# noise rarely moves single pixels); every colour has one channel below 70, so none reads as background.
COLOURS = {
    "red": (210, 40, 40),
    "green": (45, 160, 65),
    "blue": (45, 85, 215),
    "yellow": (235, 210, 40),
    "purple": (135, 65, 175),
    "orange": (245, 130, 30),
}
SHAPES = ("circle", "square", "triangle", "diamond")
# Side of a shape's bounding square as a share of the image side. The gap between the classes keeps "small"
# and "large" true at a glance; two large shapes plus the margins and the gap still fit in one row.
SIZES = {"small": (0.18, 0.26), "large": (0.34, 0.42)}
# Relation of objects[0] to objects[1] -> (axis it is measured on: 0 = x, 1 = y; +1 when objects[0] comes first).
RELATIONS = {"to the left of": (0, 1), "to the right of": (0, -1), "above": (1, 1), "below": (1, -1)}
INVERSE_RELATIONS = {"to the left of": "to the right of", "to the right of": "to the left of",
                     "above": "below", "below": "above"}
TWO_OBJECT_PROBABILITY = 0.75
MARGIN_SHARE = 0.03  # of the image side, kept free around the shapes
MIN_GAP_SHARE = 0.05  # between two shapes along their relation
# Across the relation's axis, the centres differ by at most this share of their distance along it.
MAX_CROSS_OFFSET = 0.5
COLOUR_JITTER = 12  # per channel, uniform
BACKGROUND_LEVEL = (222, 248)  # grey level of the background
BACKGROUND_TINT = 6  # per-channel departure from that grey
BACKGROUND_RAMP = 10  # largest brightness change across the image
NOISE_STD = (1.0, 5.0)  # grey levels
MIN_IMAGE_SIZE = 32  # below this a small shape is a few pixels
DEFAULT_IMAGE_SIZE = 64
DEFAULT_CAPTIONS_PER_IMAGE = 5
MAX_CAPTIONS_PER_IMAGE = 8  # the captions of a one-shape scene: 4 forms, each with and without its size
JSON_NAME = "captions.json"
IMAGES_FOLDER = "images"


@dataclass(frozen=True)
class SceneObject:
    colour: str
    shape: str
    size: str  # "small" or "large"
    box: tuple[int, int, int, int]  # left, top, right, bottom in pixels; right and bottom exclusive

    def record(self) -> dict:
        return {"colour": self.colour, "shape": self.shape, "size": self.size, "box": list(self.box)}


@dataclass(frozen=True)
class Scene:
    objects: tuple[SceneObject, ...]  # one or two
    relation: str | None  # how objects[0] lies relative to objects[1]; None for one object


def _side(size: str, image_size: int, generator: np.random.Generator) -> int:
    low, high = SIZES[size]
    return int(round(image_size * generator.uniform(low, high)))


def _start_across(side: int, image_size: int, margin: int, generator: np.random.Generator) -> int:
    return int(generator.integers(margin, image_size - margin - side + 1))


def plan_scene(generator: np.random.Generator, image_size: int = DEFAULT_IMAGE_SIZE) -> Scene:
    """Draw what an image shows: colours, shapes, sizes, boxes and (for two shapes) their relation."""
    margin = max(1, round(MARGIN_SHARE * image_size))
    num_objects = 2 if generator.random() < TWO_OBJECT_PROBABILITY else 1
    colours = [str(colour) for colour in generator.choice(list(COLOURS), size=num_objects, replace=False)]
    shapes = [str(generator.choice(SHAPES)) for _ in range(num_objects)]
    sizes = [str(generator.choice(list(SIZES))) for _ in range(num_objects)]
    sides = [_side(size, image_size, generator) for size in sizes]
    if num_objects == 1:
        left, top = (_start_across(sides[0], image_size, margin, generator) for _ in range(2))
        box = (left, top, left + sides[0], top + sides[0])
        return Scene((SceneObject(colours[0], shapes[0], sizes[0], box),), None)

    relation = str(generator.choice(list(RELATIONS)))
    axis, order = RELATIONS[relation]
    first, second = (0, 1) if order == 1 else (1, 0)  # which object comes first along the axis
    # Along the axis: margin, slack, first shape, minimum gap, slack, second shape, slack, margin.
    min_gap = max(2, round(MIN_GAP_SHARE * image_size))
    slack = image_size - 2 * margin - sides[first] - sides[second] - min_gap
    assert slack >= 0, f"SIZES leave no room for two large shapes in {image_size} pixels"
    cut_low, cut_high = sorted(generator.uniform(0, slack, size=2))
    first_start = margin + int(cut_low)
    second_start = first_start + sides[first] + min_gap + int(cut_high - cut_low)
    along = {first: first_start, second: second_start}

    # Across the axis: the first shape anywhere, the second within MAX_CROSS_OFFSET of the axis distance.
    across = {first: _start_across(sides[first], image_size, margin, generator)}
    distance = (second_start + sides[second] / 2) - (first_start + sides[first] / 2)
    first_centre = across[first] + sides[first] / 2
    lowest = max(margin, int(np.ceil(first_centre - MAX_CROSS_OFFSET * distance - sides[second] / 2)))
    highest = min(image_size - margin - sides[second],
                  int(np.floor(first_centre + MAX_CROSS_OFFSET * distance - sides[second] / 2)))
    assert lowest <= highest, "no room across the axis (SIZES too far apart for MAX_CROSS_OFFSET)"
    across[second] = int(generator.integers(lowest, highest + 1))

    objects = []
    for index in range(2):
        x, y = (along[index], across[index]) if axis == 0 else (across[index], along[index])
        objects.append(SceneObject(colours[index], shapes[index], sizes[index],
                                   (x, y, x + sides[index], y + sides[index])))
    return Scene(tuple(objects), relation)


def _with_article(words: str) -> str:
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"  # "an orange circle", "a small orange circle"


def _noun_phrase(scene_object: SceneObject, with_size: bool) -> str:
    size = f"{scene_object.size} " if with_size else ""
    return _with_article(f"{size}{scene_object.colour} {scene_object.shape}")


def describe(scene: Scene) -> list[str]:
    """Every caption the grammar (module docstring) gives for `scene`, without repeats, in a fixed order."""
    captions = []
    for with_size in (True, False):
        if scene.relation is None:
            (only,) = scene.objects
            size = f"{only.size} " if with_size else ""
            phrase = _noun_phrase(only, with_size)
            captions += [phrase, f"there is {phrase}", f"a single {size}{only.colour} {only.shape}",
                         _with_article(f"{size}{only.shape} that is {only.colour}")]
            continue
        subject, reference = (_noun_phrase(scene_object, with_size) for scene_object in scene.objects)
        relation, inverse = scene.relation, INVERSE_RELATIONS[scene.relation]
        captions += [f"{subject} {relation} {reference}", f"{reference} {inverse} {subject}",
                     f"there is {subject} {relation} {reference}", f"{subject} is {relation} {reference}",
                     f"{reference} is {inverse} {subject}", f"{subject} and {reference}"]
    assert len(set(captions)) == len(captions)
    return captions


def render_scene(scene: Scene, generator: np.random.Generator, image_size: int = DEFAULT_IMAGE_SIZE) -> np.ndarray:
    """The picture of `scene`: `(image_size, image_size, 3)` uint8 RGB."""
    from PIL import Image, ImageDraw

    level = generator.uniform(*BACKGROUND_LEVEL)
    background = tuple(int(round(level + generator.uniform(-BACKGROUND_TINT, BACKGROUND_TINT))) for _ in range(3))
    image = Image.new("RGB", (image_size, image_size), background)
    draw = ImageDraw.Draw(image)
    for scene_object in scene.objects:
        fill = tuple(int(np.clip(channel + generator.integers(-COLOUR_JITTER, COLOUR_JITTER + 1), 0, 255))
                     for channel in COLOURS[scene_object.colour])
        left, top, right, bottom = scene_object.box
        last_x, last_y = right - 1, bottom - 1  # PIL's coordinates are inclusive
        middle_x, middle_y = (left + last_x) / 2, (top + last_y) / 2
        if scene_object.shape == "circle":
            draw.ellipse((left, top, last_x, last_y), fill=fill)
        elif scene_object.shape == "square":
            draw.rectangle((left, top, last_x, last_y), fill=fill)
        elif scene_object.shape == "triangle":
            draw.polygon([(middle_x, top), (last_x, last_y), (left, last_y)], fill=fill)
        elif scene_object.shape == "diamond":
            draw.polygon([(middle_x, top), (last_x, middle_y), (middle_x, last_y), (left, middle_y)], fill=fill)
        else:
            raise ValueError(f"unknown shape {scene_object.shape!r} (known: {', '.join(SHAPES)})")

    pixels = np.asarray(image, dtype=np.float32)
    # A brightness ramp in a random direction, as uneven light would give, then sensor-like noise.
    angle = generator.uniform(0, 2 * np.pi)
    coordinates = (np.arange(image_size, dtype=np.float32) / max(1, image_size - 1)) - 0.5
    ramp = (np.cos(angle) * coordinates[None, :] + np.sin(angle) * coordinates[:, None]) * BACKGROUND_RAMP
    noise = generator.normal(0.0, generator.uniform(*NOISE_STD), size=pixels.shape).astype(np.float32)
    return np.clip(np.rint(pixels + ramp[..., None] + noise), 0, 255).astype(np.uint8)


def make_scene(seed: int, index: int, image_size: int = DEFAULT_IMAGE_SIZE,
               captions_per_image: int = DEFAULT_CAPTIONS_PER_IMAGE) -> tuple[Scene, np.ndarray, list[str]]:
    """Image `index` of seed `seed`: (scene, pixels `(image_size, image_size, 3)` uint8, captions)."""
    generator = np.random.default_rng([seed, index])
    scene = plan_scene(generator, image_size)
    pixels = render_scene(scene, generator, image_size)
    candidates = describe(scene)
    chosen = generator.choice(len(candidates), size=captions_per_image, replace=False)
    return scene, pixels, [candidates[position] for position in chosen]


def _check_options(num_images: int, seed: int, image_size: int, captions_per_image: int) -> None:
    for name, value, lowest in (("num_images", num_images, 1), ("seed", seed, 0), ("size", image_size, MIN_IMAGE_SIZE),
                                ("captions_per_image", captions_per_image, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
            raise ValueError(f"{name} must be an integer >= {lowest}, got {value!r}")
    if captions_per_image > MAX_CAPTIONS_PER_IMAGE:
        raise ValueError(f"captions_per_image must be at most {MAX_CAPTIONS_PER_IMAGE} (the captions a one-shape "
                         f"scene has), got {captions_per_image}")


def generate_scenes(out_dir: str | Path, num_images: int, seed: int = 0, image_size: int = DEFAULT_IMAGE_SIZE,
                    captions_per_image: int = DEFAULT_CAPTIONS_PER_IMAGE, progress: bool = True) -> Path:
    """Write OUT/images/*.png and OUT/captions.json (COCO caption format); returns the JSON's path.

    The JSON is removed first and written last (beside its name, then renamed), so a JSON on disk always
    describes a complete run.
    """
    from PIL import Image

    _check_options(num_images, seed, image_size, captions_per_image)
    out_dir = Path(out_dir)
    json_path = out_dir / JSON_NAME
    json_path.unlink(missing_ok=True)
    (out_dir / IMAGES_FOLDER).mkdir(parents=True, exist_ok=True)

    images, annotations = [], []
    for index in tqdm(range(num_images), desc="drawing scenes", unit="image", disable=not progress):
        scene, pixels, captions = make_scene(seed, index, image_size, captions_per_image)
        file_name = f"{IMAGES_FOLDER}/s{seed}_{index:06d}.png"
        Image.fromarray(pixels).save(out_dir / file_name)
        images.append({"id": index, "file_name": file_name, "width": image_size, "height": image_size,
                       "objects": [scene_object.record() for scene_object in scene.objects],
                       "relation": scene.relation})
        annotations += [{"id": index * captions_per_image + number, "image_id": index, "caption": caption}
                        for number, caption in enumerate(captions)]
    document = {
        "info": {"description": "synthetic scenes of coloured shapes (datasets/synth_scenes.py)", "seed": seed,
                 "size": image_size, "num_images": num_images, "captions_per_image": captions_per_image},
        "licenses": [],
        "images": images,
        "annotations": annotations,
    }
    partial_path = json_path.with_name(json_path.name + ".partial")
    with partial_path.open("w", encoding="utf-8", newline="\n") as stream:
        json.dump(document, stream, ensure_ascii=False)
        stream.write("\n")
    os.replace(partial_path, json_path)
    return json_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help=f"output folder ({IMAGES_FOLDER}/ and {JSON_NAME})")
    parser.add_argument("--num-images", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same files (default 0)")
    parser.add_argument("--size", type=int, default=DEFAULT_IMAGE_SIZE,
                        help=f"image side in pixels, at least {MIN_IMAGE_SIZE} (default {DEFAULT_IMAGE_SIZE})")
    parser.add_argument("--captions-per-image", type=int, default=DEFAULT_CAPTIONS_PER_IMAGE,
                        help=f"different true captions per image, 1-{MAX_CAPTIONS_PER_IMAGE} "
                             f"(default {DEFAULT_CAPTIONS_PER_IMAGE})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        json_path = generate_scenes(args.out, args.num_images, args.seed, args.size, args.captions_per_image,
                                    progress=not args.no_progress)
    except (OSError, ValueError) as error:
        print(f"synth_scenes: error: {error}", file=sys.stderr)
        return 2
    print(f"{json_path}: {args.num_images} images, {args.num_images * args.captions_per_image} captions; "
          f"import with: asr data import coco {json_path} --out MANIFEST.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
