"""``PTYCHO_*`` names: every field has one, short names, unknown names refused."""

import pytest

from ptycho_settings import SettingsError, create_training_config
from ptycho_settings.environment import read_environment
from ptycho_settings.fields import env_name, field_section


def test_every_field_has_a_documented_environment_name():
    for field, section in field_section("any").items():
        found = read_environment({env_name(field): "none"}, mode="any")
        assert field in found[section], field


def test_canonical_fields_are_read_from_the_environment():
    resolved = create_training_config(
        environ={"PTYCHO_N": "128", "PTYCHO_GRIDSIZE": "2", "PTYCHO_OBJECT_BIG": "false"}
    )
    assert (
        resolved.config.model.N,
        resolved.config.model.gridsize,
        resolved.config.model.object_big,
    ) == (128, 2, False)
    assert resolved.source("model.object_big").detail == "PTYCHO_OBJECT_BIG"


def test_short_names_device_and_strategy():
    resolved = create_training_config(environ={"PTYCHO_DEVICE": "cpu", "PTYCHO_STRATEGY": "ddp"})
    assert (resolved.execution.accelerator, resolved.execution.strategy) == ("cpu", "ddp")
    assert resolved.source("execution.accelerator").detail == "PTYCHO_DEVICE"


def test_device_and_accelerator_disagreeing_is_an_error():
    with pytest.raises(SettingsError, match="set twice"):
        create_training_config(environ={"PTYCHO_DEVICE": "cpu", "PTYCHO_ACCELERATOR": "gpu"})


def test_misspelt_variable_suggests_the_closest_name():
    with pytest.raises(
        SettingsError, match="PTYCHO_NEPOCH is not a setting.*did you mean PTYCHO_NEPOCHS"
    ):
        create_training_config(environ={"PTYCHO_NEPOCH": "3"})


def test_unrelated_variables_are_ignored():
    assert (
        create_training_config(
            environ={"HOME": "/root", "PL_TRAINER_DEVICES": "8"}
        ).execution.devices
        == 1
    )


def test_bad_value_names_the_variable():
    with pytest.raises(
        SettingsError, match=r"execution.num_workers='many' \(from PTYCHO_NUM_WORKERS\)"
    ):
        create_training_config(environ={"PTYCHO_NUM_WORKERS": "many"})
