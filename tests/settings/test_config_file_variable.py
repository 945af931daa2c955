"""``PTYCHO_CONFIG_FILE``: the settings file named by the environment (containers)."""

import json

import pytest

from ptycho_settings import SettingsError, create_training_config
from ptycho_settings.environment import read_environment
from tests.conftest import write_npz


def test_the_variable_names_the_file_and_the_file_keeps_its_place_in_the_precedence(tmp_path, env):
    data = write_npz(tmp_path / "scan.npz")
    settings = tmp_path / "run.json"
    settings.write_text(json.dumps({"training": {"nepochs": 7, "n_groups": 32}}))
    env(PTYCHO_CONFIG_FILE=str(settings), PTYCHO_N_GROUPS="16", PTYCHO_TRAIN_DATA_FILE=str(data))
    resolved = create_training_config()
    assert resolved.config.nepochs == 7 and resolved.source("training.nepochs").kind == "file"
    assert resolved.config.n_groups == 16  # the environment beats the file


def test_an_explicit_config_file_wins_over_the_variable(tmp_path, env):
    data = write_npz(tmp_path / "scan.npz")
    (tmp_path / "a.json").write_text(json.dumps({"training": {"nepochs": 3}}))
    (tmp_path / "b.json").write_text(json.dumps({"training": {"nepochs": 4}}))
    env(PTYCHO_CONFIG_FILE=str(tmp_path / "a.json"))
    config = create_training_config(tmp_path / "b.json", overrides={"train_data_file": data}).config
    assert config.nepochs == 4


def test_a_missing_file_names_the_variable(tmp_path, env):
    env(PTYCHO_CONFIG_FILE=str(tmp_path / "gone.json"))
    with pytest.raises(SettingsError, match=r"PTYCHO_CONFIG_FILE=.*gone.json.*does not exist"):
        create_training_config(check_files=False)


def test_the_variable_is_not_read_as_a_setting():
    assert read_environment({"PTYCHO_CONFIG_FILE": "x.json"}, mode="training") == {}
