"""InferenceConfig: required paths without filesystem access, sampling rules, deprecated spellings."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from ptycho_settings import InferenceConfig, ModelConfig


def test_placeholder_paths_as_ptychodus_passes_them():
    config = InferenceConfig(model=ModelConfig(), model_path=Path(), test_data_file=Path())
    assert config.model_path == Path() and config.n_groups is None


def test_model_path_and_data_are_required():
    with pytest.raises(ValidationError, match="model_path"):
        InferenceConfig(test_data_file=Path("x.npz"))


def test_defaults():
    config = InferenceConfig(model_path=Path("m"), test_data_file=Path("t.npz"))
    assert (config.output_dir, config.debug, config.neighbor_count) == (
        Path("inference_outputs"),
        False,
        4,
    )


def test_n_images_maps_to_n_groups_with_a_warning():
    with pytest.warns(DeprecationWarning, match="n_images"):
        config = InferenceConfig(model_path=Path("m"), test_data_file=Path("t"), n_images=64)
    assert config.n_groups == 64


def test_phase_range_must_be_ordered():
    with pytest.raises(ValidationError, match="phase_vmin"):
        InferenceConfig(model_path=Path("m"), test_data_file=Path("t"), phase_vmin=1, phase_vmax=-1)


def test_neighbor_rule_applies_to_inference_too():
    with pytest.raises(ValidationError, match="neighbor_count"):
        InferenceConfig(
            model=ModelConfig(gridsize=2),
            model_path=Path("m"),
            test_data_file=Path("t"),
            neighbor_count=3,
        )
