"""Importers on tiny corpora built in tmp_path (and three real FSDD files), the CLI and the FSDD recipe."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from asr.cli import data as data_cli
from asr.data.importers import (IMPORTERS, default_coco_image_root, import_coco_captions, import_common_voice,
                                import_fsdd, import_image_csv, import_kaldi, import_librispeech, import_ljspeech,
                                split_by_speaker)
from asr.data.manifest import ManifestError, ManifestItem, read_manifest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_FSDD = REPO_ROOT.parent / "shared" / "data" / "fsdd" / "recordings"
SHARED_COCO = REPO_ROOT.parent / "shared" / "data" / "coco_mini"


def write_noise(path: Path, num_samples: int, sample_rate: int = 8000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.random.default_rng(0).uniform(-0.1, 0.1, num_samples), sample_rate)
    return path


def write_text(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def make_fsdd(root: Path, speakers=("jackson", "theo")) -> Path:
    """Two files per speaker: digit 3 lasting 0.5 s and digit 7 lasting 0.25 s (8 kHz)."""
    for speaker in speakers:
        write_noise(root / "recordings" / f"3_{speaker}_0.wav", 4000)
        write_noise(root / "recordings" / f"7_{speaker}_12.flac", 2000)
    return root


# --- FSDD ---------------------------------------------------------------------------------------------

def test_fsdd_items_and_durations(tmp_path):
    root = make_fsdd(tmp_path / "fsdd")
    (root / "recordings" / "README.md").write_text("not audio, ignored")
    items = import_fsdd(root)
    assert [(item.id, item.text, item.speaker, item.duration) for item in items] == [
        ("3_jackson_0", "three", "jackson", 0.5),
        ("3_theo_0", "three", "theo", 0.5),
        ("7_jackson_12", "seven", "jackson", 0.25),
        ("7_theo_12", "seven", "theo", 0.25),
    ]
    assert items[0].path == root / "recordings" / "3_jackson_0.wav"


def test_fsdd_badly_named_audio_is_an_error_naming_the_file(tmp_path):
    root = make_fsdd(tmp_path / "fsdd")
    write_noise(root / "recordings" / "seven_theo_1.wav", 100)
    with pytest.raises(ManifestError, match="seven_theo_1.wav: name does not match"):
        import_fsdd(root)


def test_fsdd_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="recordings"):
        import_fsdd(tmp_path)


@pytest.mark.skipif(not SHARED_FSDD.is_dir(), reason="shared FSDD data not present")
def test_fsdd_on_three_real_files(tmp_path):
    names = ["0_jackson_0.flac", "5_theo_10.flac", "9_lucas_49.flac"]
    for name in names:
        (tmp_path / "recordings").mkdir(exist_ok=True)
        shutil.copy(SHARED_FSDD / name, tmp_path / "recordings" / name)
    items = import_fsdd(tmp_path)
    assert [(item.id, item.text, item.speaker) for item in items] == [
        ("0_jackson_0", "zero", "jackson"), ("5_theo_10", "five", "theo"), ("9_lucas_49", "nine", "lucas")]
    for item in items:
        info = soundfile.info(item.path)
        assert info.samplerate == 8000
        assert item.duration == pytest.approx(info.frames / 8000)
        assert 0.1 < item.duration < 2.0  # one spoken digit


# --- LJSpeech -----------------------------------------------------------------------------------------

def make_ljspeech(root: Path) -> Path:
    write_text(root / "metadata.csv", [
        "LJ001-0001|Printing, in 1820.|Printing, in eighteen twenty.",
        "LJ001-0002|Dr. Smith|Doctor Smith",
        "LJ001-0003|no audio for this one|no audio for this one",
    ])
    write_noise(root / "wavs" / "LJ001-0001.wav", 22050, 22050)
    write_noise(root / "wavs" / "LJ001-0002.flac", 11025, 22050)
    return root


def test_ljspeech_items_skip_missing_audio_with_a_count(tmp_path, caplog):
    root = make_ljspeech(tmp_path / "lj")
    with caplog.at_level(logging.WARNING, logger="asr.data.importers"):
        items = import_ljspeech(root)
    assert items == [
        ManifestItem(id="LJ001-0001", path=root / "wavs" / "LJ001-0001.wav", text="Printing, in eighteen twenty.",
                     duration=1.0, speaker="LJ"),
        ManifestItem(id="LJ001-0002", path=root / "wavs" / "LJ001-0002.flac", text="Doctor Smith",
                     duration=0.5, speaker="LJ"),
    ]
    assert "skipped 1 of 3 lines" in caplog.text
    assert [item.text for item in import_ljspeech(root, text_field="raw")] == ["Printing, in 1820.", "Dr. Smith"]


def test_ljspeech_malformed_lines_are_reported_with_numbers(tmp_path):
    root = make_ljspeech(tmp_path / "lj")
    with (root / "metadata.csv").open("a", encoding="utf-8") as stream:
        stream.write("LJ001-0004|only two fields\n\n|no id|no id\n")
    with pytest.raises(ManifestError) as caught:
        import_ljspeech(root)
    message = str(caught.value)
    assert "metadata.csv: 2 problems" in message
    assert "line 4: expected 3 fields id|raw|normalized, got 2" in message
    assert "line 6: empty id" in message


def test_ljspeech_bad_text_field():
    with pytest.raises(ValueError, match="text_field"):
        import_ljspeech("unused", text_field="phonemes")


# --- Kaldi --------------------------------------------------------------------------------------------

def make_kaldi(data_dir: Path) -> Path:
    write_noise(data_dir / "audio" / "spk1" / "u1.flac", 16000, 16000)
    write_noise(data_dir / "audio" / "spk2" / "u2.wav", 8000, 16000)
    write_text(data_dir / "wav.scp", ["u1\taudio/spk1/u1.flac", "u2 audio/spk2/u2.wav"])
    write_text(data_dir / "text", ["u1\tMARK IS  HERE", "u2 KATE"])
    write_text(data_dir / "utt2spk", ["u1 spk1", "u2\tspk2"])
    return data_dir


def test_kaldi_items(tmp_path):
    data_dir = make_kaldi(tmp_path / "kaldi")
    assert import_kaldi(data_dir) == [
        ManifestItem(id="u1", path=data_dir / "audio" / "spk1" / "u1.flac", text="MARK IS  HERE", duration=1.0,
                     speaker="spk1"),
        ManifestItem(id="u2", path=data_dir / "audio" / "spk2" / "u2.wav", text="KATE", duration=0.5,
                     speaker="spk2"),
    ]


def test_kaldi_pipe_command_is_refused(tmp_path):
    data_dir = make_kaldi(tmp_path / "kaldi")
    write_text(data_dir / "wav.scp", ["u1 audio/spk1/u1.flac", "u2 sox audio/x.wav -t wav - |"])
    with pytest.raises(ManifestError, match=r"wav.scp line 2: 'u2' is a pipe command"):
        import_kaldi(data_dir)


def test_kaldi_mismatched_utterances_and_missing_audio_are_reported(tmp_path):
    data_dir = make_kaldi(tmp_path / "kaldi")
    write_text(data_dir / "wav.scp", ["u1 audio/spk1/u1.flac", "u2 audio/spk2/u2.wav", "u3 audio/u3.wav"])
    write_text(data_dir / "text", ["u1 A", "u2 B", "u4 D"])
    with pytest.raises(ManifestError) as caught:
        import_kaldi(data_dir)
    message = str(caught.value)
    assert "1 utterances in wav.scp are missing from text: u3" in message
    assert "1 utterances in wav.scp are missing from utt2spk: u3" in message
    assert "1 utterances in text are missing from wav.scp: u4" in message

    write_text(data_dir / "text", ["u1 A", "u2 B", "u3 C"])
    write_text(data_dir / "utt2spk", ["u1 s", "u2 s", "u3 s"])
    with pytest.raises(ManifestError, match=r"wav.scp line 3: audio file not found: .*u3.wav"):
        import_kaldi(data_dir)


def test_kaldi_segments_are_refused(tmp_path):
    data_dir = make_kaldi(tmp_path / "kaldi")
    write_text(data_dir / "segments", ["u1 rec1 0.0 1.0"])
    with pytest.raises(ManifestError, match="segments"):
        import_kaldi(data_dir)


# --- LibriSpeech and Common Voice layouts, made at test time ------------------------------------------

def make_librispeech(root: Path) -> Path:
    for speaker, chapter, count in (("103", "1240", 2), ("1034", "121119", 1)):
        folder = root / speaker / chapter
        lines = []
        for number in range(count):
            utterance_id = f"{speaker}-{chapter}-{number:04d}"
            write_noise(folder / f"{utterance_id}.flac", 1600 * (number + 1), sample_rate=16000)
            lines.append(f"{utterance_id} CHAPTER ONE PART {number}")
        write_text(folder / f"{speaker}-{chapter}.trans.txt", lines)
    return root


def test_librispeech_layout(tmp_path):
    items = import_librispeech(make_librispeech(tmp_path / "train-clean-100"))
    assert [(item.id, item.speaker, item.text) for item in items] == [
        ("103-1240-0000", "103", "CHAPTER ONE PART 0"), ("103-1240-0001", "103", "CHAPTER ONE PART 1"),
        ("1034-121119-0000", "1034", "CHAPTER ONE PART 0")]
    assert [round(item.duration, 3) for item in items] == [0.1, 0.2, 0.1]


def test_librispeech_missing_audio_and_bad_lines_are_named(tmp_path):
    root = make_librispeech(tmp_path / "dev")
    (root / "103" / "1240" / "103-1240-0001.flac").unlink()
    with pytest.raises(ManifestError, match=r"103/1240/103-1240.trans.txt line 2"):
        import_librispeech(root)
    write_text(root / "1034" / "121119" / "1034-121119.trans.txt", ["1034-121119-0000"])
    with pytest.raises(ManifestError, match=r"line 1: expected 'ID TRANSCRIPT'"):
        import_librispeech(root)


def make_common_voice(root: Path) -> Path:
    # Common Voice ships MP3; soundfile (libsndfile >= 1.1) reads and writes it.
    for name, seconds in (("common_voice_en_1.mp3", 1.0), ("common_voice_en_2.mp3", 0.5)):
        path = root / "clips" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, np.random.default_rng(1).uniform(-0.1, 0.1, int(16000 * seconds)), 16000, format="MP3")
    write_text(root / "dev.tsv", ["client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccent",
                                  "abc\tcommon_voice_en_1.mp3\tHello there.\t2\t0\t\t\t",
                                  "def\tcommon_voice_en_2.mp3\t\"Quoted\" words\t3\t0\t\t\t"])
    return root / "dev.tsv"


def test_common_voice_tsv(tmp_path):
    items = import_common_voice(make_common_voice(tmp_path / "cv"))
    assert [(item.id, item.speaker, item.text) for item in items] == [
        ("common_voice_en_1", "abc", "Hello there."), ("common_voice_en_2", "def", '"Quoted" words')]
    assert items[0].duration == pytest.approx(1.0, abs=0.06) and items[1].duration == pytest.approx(0.5, abs=0.06)


def test_common_voice_missing_column_and_clip_are_named(tmp_path):
    tsv = make_common_voice(tmp_path / "cv")
    (tsv.parent / "clips" / "common_voice_en_2.mp3").unlink()
    with pytest.raises(ManifestError, match="line 3"):
        import_common_voice(tsv)
    write_text(tsv, ["client_id\tfile\tsentence"])
    with pytest.raises(ManifestError, match="missing columns path"):
        import_common_voice(tsv)


# --- registry and speaker split -----------------------------------------------------------------------

def test_registry_is_explicit():
    assert IMPORTERS == {"fsdd": import_fsdd, "ljspeech": import_ljspeech, "kaldi": import_kaldi,
                         "librispeech": import_librispeech, "commonvoice": import_common_voice,
                         "images": import_image_csv, "coco": import_coco_captions}


def test_split_by_speaker(tmp_path):
    items = import_fsdd(make_fsdd(tmp_path / "fsdd", speakers=("a", "b", "c")))
    train, dev = split_by_speaker(items, ["b"])
    assert {item.speaker for item in train} == {"a", "c"} and {item.speaker for item in dev} == {"b"}
    assert len(train) + len(dev) == len(items)
    with pytest.raises(ValueError, match=r"dev speakers with no items: zed \(speakers present: a, b, c\)"):
        split_by_speaker(items, ["b", "zed"])


# --- CLI ----------------------------------------------------------------------------------------------

def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="asr data")
    data_cli.add_arguments(parser)
    return data_cli.run(parser.parse_args(argv))


def test_cli_import_with_dev_split_and_stats(tmp_path, capsys):
    root = make_fsdd(tmp_path / "fsdd", speakers=("a", "b"))
    train, dev = tmp_path / "out" / "train.jsonl", tmp_path / "out" / "dev.jsonl"
    assert run_cli(["import", "fsdd", str(root), "--out", str(train), "--dev-speakers", "b",
                    "--dev-out", str(dev)]) == 0
    assert {item.speaker for item in read_manifest(train)} == {"a"}
    assert {item.speaker for item in read_manifest(dev)} == {"b"}

    capsys.readouterr()
    assert run_cli(["stats", str(train)]) == 0
    output = capsys.readouterr().out
    assert "items" in output and " 2\n" in output  # two items of speaker a
    assert "characters           10" in output  # "three" + "seven"


@pytest.mark.parametrize("argv, message", [
    (["import", "fsdd", "{missing}", "--out", "{out}"], "FSDD recordings directory not found"),
    (["import", "fsdd", "{root}", "--out", "{out}", "--dev-speakers", "a"], "--dev-speakers and --dev-out go together"),
    (["import", "fsdd", "{root}", "--out", "{out}", "--dev-speakers", "x", "--dev-out", "{out}"],
     "dev speakers with no items: x"),
    (["stats", "{missing}"], "manifest not found"),
])
def test_cli_bad_input_is_one_message_and_exit_2(tmp_path, capsys, argv, message):
    root = make_fsdd(tmp_path / "fsdd", speakers=("a",))
    paths = {"missing": str(tmp_path / "missing"), "out": str(tmp_path / "o.jsonl"), "root": str(root)}
    assert run_cli([part.format(**paths) for part in argv]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


# --- recipe -------------------------------------------------------------------------------------------

def test_fsdd_recipe_splits_by_speaker(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("fsdd_recipe", REPO_ROOT / "datasets" / "fsdd.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    root = make_fsdd(tmp_path / "fsdd", speakers=("jackson", "lucas", "nicolas", "theo"))
    assert recipe.main(["--root", str(root), "--out", str(tmp_path / "out")]) == 0
    speakers = {name: {json.loads(line)["speaker"] for line in (tmp_path / "out" / f"{name}.jsonl").open()}
                for name in ("train", "dev", "all")}
    assert speakers == {"train": {"jackson", "nicolas", "theo"}, "dev": {"lucas"},
                        "all": {"jackson", "lucas", "nicolas", "theo"}}
    assert "dev.jsonl: 2 items" in capsys.readouterr().out


# --- COCO captions ------------------------------------------------------------------------------------

def write_png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def write_json(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def coco_document() -> dict:
    """Three captioned images, of which 000003.png is not on disk, and one image without captions."""
    return {
        "info": {"description": "tiny"},
        "images": [{"id": 7, "file_name": "000007.png", "width": 8, "height": 6},
                   {"id": 3, "file_name": "000003.png"},
                   {"id": 1, "file_name": "000001.png"},
                   {"id": 9, "file_name": "000009.png"}],
        "annotations": [{"image_id": 1, "id": 100, "caption": "A red  square.\n"},
                        {"image_id": 7, "id": 101, "caption": " a green\tcircle "},
                        {"image_id": 3, "id": 102, "caption": "not on disk"},
                        {"image_id": 1, "id": 103, "caption": "something red"},
                        {"image_id": 3, "id": 104, "caption": "not on disk either"}],
    }


def make_coco(root: Path, split: str = "mini2017", document: dict | None = None) -> Path:
    """COCO layout: ROOT/annotations/captions_<split>.json, images in ROOT/<split>/; returns the JSON."""
    write_png(root / split / "000001.png", (255, 0, 0))
    write_png(root / split / "000007.png", (0, 255, 0))
    write_png(root / split / "000009.png", (0, 0, 255))
    return write_json(root / "annotations" / f"captions_{split}.json",
                      coco_document() if document is None else document)


def test_coco_items_one_per_caption_and_missing_images_skipped_with_a_warning(tmp_path, caplog):
    annotations = make_coco(tmp_path / "coco")
    with caplog.at_level(logging.WARNING, logger="asr.data.importers"):
        items = import_coco_captions(annotations)
    # Images in the order of "images", captions in annotation order; 000009 has no caption.
    assert [(item.id, item.text, item.speaker) for item in items] == [
        ("000007#101", "a green circle", "000007"),
        ("000001#100", "A red square.", "000001"),
        ("000001#103", "something red", "000001"),
    ]
    assert items[0].path == tmp_path / "coco" / "mini2017" / "000007.png"
    assert all(item.kind == "image" and item.duration == 0.0 for item in items)
    assert "skipped 2 captions of 1 images not found" in caplog.text and "000003.png" in caplog.text


def test_coco_default_image_root_and_an_explicit_one(tmp_path):
    annotations = make_coco(tmp_path / "coco")
    assert default_coco_image_root(annotations) == tmp_path / "coco" / "mini2017"
    # Not the COCO layout: the JSON's own folder, sub-folders in the file names allowed.
    flat = write_json(tmp_path / "scenes" / "captions.json",
                      {"images": [{"id": 0, "file_name": "images/000000.png"}],
                       "annotations": [{"id": 0, "image_id": 0, "caption": "a red square"}]})
    write_png(tmp_path / "scenes" / "images" / "000000.png", (255, 0, 0))
    assert default_coco_image_root(flat) == tmp_path / "scenes"
    assert [(item.id, item.speaker, item.path) for item in import_coco_captions(flat)] == [
        ("000000#0", "000000", tmp_path / "scenes" / "images" / "000000.png")]

    elsewhere = tmp_path / "copied"
    shutil.copytree(tmp_path / "coco" / "mini2017", elsewhere)
    items = import_coco_captions(annotations, image_root=elsewhere)
    assert {item.path.parent for item in items} == {elsewhere}
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        import_coco_captions(annotations, image_root=tmp_path / "absent")


def test_coco_problems_are_reported_together_naming_the_annotation(tmp_path):
    document = coco_document()
    document["annotations"] += [{"image_id": 42, "id": 200, "caption": "who?"},
                                {"image_id": 1, "id": 201, "caption": " \t "},
                                {"image_id": 1, "id": 100, "caption": "same id as the first"},
                                {"image_id": 1, "caption": "no id"}]
    document["images"].append({"id": 7, "file_name": "other.png"})
    with pytest.raises(ManifestError) as caught:
        import_coco_captions(make_coco(tmp_path / "coco", document=document))
    message = str(caught.value)
    assert "captions_mini2017.json: 5 problems" in message
    assert "images[4]: duplicate id 7 (first at images[0])" in message
    assert "annotations[5] (id 200): unknown image_id 42" in message
    assert "annotations[6] (id 201): empty caption" in message
    assert "annotations[7] (id 100): duplicate id (first at annotations[0])" in message
    assert "annotations[8]: missing or invalid 'id' (None)" in message


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid UTF-8 JSON"),
    ("[1, 2]", 'expected a JSON object with "images" and "annotations" lists'),
    ('{"images": []}', 'expected a JSON object with "images" and "annotations" lists'),
])
def test_coco_malformed_json_is_one_error(tmp_path, content, message):
    path = tmp_path / "captions.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ManifestError, match=message):
        import_coco_captions(path)


def test_coco_unreadable_image_and_no_images_at_all(tmp_path):
    annotations = make_coco(tmp_path / "coco")
    (tmp_path / "coco" / "mini2017" / "000007.png").write_bytes(b"not a png")
    with pytest.raises(ManifestError, match=r"images\[0\] \(id 7\): cannot read the image header"):
        import_coco_captions(annotations)
    with pytest.raises(ManifestError, match="no captioned image found"):
        import_coco_captions(annotations, image_root=tmp_path)  # a folder without the images
    with pytest.raises(FileNotFoundError, match="COCO caption JSON not found"):
        import_coco_captions(tmp_path / "absent.json")


def test_coco_on_the_real_mini_set_keeps_exactly_the_captions_whose_image_exists():
    if not (SHARED_COCO / "annotations").is_dir():
        pytest.skip(f"coco_mini is not at {SHARED_COCO}")
    for annotations in sorted((SHARED_COCO / "annotations").glob("captions_*.json")):
        document = json.loads(annotations.read_text(encoding="utf-8"))
        split_folder = SHARED_COCO / annotations.stem.removeprefix("captions_")
        present = {image["id"] for image in document["images"] if (split_folder / image["file_name"]).is_file()}
        expected = [annotation for annotation in document["annotations"] if annotation["image_id"] in present]
        items = import_coco_captions(annotations)
        assert len(items) == len(expected) > 0, annotations
        assert {item.speaker for item in items} == {
            Path(image["file_name"]).stem for image in document["images"] if image["id"] in present}
        assert all(item.path.parent == split_folder and item.text == item.text.strip() for item in items)


def test_cli_imports_coco_with_an_image_root_and_refuses_it_elsewhere(tmp_path, capsys):
    annotations = make_coco(tmp_path / "coco")
    out = tmp_path / "out" / "all.jsonl"
    assert run_cli(["import", "coco", str(annotations), "--out", str(out),
                    "--image-root", str(tmp_path / "coco" / "mini2017")]) == 0
    assert [item.id for item in read_manifest(out)] == ["000007#101", "000001#100", "000001#103"]
    train, dev = tmp_path / "out" / "train.jsonl", tmp_path / "out" / "dev.jsonl"
    assert run_cli(["import", "coco", str(annotations), "--out", str(train), "--dev-speakers", "000001",
                    "--dev-out", str(dev)]) == 0
    assert {item.speaker for item in read_manifest(dev)} == {"000001"} and len(read_manifest(train)) == 1

    capsys.readouterr()
    root = make_fsdd(tmp_path / "fsdd", speakers=("a",))
    assert run_cli(["import", "fsdd", str(root), "--out", str(out), "--image-root", str(tmp_path)]) == 2
    assert "--image-root applies only to 'coco' and 'images', not to 'fsdd'" in capsys.readouterr().err
