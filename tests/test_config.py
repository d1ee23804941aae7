from pathlib import Path

import pytest
import yaml

from antispoof.config import (
    ConfigError,
    ExperimentConfig,
    config_to_yaml,
    iter_fields,
    load_config,
    parse_override,
)

BASE_YAML = Path(__file__).resolve().parents[1] / "src" / "antispoof" / "configs" / "base.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_defaults_without_a_file():
    cfg = load_config(ExperimentConfig)
    assert cfg.seed == 0 and cfg.train.lr == pytest.approx(1e-3) and cfg.data.dataset == "synthetic"


def test_documented_base_yaml_matches_the_schema_defaults():
    # base.yaml documents every key; it must load and equal the schema's defaults.
    assert load_config(ExperimentConfig, BASE_YAML) == ExperimentConfig()
    documented = yaml.safe_load(BASE_YAML.read_text())
    flat = {f"{s}.{k}" for s, v in documented.items() if isinstance(v, dict) for k in v}
    flat |= {k for k, v in documented.items() if not isinstance(v, dict)}
    assert flat == {key for key, *_ in iter_fields(ExperimentConfig)}


def test_yaml_file_then_overrides(tmp_path):
    path = write(tmp_path, "seed: 3\ntrain:\n  lr: 0.5\n  batch_size: 8\n")
    cfg = load_config(ExperimentConfig, path, ["train.lr=0.01", "data.root=/data/oulu", "model.weights=null"])
    assert cfg.seed == 3
    assert cfg.train.lr == pytest.approx(0.01)
    assert cfg.train.batch_size == 8
    assert cfg.data.root == Path("/data/oulu")
    assert cfg.model.weights is None


@pytest.mark.parametrize(
    "item, expected",
    [
        ("train.lr=0.01", ("train.lr", 0.01)),
        ("seed=7", ("seed", 7)),
        ("data.protocol=Protocol_1", ("data.protocol", "Protocol_1")),
        ("data.root=null", ("data.root", None)),
        ("flag=true", ("flag", True)),
        ("name=a=b", ("name", "a=b")),
        ("list=[1, 2]", ("list", [1, 2])),
        ("code=__import__('os')", ("code", "__import__('os')")),  # a string, never evaluated
    ],
)
def test_parse_override(item, expected):
    assert parse_override(item) == expected


@pytest.mark.parametrize("item", ["train.lr", "=3", ""])
def test_malformed_override(item):
    with pytest.raises(ConfigError, match="is not key=value"):
        parse_override(item)


def test_unknown_key_suggests_close_match_with_default():
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, overrides=["train.lrr=0.1"])
    assert str(info.value).startswith("unknown key train.lrr; did you mean train.lr (default 0.001)?")


def test_unknown_key_in_file_and_misspelt_section(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key trian\.lr; did you mean train\.lr"):
        load_config(ExperimentConfig, write(tmp_path, "trian:\n  lr: 0.1\n"))
    with pytest.raises(ConfigError, match=r"unknown key sed; did you mean seed \(default 0\)"):
        load_config(ExperimentConfig, overrides=["sed=1"])


def test_unknown_key_without_match_points_to_the_key_list():
    with pytest.raises(ConfigError, match=r"unknown key qqqq\. See all keys with `antispoof config keys`"):
        load_config(ExperimentConfig, overrides=["qqqq=1"])


def test_wrong_type_names_key_value_and_expected_type():
    with pytest.raises(ConfigError) as info:
        load_config(ExperimentConfig, overrides=["train.lr=fast"])
    message = str(info.value)
    assert "train.lr: got 'fast' (str); expected float" in message
    assert "e.g. train.lr=0.001" in message


def test_out_of_range_value_is_refused():
    with pytest.raises(ConfigError, match=r"train\.batch_size: got 0 \(int\); expected int .*greater than or equal to 1"):
        load_config(ExperimentConfig, overrides=["train.batch_size=0"])


def test_setting_a_value_as_a_section_is_refused():
    with pytest.raises(ConfigError, match="seed is a value, not a section"):
        load_config(ExperimentConfig, overrides=["seed=1", "seed.x=2"])


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(ExperimentConfig, tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(ExperimentConfig, write(tmp_path, "seed: [1\n"))
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(ExperimentConfig, write(tmp_path, "- 1\n- 2\n"))


def test_yaml_round_trip(tmp_path):
    cfg = load_config(ExperimentConfig, overrides=["seed=5", "data.root=/x", "train.lr=0.02"])
    again = load_config(ExperimentConfig, write(tmp_path, config_to_yaml(cfg)))
    assert again == cfg


def test_every_field_has_a_meaning():
    for key, _, _, description in iter_fields(ExperimentConfig):
        assert description, f"{key} has no description"


def test_loader_workers_default_to_a_share_of_the_cores():
    from antispoof.methods import load_method_config
    from antispoof.training.datamodule import auto_workers

    for name in ("entry", "lgsc", "pdle", "multimodal", "sequence", "distill"):
        assert load_method_config(name, []).train.num_workers == "auto", name
    assert load_method_config("quickstart", []).train.num_workers == 0  # the quickstarts' CPU departure
    assert load_method_config("entry", ["train.num_workers=3"]).train.num_workers == 3
    with pytest.raises(ConfigError, match="num_workers"):
        load_method_config("entry", ["train.num_workers=-1"])
    # one process on 16 cores leaves one core to the training loop; 4 processes on a machine share them; at most 8
    assert (auto_workers(1, cores=16), auto_workers(4, cores=16), auto_workers(1, cores=64), auto_workers(2, cores=2)) == (8, 3, 8, 0)
    assert auto_workers(1, cores=4) == 3 and auto_workers(1, cores=1) == 0
