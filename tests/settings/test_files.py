"""Config files: JSON and TOML, sections, flat upstream keys, unknown keys, malformed files."""

import json

import pytest

from ptycho_settings import SettingsError, create_inference_config, create_training_config
from tests.conftest import write_bundle_settings


def test_json_sections(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(
        json.dumps(
            {
                "model": {"N": 128, "gridsize": 2},
                "training": {"batch_size": 32},
                "execution": {"logger": "none"},
            }
        )
    )
    resolved = create_training_config(path, environ={})
    assert (resolved.config.model.N, resolved.config.batch_size, resolved.execution.logger) == (
        128,
        32,
        "none",
    )


def test_toml_sections(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(
        '[model]\nN = 128\n[training]\nnepochs = 3\nnphotons = 1e6\n[execution]\nstrategy = "ddp"\n'
    )
    resolved = create_training_config(path, environ={})
    assert (resolved.config.model.N, resolved.config.nepochs, resolved.execution.strategy) == (
        128,
        3,
        "ddp",
    )
    assert resolved.source("execution.strategy").describe() == "run.toml: execution.strategy"


def test_flat_upstream_keys_including_legacy_dotted_ones(tmp_path):
    path = tmp_path / "flat.json"
    path.write_text(
        json.dumps(
            {
                "N": 128,
                "nepochs": 3,
                "object.big": False,
                "output_prefix": "out",
                "offset": 4,
                "accelerator": "cpu",
            }
        )
    )
    resolved = create_training_config(path, environ={})
    assert resolved.config.model.object_big is False and str(resolved.config.output_dir) == "out"
    assert resolved.execution.accelerator == "cpu"


def test_nested_model_inside_the_run_section(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"training": {"model": {"gridsize": 2}, "nepochs": 2}}))
    assert create_training_config(path, environ={}).config.model.gridsize == 2


def test_inference_section_is_ignored_when_training(tmp_path):
    path = tmp_path / "both.json"
    path.write_text(json.dumps({"training": {"n_groups": 64}, "inference": {"n_groups": 8}}))
    assert create_training_config(path, environ={}).config.n_groups == 64


def test_unknown_key_in_a_section(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"training": {"batchsize": 8}}))
    with pytest.raises(
        SettingsError,
        match=r"run.json: training.batchsize: `batchsize` is not a setting.*batch_size",
    ):
        create_training_config(path, environ={})


def test_key_in_the_wrong_section(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"training": {"N": 128}}))
    with pytest.raises(SettingsError, match="belongs in section `model`"):
        create_training_config(path, environ={})


def test_unknown_flat_key(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"nepochz": 3}))
    with pytest.raises(SettingsError, match="did you mean `nepochs`"):
        create_training_config(path, environ={})


@pytest.mark.parametrize(
    "name,text,kind", [("bad.json", '{"training": ', "JSON"), ("bad.toml", "[model\nN=", "TOML")]
)
def test_malformed_files(tmp_path, name, text, kind):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SettingsError, match=f"not valid {kind}"):
        create_training_config(path, environ={})


def test_top_level_must_be_an_object(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(SettingsError, match="top level"):
        create_training_config(path, environ={})


def test_missing_config_file(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        create_training_config(tmp_path / "none.json", environ={})


def test_upstream_layout_points_to_migrate(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"data_config": {"N": 64}}))
    with pytest.raises(SettingsError, match="ptycho config migrate"):
        create_training_config(path, environ={})


def test_wrong_type_in_a_file(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"training": {"nepochs": "many"}}))
    with pytest.raises(
        SettingsError, match=r"training.nepochs='many' \(from run.json: training.nepochs\)"
    ):
        create_training_config(path, environ={})


def test_inference_file(tmp_path, data_file):
    write_bundle_settings(tmp_path)
    path = tmp_path / "infer.toml"
    path.write_text(
        f'[inference]\nmodel_path = "{tmp_path}"\ntest_data_file = "{data_file}"\nn_groups = 5\n'
    )
    assert create_inference_config(path, environ={}).config.n_groups == 5
