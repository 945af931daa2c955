"""ModelConfig: defaults, rules on construction, frozen, no filesystem or environment."""

import pytest
from pydantic import ValidationError

from ptycho_settings import ModelConfig


def test_defaults_are_the_dataclass_defaults():
    model = ModelConfig()
    assert (model.N, model.gridsize, model.n_filters_scale) == (64, 1, 1)
    assert (model.model_type, model.amp_activation) == ("pinn", "sigmoid")
    assert (model.object_big, model.probe_big, model.probe_mask, model.pad_object) == (
        True,
        True,
        False,
        True,
    )
    assert (model.probe_scale, model.gaussian_smoothing_sigma) == (4.0, 0.0)


@pytest.mark.parametrize("N", [64, 128, 256])
def test_supported_patch_sizes(N):
    assert ModelConfig(N=N).N == N


@pytest.mark.parametrize("N", [32, 100, 512, -64])
def test_other_patch_sizes_are_refused(N):
    # N=0 is accepted: "from the data's probe", as Ptychodus builds its settings
    # (tests/engine/ptychodus/test_settings_as_ptychodus_builds_them.py)
    with pytest.raises(ValidationError, match="64, 128 or 256"):
        ModelConfig(N=N)


def test_patch_size_from_text():
    assert ModelConfig(N="128").N == 128


@pytest.mark.parametrize(
    "field,value",
    [
        ("gridsize", 0),
        ("n_filters_scale", 0),
        ("probe_scale", 0.0),
        ("gaussian_smoothing_sigma", -1),
    ],
)
def test_out_of_range_values_are_refused(field, value):
    with pytest.raises(ValidationError, match=field):
        ModelConfig(**{field: value})


def test_unknown_field_is_refused():
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ModelConfig(gridsise=2)


def test_frozen():
    model = ModelConfig()
    with pytest.raises(ValidationError, match="frozen"):
        model.N = 128


def test_channel_count_is_gridsize_squared():
    assert ModelConfig(gridsize=3).C == 9


def test_silu_is_an_old_spelling_of_swish():
    with pytest.warns(DeprecationWarning, match="swish"):
        assert ModelConfig(amp_activation="silu").amp_activation == "swish"
    with pytest.warns(DeprecationWarning):
        assert ModelConfig(amp_activation="SiLU").amp_activation == "swish"


def test_unknown_activation_is_refused():
    with pytest.raises(ValidationError, match="sigmoid"):
        ModelConfig(amp_activation="gelu")
