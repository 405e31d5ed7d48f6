"""Importers: turn a corpus in its original layout into manifest items.

Each importer reads the corpus in place (no copying, no conversion), measures every duration from the
audio header, and reports every problem it finds in one error that names the file and line, so a broken
corpus is fixed in one pass. Nothing here runs commands found in data files.
"""

from __future__ import annotations

import csv
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


# Explicit catalogue of importers: name -> function taking the corpus directory (a CSV file for "images").
IMPORTERS: dict[str, Callable[[str | Path], list[ManifestItem]]] = {
    "fsdd": import_fsdd,
    "ljspeech": import_ljspeech,
    "kaldi": import_kaldi,
    "librispeech": import_librispeech,
    "commonvoice": import_common_voice,
    "images": import_image_csv,
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
