"""Recipe: text lines rendered in the fonts installed on this machine -> PNG images and a manifest.

    python datasets/render_lines.py --texts-from data/dhsd/train.jsonl --out data/rendered_de \\
        --num-images 6000 [--recombine 0.5] [--size 256x64] [--seed 0] [--workers 2]

For pre-training handwriting models (mix the manifest into `data.train_manifests`). Fonts are found with
fontconfig (`fc-list`), with the characters each one has; a line is drawn only in a font that has every
one of its characters, so no line holds missing-glyph boxes. Debian packages of free fonts, handwriting-like ones first:

    apt-get install fontconfig fonts-dkg-handwriting fonts-breip fonts-femkeklaver fonts-dancingscript \\
        fonts-kaushanscript fonts-sjfonts fonts-comic-neue fonts-dejavu fonts-liberation fonts-freefont-ttf

(`apt-cache search font handwriting` lists more; fonts-rufscript, fonts-humor-sans and fonts-bwht lack
the German ß or umlauts and so never draw a line that has them.)

Texts come from a manifest's transcripts or a UTF-8 file of one text per line. With --recombine P, a
share P of the lines are new pseudo-words spliced from pieces of the given texts (the prefix of one word
with the suffix of another), so a model cannot learn the list by heart; give it the training texts only,
never a dev or test set's.

Each image is a pure function of (--seed, image number, font list): font, size, ink and paper greys,
stroke weight, slant, rotation, margins and noise are drawn per image. Images are black-on-white PNGs of
the rendered line plus margins, or squeezed to a fixed --size as some corpora store their words (DHSD's
are 256x64 whatever their length); the manifest's "speaker" is the font family, so a split can be by font.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from asr.data.manifest import ManifestItem, read_manifest, write_manifest  # noqa: E402

INSTALL_HINT = ("install fonts with: apt-get install fontconfig fonts-dejavu fonts-dkg-handwriting fonts-breip "
                "fonts-femkeklaver fonts-dancingscript fonts-kaushanscript fonts-sjfonts fonts-comic-neue")
FONT_SIZE = (26, 46)  # pixels
INK_GREY = (0, 90)  # 0 = black
PAPER_GREY = (215, 255)
SLANT = (-0.35, 0.35)  # horizontal shear, as a tangent
ROTATION_DEGREES = (-2.0, 2.0)
MARGIN = (2, 14)  # pixels left and right of the text
VERTICAL_MARGIN = (0.05, 0.5)  # above and below the text, as a share of its height (scans leave room)
NOISE_STD = (0.0, 8.0)  # grey levels of Gaussian paper noise
BOLD_PROBABILITY = 0.25  # the stroke drawn one pixel wider
HANDWRITING_WEIGHT = 3.0  # a handwriting-like font is drawn this many times as often as a print font
# Families that imitate handwriting, by the name fontconfig gives them (lower case, prefix match).
HANDWRITING_FAMILIES = ("dkghandwriting", "breip", "femkeklaver", "dancing script", "kaushan script", "delphine",
                        "steve", "comic neue", "rufscript", "humor sans", "ecolier")
FC_LIST = "fc-list"


@dataclass(frozen=True)
class Font:
    path: str
    family: str
    style: str
    characters: str = ""  # those of the texts that the font has, sorted

    def covers(self, text: str) -> bool:
        return set(text) - {" "} <= set(self.characters)

    @property
    def handwriting(self) -> bool:
        return self.family.lower().startswith(HANDWRITING_FAMILIES)


def _fc_list(pattern: str) -> dict[str, tuple[str, str]]:
    """{font file: (family, style)} of the outline fonts (.ttf, .otf) that match a fontconfig pattern."""
    result = subprocess.run([FC_LIST, "--format", "%{file}\t%{family[0]}\t%{style[0]}\n", f":outline=true{pattern}"],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"{FC_LIST} failed with status {result.returncode}: {result.stderr.strip()}")
    fonts = {}
    for line in result.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[0].lower().endswith((".ttf", ".otf")):
            fonts[fields[0]] = (fields[1], fields[2])
    return fonts


def find_fonts(characters: str) -> list[Font]:
    """Installed fonts with which of `characters` each has (one fontconfig query per character), sorted by
    path; fonts with none of them are left out."""
    if shutil.which(FC_LIST) is None:
        raise FileNotFoundError(f"{FC_LIST} (fontconfig) is not installed; {INSTALL_HINT}")
    names = _fc_list("")
    covered: dict[str, list[str]] = {path: [] for path in names}
    for char in sorted(set(characters) - {" "}):
        for path in _fc_list(f":charset={ord(char):x}"):
            covered.setdefault(path, []).append(char)
    fonts = [Font(path, *names[path], "".join(covered[path])) for path in sorted(covered)
             if covered[path] and path in names]
    if not fonts:
        raise FileNotFoundError(f"no installed font has any of {''.join(sorted(set(characters)))!r}; {INSTALL_HINT}")
    return fonts


def fonts_for(text: str, fonts: list[Font]) -> list[Font]:
    """The fonts that have every character of `text`; an error naming the text when none has."""
    candidates = [font for font in fonts if font.covers(text)]
    if not candidates:
        raise FileNotFoundError(f"no installed font has every character of {text!r}; {INSTALL_HINT}")
    return candidates


def read_texts(path: str | Path) -> list[str]:
    """Transcripts of a JSONL manifest (.jsonl), or the non-blank lines of a text file."""
    path = Path(path)
    if path.suffix == ".jsonl":
        texts = [item.text for item in read_manifest(path)]
    else:
        if not path.is_file():
            raise FileNotFoundError(f"text file not found: {path}")
        texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not texts:
        raise ValueError(f"{path}: no texts")
    return texts


def splice(texts: list[str], generator: np.random.Generator) -> str:
    """A pseudo-text: one to three words, each the prefix of one source word and the suffix of another,
    joined by a space or a hyphen (the separators of place names)."""
    words = [word for text in texts for word in text.replace("-", " ").split() if len(word) > 1]
    parts = []
    for _ in range(int(generator.integers(1, 4))):
        first, second = (words[int(generator.integers(len(words)))] for _ in range(2))
        cut_first = int(generator.integers(1, len(first)))
        cut_second = int(generator.integers(1, len(second)))
        parts.append(first[:cut_first] + second[cut_second:])
    text = parts[0]
    for part in parts[1:]:
        text += (" " if generator.uniform() < 0.7 else "-") + part
    return text


@functools.lru_cache(maxsize=256)
def _typeface(path: str, size: int):
    """Parsing a font file costs more than drawing a line with it: keep them per process."""
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


def render_text(text: str, font: Font, generator: np.random.Generator) -> np.ndarray:
    """One line image, grey uint8 `(rows, columns)`, dark ink on light paper."""
    from PIL import Image, ImageDraw

    size = int(generator.integers(FONT_SIZE[0], FONT_SIZE[1] + 1))
    ink = int(generator.integers(INK_GREY[0], INK_GREY[1] + 1))
    paper = int(generator.integers(PAPER_GREY[0], PAPER_GREY[1] + 1))
    bold = int(generator.uniform() < BOLD_PROBABILITY)
    slant = generator.uniform(*SLANT)
    rotation = generator.uniform(*ROTATION_DEGREES)
    margins = generator.integers(MARGIN[0], MARGIN[1] + 1, size=2)
    vertical_margins = generator.uniform(*VERTICAL_MARGIN, size=2)
    noise_std = generator.uniform(*NOISE_STD)
    noise_seed = int(generator.integers(2**63))

    typeface = _typeface(font.path, size)
    left, top, right, bottom = typeface.getbbox(text, stroke_width=bold)
    pad = size  # room for slant and rotation before cropping
    canvas = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(canvas).text((pad - left, pad - top), text, font=typeface, fill=255, stroke_width=bold,
                                stroke_fill=255)
    centre_row = canvas.height / 2
    canvas = canvas.transform(canvas.size, Image.Transform.AFFINE, (1, slant, -slant * centre_row, 0, 1, 0),
                              resample=Image.Resampling.BILINEAR)
    canvas = canvas.rotate(rotation, resample=Image.Resampling.BILINEAR, expand=False)
    box = canvas.getbbox()
    if box is None:  # nothing drawn: a font without these glyphs would be filtered, but never crash
        box = (0, 0, 1, 1)
    coverage = np.asarray(canvas.crop(box), dtype=np.float32) / 255.0
    left_margin, right_margin = (int(margin) for margin in margins)
    top_margin, bottom_margin = (round(share * coverage.shape[0]) for share in vertical_margins)
    coverage = np.pad(coverage, ((top_margin, bottom_margin), (left_margin, right_margin)))
    pixels = paper + (ink - paper) * coverage
    pixels += np.random.default_rng(noise_seed).normal(0.0, noise_std, size=pixels.shape)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def plan_texts(texts: list[str], num_images: int, recombine: float, seed: int) -> list[str]:
    """The text of each image, a pure function of (texts, seed, image number)."""
    planned = []
    for number in range(num_images):
        generator = np.random.default_rng([seed, 0, number])
        if generator.uniform() < recombine:
            planned.append(splice(texts, generator))
        else:
            planned.append(texts[int(generator.integers(len(texts)))])
    return planned


def font_weights(fonts: list[Font]) -> np.ndarray:
    weights = np.array([HANDWRITING_WEIGHT if font.handwriting else 1.0 for font in fonts])
    return weights / weights.sum()


def render_one(number: int, text: str, fonts: list[Font], seed: int, out_dir: Path,
               size: tuple[int, int] | None = None) -> ManifestItem:
    from PIL import Image

    generator = np.random.default_rng([seed, 1, number])
    candidates = fonts_for(text, fonts)
    font = candidates[int(generator.choice(len(candidates), p=font_weights(candidates)))]
    path = out_dir / "images" / f"{number:07d}.png"
    image = Image.fromarray(render_text(text, font, generator))
    if size is not None:
        image = image.resize(size, Image.Resampling.BOX if image.width >= size[0] else Image.Resampling.BILINEAR)
    image.save(path)
    return ManifestItem(id=f"rendered-{number:07d}", path=path, text=text, duration=0.0, speaker=font.family,
                        kind="image")


def _render_star(arguments: tuple) -> ManifestItem:
    return render_one(*arguments)


def render_all(texts: list[str], fonts: list[Font], seed: int, out_dir: Path, num_workers: int = 1,
               size: tuple[int, int] | None = None) -> list[ManifestItem]:
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    jobs = [(number, text, fonts, seed, out_dir, size) for number, text in enumerate(texts)]
    if num_workers <= 1:
        return [_render_star(job) for job in jobs]
    with ProcessPoolExecutor(num_workers) as pool:
        return list(pool.map(_render_star, jobs, chunksize=64))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts-from", required=True, help="a JSONL manifest (its transcripts) or a text file")
    parser.add_argument("--out", required=True, help="directory for manifest.jsonl, fonts.json and images/")
    parser.add_argument("--num-images", type=int, default=5000)
    parser.add_argument("--recombine", type=float, default=0.5, help="share of spliced pseudo-texts (0-1)")
    parser.add_argument("--handwriting-only", action="store_true", help="only handwriting-like fonts")
    parser.add_argument("--size", default=None, metavar="WIDTHxHEIGHT",
                        help="squeeze every image to this size (e.g. 256x64, DHSD's); default: natural size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    try:
        if args.num_images < 1 or not 0 <= args.recombine <= 1:
            raise ValueError("--num-images must be positive and --recombine within [0, 1]")
        size = None
        if args.size is not None:
            width, _, height = args.size.lower().partition("x")
            if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
                raise ValueError(f"--size must be WIDTHxHEIGHT in pixels, e.g. 256x64, got {args.size!r}")
            size = (int(width), int(height))
        source = read_texts(args.texts_from)
        texts = plan_texts(source, args.num_images, args.recombine, args.seed)
        fonts = find_fonts("".join(texts))
        if args.handwriting_only:
            fonts = [font for font in fonts if font.handwriting]
        uncovered = sorted({text for text in texts if not any(font.covers(text) for font in fonts)})
        if uncovered:
            raise FileNotFoundError(f"{len(uncovered)} texts have characters that no installed "
                                    f"{'handwriting-like ' if args.handwriting_only else ''}font has, e.g. "
                                    f"{uncovered[0]!r}; {INSTALL_HINT}")
    except (OSError, ValueError, RuntimeError) as error:
        print(f"render_lines: error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    items = render_all(texts, fonts, args.seed, out, args.workers, size)
    write_manifest(out / "manifest.jsonl", items)
    (out / "fonts.json").write_text(json.dumps([font.__dict__ for font in fonts], indent=1), encoding="utf-8")
    num_handwriting = sum(font.handwriting for font in fonts)
    num_drawn_handwritten = sum(item.speaker.lower().startswith(HANDWRITING_FAMILIES) for item in items)
    print(f"{out / 'manifest.jsonl'}: {len(items)} images in {len(fonts)} fonts ({num_handwriting} "
          f"handwriting-like, which drew {num_drawn_handwritten} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
