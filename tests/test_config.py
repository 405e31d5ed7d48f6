"""asr.config: frozen dataclasses, YAML loading, `--set` overrides, errors that name the field."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest
import yaml

from asr.config import (
    AugmentConfig,
    ConfigError,
    ExperimentConfig,
    FeatureConfig,
    ModelConfig,
    OptimConfig,
    apply_overrides,
    from_dict,
    load_config,
)


def write_yaml(tmp_path, text: str):
    path = tmp_path / "experiment.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_defaults_validate():
    config = ExperimentConfig()
    assert config.validate() is config
    assert from_dict(None) == config
    assert from_dict({}) == config


def test_configs_are_frozen():
    config = ExperimentConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.optim.lr = 1.0  # type: ignore[misc]


def test_load_yaml_file(tmp_path):
    path = write_yaml(tmp_path, """
        features:
          kind: fbank
          num_mels: 80
        model:
          cell: gru
          hidden_size: 128
          bidirectional: false
        augment:
          speed_factors: [0.9, 1.0, 1.1]
          noise_snr_db: [5, 20]
        optim:
          lr: 0.0005
    """)
    config = load_config(path)
    assert config.features == FeatureConfig(kind="fbank", num_mels=80)
    assert config.model.cell == "gru" and config.model.hidden_size == 128 and config.model.bidirectional is False
    assert config.augment.speed_factors == (0.9, 1.0, 1.1)
    assert config.augment.noise_snr_db == (5.0, 20.0)
    assert all(isinstance(value, float) for value in config.augment.noise_snr_db)
    assert config.optim.lr == 0.0005
    assert config.train == ExperimentConfig().train  # untouched sections keep their defaults


def test_empty_yaml_file_gives_defaults(tmp_path):
    assert load_config(write_yaml(tmp_path, "")) == ExperimentConfig()


def test_set_override_gives_a_float(tmp_path):
    config = load_config(write_yaml(tmp_path, "optim:\n  lr: 0.1\n"), ["optim.lr=3e-4"])
    assert isinstance(config.optim.lr, float)
    assert config.optim.lr == 3e-4


@pytest.mark.parametrize("text", ["1e-3", "1E-3", "+1e-3", "1.0e-3", "0.001"])
def test_exponent_notation_is_a_float_in_files_and_overrides(tmp_path, text):
    assert load_config(write_yaml(tmp_path, f"optim:\n  lr: {text}\n")).optim.lr == 1e-3
    assert from_dict(apply_overrides({}, [f"optim.lr={text}"])).optim.lr == 1e-3


def test_integer_for_a_float_field_becomes_a_float():
    config = from_dict({"optim": {"lr": 1}})
    assert config.optim.lr == 1.0 and isinstance(config.optim.lr, float)


def test_overrides_of_several_types():
    data = apply_overrides({"model": {"hidden_size": 64}}, [
        "model.cell=gru", "model.bidirectional=false", "augment.speed_factors=[0.9, 1.1]", "train.max_steps=10",
    ])
    config = from_dict(data)
    assert config.model == ModelConfig(cell="gru", hidden_size=64, bidirectional=False)
    assert config.augment.speed_factors == (0.9, 1.1)
    assert config.train.max_steps == 10


def test_apply_overrides_does_not_modify_its_input():
    data = {"optim": {"lr": 0.1}}
    merged = apply_overrides(data, ["optim.lr=0.2"])
    assert data == {"optim": {"lr": 0.1}}
    assert merged == {"optim": {"lr": 0.2}}


def test_later_override_wins():
    assert from_dict(apply_overrides({}, ["optim.lr=0.1", "optim.lr=0.2"])).optim.lr == 0.2


def test_unknown_field_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.hiden_size: unknown field") as caught:
        load_config(write_yaml(tmp_path, "model:\n  hidden_size: 8\n"), ["model.hiden_size=128"])
    assert "hidden_size" in str(caught.value)  # the known fields are listed as a hint
    assert "experiment.yaml" in str(caught.value)  # and the file is named


def test_unknown_section_is_named():
    with pytest.raises(ConfigError, match="optimiser"):
        from_dict({"optimiser": {"lr": 0.1}})


@pytest.mark.parametrize(("data", "field_name"), [
    ({"model": {"hidden_size": "big"}}, "model.hidden_size"),
    ({"model": {"hidden_size": 2.5}}, "model.hidden_size"),
    ({"model": {"hidden_size": True}}, "model.hidden_size"),
    ({"model": {"bidirectional": 1}}, "model.bidirectional"),
    ({"optim": {"lr": "fast"}}, "optim.lr"),
    ({"optim": {"lr": False}}, "optim.lr"),
    ({"data": {"train_manifest": 3}}, "data.train_manifest"),
    ({"augment": {"speed_factors": 1.1}}, "augment.speed_factors"),
    ({"augment": {"noise_snr_db": [1, 2, 3]}}, "augment.noise_snr_db"),
    ({"augment": {"speed_factors": [0.9, "x"]}}, "augment.speed_factors"),
    ({"model": 3}, "model"),
])
def test_wrong_type_names_the_field(data, field_name):
    with pytest.raises(ConfigError, match=f"^{field_name}: "):
        from_dict(data)


def test_literal_violation_names_the_allowed_values():
    with pytest.raises(ConfigError, match=r"model\.cell: 'lstmx' is not one of") as caught:
        from_dict(apply_overrides({}, ["model.cell=lstmx"]))
    for allowed in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
        assert f"'{allowed}'" in str(caught.value)


@pytest.mark.parametrize("override", ["lr=3e-4", "optim_lr=0.1", "optim.lr", "=3"])
def test_override_without_section_dot_or_equals_is_rejected(override):
    with pytest.raises(ConfigError, match="section.field=value"):
        apply_overrides({}, [override])


def test_override_into_a_non_section_is_rejected():
    with pytest.raises(ConfigError, match="not a section"):
        apply_overrides({"optim": 3}, ["optim.lr=0.1"])


def test_override_with_invalid_yaml_is_rejected():
    with pytest.raises(ConfigError, match="not valid YAML"):
        apply_overrides({}, ["augment.speed_factors=[0.9, 1.1"])


def test_identity_init_with_lstm_is_rejected():
    with pytest.raises(ConfigError, match="model.identity_init"):
        from_dict({"model": {"cell": "lstm", "identity_init": True}})
    assert from_dict({"model": {"cell": "rnn_relu", "identity_init": True}}).model.identity_init


@pytest.mark.parametrize(("data", "field_name"), [
    ({"model": {"name": "transformer"}}, "model.name"),
    ({"model": {"dropout": 1.0}}, "model.dropout"),
    ({"model": {"conv_stride": 2}}, "model.conv_stride"),
    ({"features": {"sample_rate": 2000}}, "features.sample_rate"),
    ({"features": {"num_mels": 10, "num_mfcc": 13}}, "features.num_mels"),
    ({"augment": {"speed_factors": [0.4]}}, "augment.speed_factors"),
    ({"augment": {"noise_snr_db": [30, 10]}}, "augment.noise_snr_db"),
    ({"data": {"normalizer": "lowercase"}}, "data.normalizer"),
    ({"optim": {"lr": 0}}, "optim.lr"),
    ({"train": {"max_epochs": 0}}, "train.max_epochs"),
])
def test_invalid_values_name_the_field(data, field_name):
    with pytest.raises(ConfigError, match=f"^{field_name}: "):
        from_dict(data)


def test_to_dict_from_dict_round_trip():
    config = from_dict({
        "features": {"kind": "fbank", "deltas": False, "normalize": "global"},
        "augment": {"speed_factors": [0.9, 1.1], "freq_masks": 2, "gain_db": [-6, 6]},
        "model": {"cell": "rnn_tanh", "identity_init": True, "conv_channels": 32, "conv_stride": 2},
        "optim": {"optimizer": "sgd", "lr": 3e-4, "schedule": "constant"},
        "train": {"seed": 7, "device": "cpu"},
    })
    plain = config.to_dict()
    assert from_dict(plain) == config
    assert plain["augment"]["speed_factors"] == [0.9, 1.1]  # lists, not tuples
    assert from_dict(yaml.safe_load(yaml.safe_dump(plain))) == config  # through YAML text too
    assert ExperimentConfig().replace(optim=OptimConfig(lr=3e-4)).optim.lr == 3e-4
    assert from_dict(ExperimentConfig().to_dict()) == ExperimentConfig()
    assert AugmentConfig().speed_factors == ()


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.yaml"):
        load_config(tmp_path / "absent.yaml")


def test_config_file_that_is_not_a_mapping(tmp_path):
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write_yaml(tmp_path, "- a\n- b\n"))


def test_config_file_that_is_not_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write_yaml(tmp_path, "model: [unclosed\n"))


def test_base_file_supplies_the_sections_a_variant_leaves_out(tmp_path):
    (tmp_path / "base.yaml").write_text("model:\n  cell: gru\n  hidden_size: 64\noptim:\n  lr: 0.01\n")
    (tmp_path / "variant.yaml").write_text("base: base.yaml\nmodel:\n  cell: lstm\n")
    config = load_config(tmp_path / "variant.yaml")
    assert (config.model.cell, config.model.hidden_size, config.optim.lr) == ("lstm", 64, 0.01)


def test_base_files_that_form_a_cycle_are_rejected(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.yaml")


def test_yaml_that_asks_to_run_code_is_refused_not_run(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.yaml"
    path.write_text(f"train: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    assert not marker.exists()
