"""Fields kept only for the legacy params dict: the default loads, any other value is refused
with one line that says the field has no effect in this engine and why.
"""

from pathlib import Path

import pytest
from pydantic import ValidationError

from ptycho_settings import InferenceConfig, TrainingConfig, from_legacy_params, to_legacy_params
from ptycho_settings.errors import SettingsError

PATHS = {"model_path": Path("m"), "test_data_file": Path("t.npz")}


@pytest.mark.parametrize(
    ("cls", "field", "value", "why"),
    [
        (TrainingConfig, "positions_provided", False, "positions always come from the data file"),
        (InferenceConfig, "debug", True, "nothing reads it"),
        (InferenceConfig, "n_subsample", 100, "every position of the data file"),
        (InferenceConfig, "neighbor_pool_size", 8, "no oversampling at inference"),
    ],
)
def test_a_field_without_effect_refuses_a_value_other_than_its_default(cls, field, value, why):
    extra = PATHS if cls is InferenceConfig else {}
    default = cls(**extra)
    assert getattr(default, field) == cls.model_fields[field].default  # the default loads
    with pytest.raises(ValidationError) as caught:
        cls(**extra, **{field: value})
    message = caught.value.errors()[0]["msg"]
    assert f"`{field}` has no effect in this engine" in message and why in message
    assert "legacy params dict" in message and "\n" not in message
    assert "legacy params dict" in cls.model_fields[field].description


def test_inference_oversampling_is_refused():
    from ptycho_settings import ModelConfig

    with pytest.raises(ValidationError, match="`enable_oversampling` has no effect"):
        InferenceConfig(**PATHS, model=ModelConfig(gridsize=2), enable_oversampling=True)


def test_a_legacy_dict_with_the_defaults_loads_and_another_value_is_one_line():
    legacy = to_legacy_params(TrainingConfig())
    assert legacy["positions.provided"] is True
    assert from_legacy_params(legacy) == TrainingConfig()
    with pytest.raises(SettingsError) as caught:
        from_legacy_params({**legacy, "positions.provided": False})
    assert "positions_provided" in str(caught.value) and "no effect" in str(caught.value)
