"""Importers: turn a corpus in its original layout into manifest items.

Each importer reads the corpus in place (no copying, no conversion), measures every duration from the
audio header, and reports every problem it finds in one error that names the file and line, so a broken
corpus is fixed in one pass. Nothing here runs commands found in data files.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from asr.data.manifest import ManifestError, ManifestItem, audio_duration, format_problems

logger = logging.getLogger(__name__)

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# FSDD names its files {digit}_{speaker}_{take}; speakers contain no underscore.
FSDD_STEM = re.compile(r"(?P<digit>[0-9])_(?P<speaker>[^_]+)_(?P<take>[0-9]+)")
AUDIO_SUFFIXES = (".wav", ".flac")

LJSPEECH_SPEAKER = "LJ"
LJSPEECH_TEXT_FIELDS = ("raw", "normalized")


def _measure_durations(files: list[tuple[str, Path]], source: Path) -> list[float]:
    """Header durations of `files`, given as (where it was listed, path) pairs; all failures in one error."""
    durations = []
    problems = []
    for origin, path in files:
        try:
            durations.append(audio_duration(path))
        except (FileNotFoundError, ValueError) as error:
            problems.append(f"{origin}: {error}")
    if problems:
        raise ManifestError(format_problems(source, problems))
    return durations


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline) for the non-blank lines of a UTF-8 text file."""
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    with path.open(encoding="utf-8") as stream:
        for line_number, line in enumerate(stream, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield line_number, line


def import_fsdd(root: str | Path) -> list[ManifestItem]:
    """Free Spoken Digit Dataset: `root/recordings/{digit}_{speaker}_{take}.(wav|flac)`.

    An audio file whose name does not match the pattern is an error, not a skip: its label and speaker
    cannot be known, and dropping it silently would change the corpus without anyone noticing. Files
    that are not .wav/.flac (a README, editor droppings) are ignored.
    """
    recordings = Path(root) / "recordings"
    if not recordings.is_dir():
        raise FileNotFoundError(f"FSDD recordings directory not found: {recordings}")
    audio_files = sorted(path for path in recordings.iterdir()
                         if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES)
    if not audio_files:
        raise ManifestError(f"{recordings}: no .wav or .flac files")

    problems = []
    parsed = []
    first_file_of_id: dict[str, Path] = {}
    for path in audio_files:
        match = FSDD_STEM.fullmatch(path.stem)
        if match is None:
            problems.append(f"{path.name}: name does not match {{digit}}_{{speaker}}_{{take}}.wav|flac")
            continue
        if path.stem in first_file_of_id:
            problems.append(f"{path.name}: duplicate id {path.stem!r} (also {first_file_of_id[path.stem].name})")
            continue
        first_file_of_id[path.stem] = path
        parsed.append((path, match))
    if problems:
        raise ManifestError(format_problems(recordings, problems))

    durations = _measure_durations([(path.name, path) for path, _ in parsed], recordings)
    return [
        ManifestItem(id=path.stem, path=path, text=DIGIT_WORDS[int(match["digit"])], duration=duration,
                     speaker=match["speaker"])
        for (path, match), duration in zip(parsed, durations)
    ]


def import_ljspeech(root: str | Path, text_field: str = "normalized",
                    metadata: str = "metadata.csv") -> list[ManifestItem]:
    """LJSpeech: `root/metadata` lines `id|raw text|normalized text`, audio `root/wavs/{id}.wav` or `.flac`.

    Lines whose audio is absent are skipped and counted in a log message: LJSpeech's transcript files are
    routinely shipped without (all of) the audio, e.g. `metadata_all_text.csv` next to a subset of clips.
    A malformed line is an error naming its line number.
    """
    if text_field not in LJSPEECH_TEXT_FIELDS:
        raise ValueError(f"text_field must be one of {LJSPEECH_TEXT_FIELDS}, got {text_field!r}")
    root = Path(root)
    metadata_path = root / metadata
    wavs = root / "wavs"
    text_column = 1 + LJSPEECH_TEXT_FIELDS.index(text_field)

    problems = []
    listed = []  # (line number, id, text, audio path)
    first_line_of_id: dict[str, int] = {}
    num_missing_audio = 0
    for line_number, line in _numbered_lines(metadata_path):
        fields = line.split("|")
        if len(fields) != 3:
            problems.append(f"line {line_number}: expected 3 fields id|raw|normalized, got {len(fields)}")
            continue
        utterance_id = fields[0].strip()
        if not utterance_id:
            problems.append(f"line {line_number}: empty id")
            continue
        if utterance_id in first_line_of_id:
            problems.append(f"line {line_number}: duplicate id {utterance_id!r} "
                            f"(first on line {first_line_of_id[utterance_id]})")
            continue
        first_line_of_id[utterance_id] = line_number
        audio_path = next((candidate for suffix in AUDIO_SUFFIXES
                           if (candidate := wavs / f"{utterance_id}{suffix}").is_file()), None)
        if audio_path is None:
            num_missing_audio += 1
            continue
        listed.append((line_number, utterance_id, fields[text_column], audio_path))
    if problems:
        raise ManifestError(format_problems(metadata_path, problems))
    if num_missing_audio:
        logger.warning("%s: skipped %d of %d lines whose audio is not in %s", metadata_path, num_missing_audio,
                       num_missing_audio + len(listed), wavs)
    if not listed:
        raise ManifestError(f"{metadata_path}: none of the listed clips has audio in {wavs}")

    durations = _measure_durations(
        [(f"line {line_number}", audio_path) for line_number, _, _, audio_path in listed], metadata_path)
    return [
        ManifestItem(id=utterance_id, path=audio_path, text=text, duration=duration, speaker=LJSPEECH_SPEAKER)
        for (_, utterance_id, text, audio_path), duration in zip(listed, durations)
    ]


def _read_kaldi_table(path: Path) -> tuple[dict[str, tuple[str, int]], list[str]]:
    """A Kaldi `key value...` file as {key: (value, line number)} and the problems found in it."""
    table: dict[str, tuple[str, int]] = {}
    problems = []
    for line_number, line in _numbered_lines(path):
        # Kaldi separates the key from the value by any whitespace (space or tab); the value keeps its own.
        fields = line.strip().split(None, 1)
        key, value = fields[0], (fields[1].strip() if len(fields) == 2 else "")
        if key in table:
            problems.append(f"{path.name} line {line_number}: duplicate utterance {key!r} "
                            f"(first on line {table[key][1]})")
            continue
        table[key] = (value, line_number)
    return table, problems


def _missing_keys_problem(keys: Iterable[str], present_in: str, absent_from: str) -> list[str]:
    keys = sorted(keys)
    if not keys:
        return []
    listed = ", ".join(keys[:10]) + (f", ... ({len(keys)} in all)" if len(keys) > 10 else "")
    return [f"{len(keys)} utterances in {present_in} are missing from {absent_from}: {listed}"]


def import_kaldi(data_dir: str | Path) -> list[ManifestItem]:
    """A Kaldi data directory: `wav.scp` (`utt path`, relative paths against data_dir), `text`, `utt2spk`.

    Refused, with an error naming the line: pipe commands in wav.scp (`... |`), because a data file must
    never run a program; and a `segments` file, because its utterances are slices of recordings that a
    manifest of whole files cannot express. The three files must list the same utterances: a mismatch is
    reported (not skipped), as Kaldi's own validate_data_dir.sh does.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"Kaldi data directory not found: {data_dir}")
    if (data_dir / "segments").exists():
        raise ManifestError(f"{data_dir / 'segments'}: segmented Kaldi data is not supported; "
                            "cut the recordings into one file per utterance first")
    wav_scp, problems = _read_kaldi_table(data_dir / "wav.scp")
    texts, text_problems = _read_kaldi_table(data_dir / "text")
    speakers, speaker_problems = _read_kaldi_table(data_dir / "utt2spk")
    problems += text_problems + speaker_problems

    for utterance_id, (location, line_number) in wav_scp.items():
        if location.endswith("|"):
            problems.append(f"wav.scp line {line_number}: {utterance_id!r} is a pipe command ({location!r}); "
                            "commands from data files are never run: convert the audio to files first")
        elif not location:
            problems.append(f"wav.scp line {line_number}: {utterance_id!r} has no audio path")
    for utterance_id, (speaker, line_number) in speakers.items():
        if not speaker or len(speaker.split()) != 1:
            problems.append(f"utt2spk line {line_number}: expected one speaker for {utterance_id!r}, "
                            f"got {speaker!r}")
    problems += _missing_keys_problem(wav_scp.keys() - texts.keys(), "wav.scp", "text")
    problems += _missing_keys_problem(wav_scp.keys() - speakers.keys(), "wav.scp", "utt2spk")
    problems += _missing_keys_problem(texts.keys() - wav_scp.keys(), "text", "wav.scp")
    problems += _missing_keys_problem(speakers.keys() - wav_scp.keys(), "utt2spk", "wav.scp")
    if problems:
        raise ManifestError(format_problems(data_dir, problems))
    if not wav_scp:
        raise ManifestError(f"{data_dir / 'wav.scp'}: no utterances")

    # Keep wav.scp's order: Kaldi directories are sorted by utterance id, and so is the manifest.
    audio_paths = {utterance_id: data_dir / location for utterance_id, (location, _) in wav_scp.items()}
    durations = _measure_durations(
        [(f"wav.scp line {wav_scp[utterance_id][1]}", path) for utterance_id, path in audio_paths.items()],
        data_dir)
    return [
        ManifestItem(id=utterance_id, path=path, text=texts[utterance_id][0], duration=duration,
                     speaker=speakers[utterance_id][0])
        for (utterance_id, path), duration in zip(audio_paths.items(), durations)
    ]


LIBRISPEECH_TRANSCRIPTS = "*/*/*.trans.txt"  # SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt


def import_librispeech(root: str | Path) -> list[ManifestItem]:
    """LibriSpeech: `root/SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt` lines `UTTERANCE-ID TRANSCRIPT`, audio
    `UTTERANCE-ID.flac` beside them; `root` is one subset (e.g. `LibriSpeech/train-clean-100`). The
    speaker is the first field of the id, so a split by speaker works as for any corpus."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"LibriSpeech directory not found: {root}")
    transcripts = sorted(root.glob(LIBRISPEECH_TRANSCRIPTS))
    if not transcripts:
        raise ManifestError(f"{root}: no SPEAKER/CHAPTER/*.trans.txt files: is this a LibriSpeech subset folder?")
    listed, problems = [], []  # (where, id, text, path)
    for transcript in transcripts:
        for line_number, line in _numbered_lines(transcript):
            utterance_id, _, text = line.strip().partition(" ")
            if not text.strip():
                problems.append(f"{transcript.relative_to(root)} line {line_number}: expected 'ID TRANSCRIPT'")
                continue
            listed.append((f"{transcript.relative_to(root)} line {line_number}", utterance_id, text.strip(),
                           transcript.parent / f"{utterance_id}.flac"))
    if problems:
        raise ManifestError(format_problems(root, problems))
    durations = _measure_durations([(where, path) for where, _, _, path in listed], root)
    return [ManifestItem(id=utterance_id, path=path, text=text, duration=duration,
                         speaker=utterance_id.split("-", 1)[0])
            for (_, utterance_id, text, path), duration in zip(listed, durations)]


COMMON_VOICE_COLUMNS = ("client_id", "path", "sentence")


def import_common_voice(tsv_path: str | Path) -> list[ManifestItem]:
    """Common Voice: a split's TSV (`train.tsv`, `dev.tsv`, `validated.tsv`, ...) with the columns
    client_id, path and sentence among others; audio under `clips/` beside it (MP3, read by soundfile).
    The speaker is the client id, so splits by speaker stay possible."""
    import csv

    tsv_path = Path(tsv_path)
    if not tsv_path.is_file():
        raise FileNotFoundError(f"Common Voice TSV not found: {tsv_path}")
    clips = tsv_path.parent / "clips"
    with open(tsv_path, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [column for column in COMMON_VOICE_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ManifestError(f"{tsv_path}: line 1: missing columns {', '.join(missing)} "
                                f"(found: {', '.join(reader.fieldnames or [])})")
        rows = [(line_number, row) for line_number, row in enumerate(reader, start=2)]
    listed, problems = [], []
    for line_number, row in rows:
        if not (row.get("path") or "").strip() or not (row.get("sentence") or "").strip():
            problems.append(f"line {line_number}: empty path or sentence")
            continue
        path = clips / row["path"].strip()
        listed.append((f"line {line_number}", path.stem, row["sentence"].strip(), path,
                       (row.get("client_id") or "").strip() or "unknown"))
    if problems:
        raise ManifestError(format_problems(tsv_path, problems))
    durations = _measure_durations([(where, path) for where, _, _, path, _ in listed], tsv_path)
    return [ManifestItem(id=utterance_id, path=path, text=text, duration=duration, speaker=speaker)
            for (_, utterance_id, text, path, speaker), duration in zip(listed, durations)]


# A first CSV row whose file and text fields read like these is a header, not an item.
IMAGE_CSV_FILE_HEADERS = ("file", "file_name", "filename", "path", "image")
IMAGE_CSV_TEXT_HEADERS = ("text", "transcript", "transcription", "label")
IMAGE_CSV_UNKNOWN_WRITER = "unknown"


def import_image_csv(csv_path: str | Path, image_root: str | Path | None = None) -> list[ManifestItem]:
    """Handwriting images listed in a UTF-8 CSV of `file,text[,writer]` rows (the DHSD layout), with an
    optional header row; file paths are relative to `image_root` (default: the CSV's folder).

    Item ids are the file paths relative to `image_root` without their extension, so they are unique
    and say where the image is. Rows without a writer get writer "unknown". Every problem (a row with
    too few or too many fields, an empty text, a missing or unreadable image, a duplicate file) is
    reported in one error naming the CSV line; each image's header is read (not the pixels), so a
    broken file is found here rather than in the middle of training.
    """
    from asr.frontend.image import image_size

    csv_path = Path(csv_path)
    image_root = Path(image_root) if image_root is not None else csv_path.parent
    if not csv_path.is_file():
        raise FileNotFoundError(f"image CSV not found: {csv_path}")
    problems = []
    items = []
    first_line_of_id: dict[str, int] = {}
    with csv_path.open(encoding="utf-8-sig", newline="") as stream:  # -sig: a spreadsheet's BOM is no field
        reader = csv.reader(stream)
        for row in reader:
            line_number = reader.line_num
            if not any(field.strip() for field in row):
                continue
            if (not items and not problems and not first_line_of_id and len(row) >= 2
                    and row[0].strip().lower() in IMAGE_CSV_FILE_HEADERS
                    and row[1].strip().lower() in IMAGE_CSV_TEXT_HEADERS):
                continue
            if len(row) not in (2, 3):
                problems.append(f"line {line_number}: expected 2 or 3 fields file,text[,writer], got {len(row)}")
                continue
            file_name, text = row[0].strip(), row[1]
            writer = row[2].strip() if len(row) == 3 and row[2].strip() else IMAGE_CSV_UNKNOWN_WRITER
            if not file_name:
                problems.append(f"line {line_number}: empty file name")
                continue
            if not text.strip():
                problems.append(f"line {line_number}: {file_name}: empty text")
                continue
            path = image_root / file_name
            item_id = Path(file_name).with_suffix("").as_posix()
            if item_id in first_line_of_id:
                problems.append(f"line {line_number}: duplicate image {file_name!r} "
                                f"(first on line {first_line_of_id[item_id]})")
                continue
            first_line_of_id[item_id] = line_number
            try:
                image_size(path)
            except (FileNotFoundError, ValueError) as error:
                problems.append(f"line {line_number}: {error}")
                continue
            items.append(ManifestItem(id=item_id, path=path, text=text, duration=0.0, speaker=writer, kind="image"))
    if problems:
        raise ManifestError(format_problems(csv_path, problems))
    if not items:
        raise ManifestError(f"{csv_path}: no images listed")
    return items


# COCO keeps `annotations/captions_<split>.json` beside the image folder `<split>/` (e.g. train2017/).
COCO_CAPTIONS_NAME = re.compile(r"captions_(?P<split>.+)")
NUM_NAMED_MISSING_IMAGES = 5  # missing images named in the warning; the rest are counted


def default_coco_image_root(annotations_json: str | Path) -> Path:
    """Where `import_coco_captions` looks for images when no root is given.

    The COCO layout first: for `ROOT/annotations/captions_<split>.json`, the folder `ROOT/<split>/` when it
    exists (so `coco/annotations/captions_val2017.json` finds `coco/val2017/`). Otherwise the JSON's own
    folder, with any sub-folders in the file names (datasets/synth_scenes.py writes `captions.json` listing
    `images/000000.png`).
    """
    annotations_json = Path(annotations_json)
    match = COCO_CAPTIONS_NAME.fullmatch(annotations_json.stem)
    if match is not None:
        split_folder = annotations_json.parent.parent / match["split"]
        if split_folder.is_dir():
            return split_folder
    return annotations_json.parent


def _is_coco_id(value: object) -> bool:
    # COCO ids are integers; strings are accepted from other writers. bool is an int in Python: refused.
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value != "")


def _coco_images(images: list, problems: list[str]) -> dict[object, tuple[int, str]]:
    """{image id: (index in "images", file name)} of the valid entries; problems appended."""
    by_id: dict[object, tuple[int, str]] = {}
    first_index_of_stem: dict[str, int] = {}
    for index, image in enumerate(images):
        if not isinstance(image, dict):
            problems.append(f"images[{index}]: expected an object, got {type(image).__name__}")
            continue
        image_id, file_name = image.get("id"), image.get("file_name")
        file_name = file_name.strip() if isinstance(file_name, str) else None
        if not _is_coco_id(image_id):
            problems.append(f"images[{index}]: missing or invalid 'id' ({image_id!r})")
            continue
        if not file_name:
            problems.append(f"images[{index}] (id {image_id}): missing or empty 'file_name'")
            continue
        if image_id in by_id:
            problems.append(f"images[{index}]: duplicate id {image_id} (first at images[{by_id[image_id][0]}])")
            continue
        # The stem is the speaker and the start of every item id, so two images may not share one.
        stem = Path(file_name).stem
        if stem in first_index_of_stem:
            problems.append(f"images[{index}] (id {image_id}): file name {file_name!r} has the same stem as "
                            f"images[{first_index_of_stem[stem]}]")
            continue
        first_index_of_stem[stem] = index
        by_id[image_id] = (index, file_name)
    return by_id


def _coco_captions(annotations: list, image_ids: dict[object, tuple[int, str]],
                   problems: list[str]) -> dict[object, list[tuple[object, str]]]:
    """{image id: [(annotation id, caption with whitespace collapsed), ...]} in annotation order."""
    captions: dict[object, list[tuple[object, str]]] = {}
    first_index_of_id: dict[object, int] = {}
    for index, annotation in enumerate(annotations):
        if not isinstance(annotation, dict):
            problems.append(f"annotations[{index}]: expected an object, got {type(annotation).__name__}")
            continue
        annotation_id, image_id, caption = annotation.get("id"), annotation.get("image_id"), annotation.get("caption")
        where = f"annotations[{index}] (id {annotation_id})"
        if not _is_coco_id(annotation_id):
            problems.append(f"annotations[{index}]: missing or invalid 'id' ({annotation_id!r})")
            continue
        if annotation_id in first_index_of_id:
            problems.append(f"{where}: duplicate id (first at annotations[{first_index_of_id[annotation_id]}])")
            continue
        first_index_of_id[annotation_id] = index
        if image_id not in image_ids:
            problems.append(f"{where}: unknown image_id {image_id!r}")
            continue
        if not isinstance(caption, str):
            problems.append(f"{where}: 'caption' must be a string, got {type(caption).__name__}")
            continue
        caption = " ".join(caption.split())
        if not caption:
            problems.append(f"{where}: empty caption")
            continue
        captions.setdefault(image_id, []).append((annotation_id, caption))
    return captions


def import_coco_captions(annotations_json: str | Path, image_root: str | Path | None = None) -> list[ManifestItem]:
    """COCO caption annotations (`{"images": [{"id", "file_name"}...], "annotations": [{"id", "image_id",
    "caption"}...]}`) -> one image item per caption.

    Image paths are `image_root / file_name`; the default root is `default_coco_image_root(annotations_json)`
    (the COCO `<split>/` folder beside `annotations/`, else the JSON's folder). Captions keep their words with
    runs of whitespace made one space. An item's id is `<file stem>#<annotation id>` and its speaker the file
    stem, so all captions of one image share a speaker: a split by speaker never puts one image on both
    sides, and an evaluation can gather an image's references by it. Items follow the order of "images",
    each image's captions in the order of "annotations"; images without captions are left out.

    Images listed but not on disk are skipped with one warning giving their count and a few names: COCO's
    annotation files describe whole splits, and subsets ship with only some of the images. Everything else
    (broken JSON, an annotation naming an unknown image, an empty caption, duplicate ids, an image file
    whose header cannot be read) is reported in one ManifestError naming each entry by its index and id.
    """
    from asr.frontend.image import image_size

    annotations_json = Path(annotations_json)
    if not annotations_json.is_file():
        raise FileNotFoundError(f"COCO caption JSON not found: {annotations_json}")
    image_root = Path(image_root) if image_root is not None else default_coco_image_root(annotations_json)
    if not image_root.is_dir():
        raise FileNotFoundError(f"image folder not found: {image_root} (for {annotations_json})")
    try:
        with annotations_json.open(encoding="utf-8-sig") as stream:  # -sig: a BOM from an editor is no error
            document = json.load(stream)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ManifestError(f"{annotations_json}: not valid UTF-8 JSON ({error})") from error
    if not (isinstance(document, dict) and isinstance(document.get("images"), list)
            and isinstance(document.get("annotations"), list)):
        raise ManifestError(f'{annotations_json}: expected a JSON object with "images" and "annotations" lists '
                            "(COCO caption format)")

    problems: list[str] = []
    images = _coco_images(document["images"], problems)
    captions = _coco_captions(document["annotations"], images, problems)
    if problems:
        raise ManifestError(format_problems(annotations_json, problems))

    items = []
    missing_files: list[str] = []
    num_missing_captions = 0
    for image_id, (index, file_name) in images.items():  # in the order of "images"
        if image_id not in captions:
            continue
        path = image_root / file_name
        if not path.is_file():
            missing_files.append(file_name)
            num_missing_captions += len(captions[image_id])
            continue
        try:
            image_size(path)
        except (OSError, ValueError) as error:
            problems.append(f"images[{index}] (id {image_id}): {error}")
            continue
        stem = Path(file_name).stem
        items += [ManifestItem(id=f"{stem}#{annotation_id}", path=path, text=caption, duration=0.0, speaker=stem,
                               kind="image")
                  for annotation_id, caption in captions[image_id]]
    if problems:
        raise ManifestError(format_problems(annotations_json, problems))
    if missing_files:
        named = ", ".join(missing_files[:NUM_NAMED_MISSING_IMAGES])
        more = f", ... ({len(missing_files)} in all)" if len(missing_files) > NUM_NAMED_MISSING_IMAGES else ""
        logger.warning("%s: skipped %d captions of %d images not found in %s: %s%s", annotations_json,
                       num_missing_captions, len(missing_files), image_root, named, more)
    if not items:
        raise ManifestError(f"{annotations_json}: no captioned image found in {image_root}")
    return items


# Explicit catalogue of importers: name -> function taking the corpus directory (a CSV file for "images", a
# caption JSON for "coco"); "images" and "coco" also take an `image_root`.
IMPORTERS: dict[str, Callable[..., list[ManifestItem]]] = {
    "fsdd": import_fsdd,
    "ljspeech": import_ljspeech,
    "kaldi": import_kaldi,
    "librispeech": import_librispeech,
    "commonvoice": import_common_voice,
    "images": import_image_csv,
    "coco": import_coco_captions,
}


def split_by_speaker(items: Iterable[ManifestItem],
                     dev_speakers: Iterable[str]) -> tuple[list[ManifestItem], list[ManifestItem]]:
    """(train, dev): dev holds every item of `dev_speakers`, train all others; order is kept.

    Splitting by speaker, never by utterance, keeps dev scores a prediction for people the model has
    not heard. A named speaker with no items is an error (most likely a typo that would leave dev short).
    """
    items = list(items)
    dev_speakers = set(dev_speakers)
    if not dev_speakers:
        raise ValueError("no dev speakers given")
    known_speakers = {item.speaker for item in items}
    unknown = sorted(dev_speakers - known_speakers)
    if unknown:
        raise ValueError(f"dev speakers with no items: {', '.join(unknown)} "
                         f"(speakers present: {', '.join(sorted(known_speakers))})")
    train = [item for item in items if item.speaker not in dev_speakers]
    dev = [item for item in items if item.speaker in dev_speakers]
    return train, dev
