"""The legacy params dict: key table, skip-None updates, the upstream baseline scenario, round trips."""

from pathlib import Path

import pytest

from ptycho_settings import (
    InferenceConfig,
    ModelConfig,
    SettingsError,
    TrainingConfig,
    from_legacy_params,
    to_legacy_params,
    update_legacy_dict,
)


def _baseline_configs():
    # Upstream's "Baseline test" with gridsize 2: gridsize 3 cannot form groups from 6 neighbours.
    model = ModelConfig(
        N=128,
        gridsize=2,
        model_type="pinn",
        amp_activation="swish",
        n_filters_scale=2,
        object_big=False,
        probe_big=False,
        probe_mask=True,
        pad_object=False,
        probe_scale=2.0,
        gaussian_smoothing_sigma=0.5,
    )
    training = TrainingConfig(
        model=model,
        train_data_file=Path("/canonical/baseline/train_data.npz"),
        test_data_file=Path("/canonical/baseline/test_data.npz"),
        n_groups=1024,
        n_subsample=2048,
        subsample_seed=42,
        output_dir=Path("/canonical/baseline/training_outputs"),
        mae_weight=0.3,
        nll_weight=0.7,
        realspace_mae_weight=0.05,
        realspace_weight=0.1,
        probe_trainable=True,
        sequential_sampling=True,
        nphotons=5e8,
        batch_size=32,
        nepochs=100,
        neighbor_count=6,
        intensity_scale_trainable=True,
    )
    inference = InferenceConfig(
        model=model,
        model_path=Path("/canonical/baseline/model_directory"),
        test_data_file=Path("/canonical/baseline/inference_data.npz"),
        n_groups=512,
        subsample_seed=99,
        output_dir=Path("/canonical/baseline/inference_outputs"),
        neighbor_count=6,
    )
    return training, inference


BASELINE = {
    "N": 128,
    "gridsize": 2,
    "model_type": "pinn",
    "amp_activation": "swish",
    "n_filters_scale": 2,
    "object.big": False,
    "probe.big": False,
    "probe.mask": True,
    "pad_object": False,
    "probe_scale": 2.0,
    "gaussian_smoothing_sigma": 0.5,
    "batch_size": 32,
    "nepochs": 100,
    "mae_weight": 0.3,
    "nll_weight": 0.7,
    "realspace_mae_weight": 0.05,
    "realspace_weight": 0.1,
    "nphotons": 5e8,
    "neighbor_count": 6,
    "n_groups": 512,
    "n_subsample": 2048,  # the training value survives: inference refuses one (no effect)
    "subsample_seed": 99,
    "sequential_sampling": True,
    "positions.provided": True,  # false is refused: it has no effect in this engine
    "probe.trainable": True,
    "intensity_scale.trainable": True,
    "debug": False,  # true is refused: it has no effect in this engine
    "model_path": "/canonical/baseline/model_directory",
    "output_prefix": "/canonical/baseline/inference_outputs",
    "train_data_file_path": "/canonical/baseline/train_data.npz",
    "test_data_file_path": "/canonical/baseline/inference_data.npz",
}


@pytest.mark.parametrize("key", sorted(BASELINE))
def test_baseline_scenario_key_by_key(key):
    training, inference = _baseline_configs()
    cfg: dict = {}
    update_legacy_dict(cfg, training)
    update_legacy_dict(cfg, inference)
    assert cfg[key] == BASELINE[key]


def test_baseline_with_gridsize_three_is_refused():
    with pytest.raises(ValueError, match="neighbor_count=6 cannot form groups of gridsize²=9"):
        TrainingConfig(model=ModelConfig(gridsize=3), neighbor_count=6)


def test_key_table():
    legacy = to_legacy_params(
        TrainingConfig(train_data_file=Path("a.npz"), test_data_file=Path("b.npz"))
    )
    for field in (
        "object_big",
        "probe_big",
        "probe_mask",
        "probe_trainable",
        "intensity_scale_trainable",
        "positions_provided",
        "output_dir",
        "train_data_file",
        "test_data_file",
    ):
        assert field not in legacy
    assert legacy["train_data_file_path"] == "a.npz" and legacy["test_data_file_path"] == "b.npz"
    assert legacy["object.big"] is True and legacy["output_prefix"] == "training_outputs"


def test_paths_are_strings():
    legacy = to_legacy_params(InferenceConfig(model_path=Path("m"), test_data_file=Path("t.npz")))
    assert legacy["model_path"] == "m" and isinstance(legacy["test_data_file_path"], str)


def test_execution_settings_never_appear():
    legacy = to_legacy_params(TrainingConfig())
    assert not {"accelerator", "strategy", "devices", "precision", "seed", "logger"} & set(legacy)


def test_update_skips_none_so_stale_values_survive():
    cfg = {"n_subsample": 100}
    update_legacy_dict(cfg, TrainingConfig())
    assert cfg["n_subsample"] == 100


@pytest.mark.parametrize(
    "config",
    [
        TrainingConfig(),
        TrainingConfig(
            model=ModelConfig(N=256, gridsize=2, object_big=False),
            n_groups=9,
            n_subsample=30,
            subsample_seed=1,
            scheduler="plateau",
            train_data_file=Path("x.npz"),
        ),
        InferenceConfig(model_path=Path("m"), test_data_file=Path("t.npz"), n_groups=4),
    ],
)
def test_round_trip(config):
    assert from_legacy_params(to_legacy_params(config)) == config


def test_reads_an_upstream_dict_with_legacy_only_keys():
    upstream = {
        **to_legacy_params(TrainingConfig()),
        "offset": 4,
        "intensity_scale": 123.0,
        "_version": "2.0-pytorch",
        "scheduler": "Default",
        "gradient_clip_val": None,
    }
    with pytest.warns(DeprecationWarning):
        assert from_legacy_params(upstream) == TrainingConfig()


def test_unknown_legacy_key_is_refused():
    with pytest.raises(SettingsError, match="`nepoch`.*did you mean `nepochs`"):
        from_legacy_params({"nepoch": 3})


def test_invalid_legacy_value_names_the_field():
    with pytest.raises(SettingsError, match="model.N=100"):
        from_legacy_params({"N": 100})
