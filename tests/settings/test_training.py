"""TrainingConfig: construction as Ptychodus does it, every rule, optimiser and scheduler."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from ptycho_settings import ModelConfig, TrainingConfig


def test_flat_keyword_construction_as_ptychodus_does_it():
    config = TrainingConfig(
        model=ModelConfig(N=128),
        nphotons=1e6,
        n_groups=512,
        train_data_file=Path("placeholder.npz"),
    )
    assert (config.model.N, config.nphotons, config.n_groups) == (128, 1e6, 512)


def test_placeholder_paths_are_not_checked():
    assert (
        TrainingConfig(train_data_file=Path("/nowhere/at/all.npz")).train_data_file.name
        == "all.npz"
    )


def test_defaults():
    config = TrainingConfig()
    assert (config.batch_size, config.nepochs, config.n_groups, config.nphotons) == (
        16,
        50,
        512,
        1e9,
    )
    assert (config.nll_weight, config.mae_weight, config.neighbor_count) == (1.0, 0.0, 4)
    assert config.intensity_scale_trainable and config.positions_provided
    assert config.output_dir == Path("training_outputs")
    assert (config.learning_rate, config.optimizer, config.scheduler) == (1e-3, "adam", "none")


@pytest.mark.parametrize("batch_size", [3, 12, 0, -4])
def test_batch_size_must_be_a_power_of_two(batch_size):
    with pytest.raises(ValidationError, match="power of two"):
        TrainingConfig(batch_size=batch_size)


@pytest.mark.parametrize(
    "field", ["nll_weight", "mae_weight", "realspace_weight", "realspace_mae_weight"]
)
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_loss_weights_lie_in_the_unit_interval(field, value):
    with pytest.raises(ValidationError, match=field):
        TrainingConfig(**{field: value})


def test_nphotons_must_be_positive():
    with pytest.raises(ValidationError, match="nphotons"):
        TrainingConfig(nphotons=0)


def test_nepochs_must_be_positive():
    with pytest.raises(ValidationError, match="nepochs"):
        TrainingConfig(nepochs=0)


def test_realspace_mae_needs_realspace_weight():
    with pytest.raises(ValidationError, match="realspace_weight"):
        TrainingConfig(realspace_mae_weight=0.5)
    assert (
        TrainingConfig(realspace_mae_weight=0.5, realspace_weight=0.1).realspace_mae_weight == 0.5
    )


def test_realspace_weight_needs_realspace_mae_weight():
    # the branch is realspace_weight × realspace_mae_weight × MAE: one alone does nothing
    with pytest.raises(ValidationError, match="realspace_mae_weight"):
        TrainingConfig(realspace_weight=0.5)


def test_all_zero_loss_weights_are_refused():
    with pytest.raises(ValidationError, match="nothing to train"):
        TrainingConfig(nll_weight=0)


def test_neighbor_count_must_cover_the_group():
    with pytest.raises(ValidationError, match="neighbor_count=6 cannot form groups of gridsize²=9"):
        TrainingConfig(model=ModelConfig(gridsize=3), neighbor_count=6)
    assert TrainingConfig(model=ModelConfig(gridsize=2), neighbor_count=4).neighbor_count == 4


def test_oversampling_needs_gridsize_above_one():
    with pytest.raises(ValidationError, match="gridsize > 1"):
        TrainingConfig(enable_oversampling=True)


def test_oversampling_needs_a_large_enough_pool():
    with pytest.raises(ValidationError, match="pool"):
        TrainingConfig(
            model=ModelConfig(gridsize=2),
            neighbor_count=4,
            neighbor_pool_size=3,
            enable_oversampling=True,
        )
    config = TrainingConfig(
        model=ModelConfig(gridsize=2),
        neighbor_count=4,
        neighbor_pool_size=7,
        enable_oversampling=True,
    )
    assert config.neighbor_pool_size == 7


@pytest.mark.parametrize(
    "old,new",
    [
        ("Default", "none"),
        ("Exponential", "exponential"),
        ("WarmupCosine", "warmup-cosine"),
        ("ReduceLROnPlateau", "plateau"),
    ],
)
def test_upstream_scheduler_spellings(old, new):
    with pytest.warns(DeprecationWarning):
        assert TrainingConfig(scheduler=old).scheduler == new


def test_unknown_scheduler_is_refused():
    with pytest.raises(ValidationError, match="scheduler"):
        TrainingConfig(scheduler="cosine")


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_optimizers(optimizer):
    assert TrainingConfig(optimizer=optimizer).optimizer == optimizer


def test_warmup_must_leave_epochs_for_decay():
    with pytest.raises(ValidationError, match="lr_warmup_epochs"):
        TrainingConfig(scheduler="warmup-cosine", lr_warmup_epochs=5, nepochs=5)


def test_learning_rate_must_be_positive():
    with pytest.raises(ValidationError, match="learning_rate"):
        TrainingConfig(learning_rate=0)


def test_execution_keys_point_to_the_execution_settings():
    with pytest.raises(ValidationError, match="execution setting.*PTYCHO_GRADIENT_CLIP_VAL"):
        TrainingConfig(gradient_clip_val=1.0)


def test_unknown_field_is_refused():
    with pytest.raises(ValidationError, match="Extra inputs"):
        TrainingConfig(n_epochs=3)
