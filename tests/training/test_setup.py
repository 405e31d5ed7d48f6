"""Reading the training data: manifests read several times an epoch (data.train_repeats)."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter

import pytest

from asr.config import ConfigError, from_dict


def repeat_config(manifests: dict, repeats: list[int], max_duration: float = 30.0):
    return from_dict({
        "features": {"sample_rate": 8000},
        "data": {"train_manifests": [str(manifests["train"]), str(manifests["dev"])],
                 "train_repeats": repeats, "dev_manifest": str(manifests["dev"]), "normalizer": "lower",
                 "max_duration": max_duration},
    })


def test_each_manifest_is_read_its_number_of_times(tiny_fsdd):
    from asr.training.setup import prepare_data

    data = prepare_data(repeat_config(tiny_fsdd, [3, 1]))
    counts = Counter(item.id for item in data.train_items)
    assert len(counts) == 16  # 12 items of the first manifest, 4 of the second
    assert sorted(set(counts.values())) == [1, 3]
    assert sum(1 for times in counts.values() if times == 3) == 12
    # texts stay aligned with their items
    for item, text in zip(data.train_items, data.train_texts):
        assert text == item.text.lower()
    assert len(data.train_lengths) == len(data.train_items) == 40
    assert len(data.dev_items) == 4  # the dev manifest is read once whatever the repeats


def test_a_left_out_item_is_reported_once(tiny_fsdd, caplog):
    from asr.training.setup import prepare_data

    durations = sorted(item.duration for item in prepare_data(repeat_config(tiny_fsdd, [1, 1])).train_items)
    cut = durations[-1] - 1e-3  # leaves out the longest item(s) only
    with caplog.at_level(logging.WARNING, logger="asr.training.setup"):
        data = prepare_data(repeat_config(tiny_fsdd, [4, 1], max_duration=cut))
    (message,) = [record.getMessage() for record in caplog.records if " + " in record.getMessage() and "left out" in record.getMessage()]
    left_out = message.split("left out: ")[1].split(", ")
    assert len(left_out) == len(set(left_out)) >= 1
    assert not {item.id for item in data.train_items} & set(left_out)


@pytest.mark.parametrize("repeats, complaint", [([2], "one count per training manifest"),
                                                ([2, 0], "must be positive")])
def test_bad_repeats_are_errors_naming_the_field(tiny_fsdd, repeats, complaint):
    with pytest.raises(ConfigError, match=rf"data\.train_repeats.*{complaint}"):
        repeat_config(tiny_fsdd, repeats)


def test_an_item_too_short_for_ctc_is_reported_once(tiny_fsdd, tmp_path, caplog):
    from asr.data.manifest import read_manifest, write_manifest
    from asr.training.setup import build_recognizer, prepare_data

    items = read_manifest(tiny_fsdd["train"])
    overlong = dataclasses.replace(items[0], text=" ".join(["seven"] * 60))  # 360 labels in under a second
    write_manifest(tmp_path / "overlong.jsonl", [overlong, *items[1:]])
    config = repeat_config({"train": tmp_path / "overlong.jsonl", "dev": tiny_fsdd["dev"]}, [3, 1])
    data = prepare_data(config)
    with caplog.at_level(logging.WARNING, logger="asr.training.setup"):
        build_recognizer(config, data, fit_global_stats=False)
    (message,) = [record.getMessage() for record in caplog.records if "too short for CTC" in record.getMessage()]
    assert message.count(overlong.id) == 1 and "1 items too short" in message
    assert overlong.id not in {item.id for item in data.train_items}
    assert len(data.train_items) == 3 * 11 + 4
