"""Deprecated spellings and the upstream ptycho_torch vocabulary: every alias and conflict."""

import warnings

import pytest
from pydantic import ValidationError

from ptycho_settings import InferenceConfig, ModelConfig, PyTorchExecutionConfig, TrainingConfig
from ptycho_settings.migrate import migrate_upstream


@pytest.mark.parametrize(
    "kwargs,field,expected",
    [
        ({"n_images": 64}, "n_groups", 64),
        ({"max_epochs": 7}, "nepochs", 7),
        ({"epochs": 8}, "nepochs", 8),
        ({"K": 6}, "neighbor_count", 6),
        ({"nll": True}, "nll_weight", 1.0),
    ],
)
def test_training_aliases(kwargs, field, expected):
    with pytest.warns(DeprecationWarning, match=f"use `{field}`"):
        config = TrainingConfig(**kwargs)
    assert getattr(config, field) == expected


def test_nll_false_turns_the_likelihood_off():
    with pytest.warns(DeprecationWarning):
        config = TrainingConfig(nll=False, mae_weight=1.0)
    assert config.nll_weight == 0.0


@pytest.mark.parametrize(
    "kwargs,field,expected",
    [
        ({"grid_size": (2, 2)}, "gridsize", 2),
        ({"grid_size": [3, 3]}, "gridsize", 3),
        ({"mode": "Unsupervised"}, "model_type", "pinn"),
        ({"mode": "Supervised"}, "model_type", "supervised"),
        ({"model_type": "Unsupervised"}, "model_type", "pinn"),
    ],
)
def test_model_aliases(kwargs, field, expected):
    with pytest.warns(DeprecationWarning):
        assert getattr(ModelConfig(**kwargs), field) == expected


def test_non_square_grid_is_an_error():
    with pytest.raises(ValidationError, match="not a square grid"):
        ModelConfig(grid_size=(2, 3))


def test_unknown_mode_is_an_error():
    with pytest.raises(ValidationError, match="Unsupervised"):
        ModelConfig(mode="InvalidMode")


@pytest.mark.parametrize("device,accelerator", [("cpu", "cpu"), ("cuda", "gpu")])
def test_device_maps_to_accelerator(device, accelerator):
    with pytest.warns(DeprecationWarning, match="accelerator"):
        assert PyTorchExecutionConfig.from_values({"device": device}).accelerator == accelerator


def test_disable_mlflow_turns_logging_off():
    with pytest.warns(DeprecationWarning):
        assert PyTorchExecutionConfig.from_values({"disable_mlflow": True}).logger == "none"
    with pytest.warns(DeprecationWarning):
        assert PyTorchExecutionConfig.from_values({"disable_mlflow": False}).logger == "csv"


def test_two_spellings_with_different_values_conflict():
    # The error alone, no deprecation warning: the CLI prints a refusal as exactly one line.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        with pytest.raises(ValidationError, match="n_groups is given twice"):
            TrainingConfig(n_groups=512, n_images=256)


def test_two_spellings_with_the_same_value_are_accepted():
    with pytest.warns(DeprecationWarning):
        assert TrainingConfig(nepochs=5, max_epochs=5).nepochs == 5


def test_inference_aliases():
    with pytest.warns(DeprecationWarning):
        config = InferenceConfig(model_path="m", test_data_file="t", n_images=3, K=5)
    assert (config.n_groups, config.neighbor_count) == (3, 5)


def test_migrate_upstream_layout():
    old = {
        "data_config": {
            "N": 128,
            "grid_size": [2, 2],
            "K": 6,
            "nphotons": 1e5,
            "C": 4,
            "n_subsample": 7,
        },
        "model_config": {"mode": "Unsupervised", "amp_activation": "silu", "object_big": True},
        "training_config": {
            "epochs": 20,
            "batch_size": 32,
            "nll": True,
            "device": "cuda",
            "strategy": "ddp",
            "orchestrator": "Mlflow",
        },
        "inference_config": {"batch_size": 1000},
    }
    sections, unmapped = migrate_upstream(old)
    assert sections["model"] == {
        "N": 128,
        "gridsize": 2,
        "model_type": "pinn",
        "amp_activation": "swish",
        "object_big": True,
    }
    assert sections["training"] == {
        "neighbor_count": 6,
        "nphotons": 1e5,
        "nepochs": 20,
        "batch_size": 32,
        "nll_weight": 1.0,
    }
    assert sections["execution"] == {
        "accelerator": "gpu",
        "strategy": "ddp",
        "inference_batch_size": 1000,
    }
    assert unmapped == ["data_config.n_subsample", "training_config.orchestrator"]
