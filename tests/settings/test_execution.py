"""PyTorchExecutionConfig: environment, short names, Lightning's vocabulary, cross-field rules."""

import pytest
from pydantic import ValidationError

from ptycho_settings import PyTorchExecutionConfig, SettingsError


def test_defaults():
    config = PyTorchExecutionConfig()
    assert (config.accelerator, config.strategy, config.devices, config.precision) == (
        "auto",
        "auto",
        1,
        "32-true",
    )
    assert (config.logger, config.num_workers, config.checkpoint_save_top_k) == ("csv", 0, 1)


def test_reads_ptycho_variables(env):
    env(PTYCHO_STRATEGY="ddp", PTYCHO_DEVICES="2", PTYCHO_PRECISION="bf16-mixed")
    config = PyTorchExecutionConfig()
    assert (config.strategy, config.devices, config.precision) == ("ddp", 2, "bf16-mixed")


def test_ptycho_device_is_the_short_name_of_accelerator(env):
    env(PTYCHO_DEVICE="cuda")
    assert PyTorchExecutionConfig().accelerator == "cuda"


def test_keyword_beats_environment(env):
    env(PTYCHO_STRATEGY="ddp")
    assert PyTorchExecutionConfig(strategy="auto").strategy == "auto"


def test_misspelt_variable_is_an_error_with_a_suggestion(env):
    env(PTYCHO_STRATEGYY="ddp")
    with pytest.raises(SettingsError, match="PTYCHO_STRATEGYY.*did you mean PTYCHO_STRATEGY"):
        PyTorchExecutionConfig()


def test_from_values_ignores_the_environment(env):
    env(PTYCHO_SEED="7")
    assert PyTorchExecutionConfig.from_values({}).seed == 42


def test_every_lightning_strategy_name_is_accepted_and_no_other():
    from typing import get_args

    from lightning.pytorch.strategies import StrategyRegistry

    from ptycho_settings.execution_fields import Strategy

    ours = set(get_args(Strategy)) - {"auto"}
    theirs = set(StrategyRegistry.available_strategies())
    assert ours <= theirs
    missing = theirs - ours
    assert all(name.startswith(("xla", "single_xla", "single_tpu")) for name in missing), missing


def test_precision_values_are_lightning_values():
    from typing import get_args

    from lightning.fabric.connector import _PRECISION_INPUT_STR

    from ptycho_settings.execution_fields import Precision

    assert set(get_args(Precision)) <= set(get_args(_PRECISION_INPUT_STR))


@pytest.mark.parametrize(
    "short,long", [("32", "32-true"), ("16", "16-mixed"), ("bf16", "bf16-mixed")]
)
def test_short_precision_forms(short, long):
    assert PyTorchExecutionConfig(precision=short, accelerator="gpu").precision == long


def test_tpu_is_refused_clearly():
    with pytest.raises(ValidationError, match="TPU"):
        PyTorchExecutionConfig(accelerator="tpu")


def test_ddp_with_mps_is_refused():
    with pytest.raises(ValidationError, match="MPS"):
        PyTorchExecutionConfig(accelerator="mps", strategy="ddp")


def test_half_precision_on_cpu_is_refused():
    with pytest.raises(ValidationError, match="CPU"):
        PyTorchExecutionConfig(accelerator="cpu", precision="16-mixed")
    assert (
        PyTorchExecutionConfig(accelerator="cpu", precision="bf16-mixed").precision == "bf16-mixed"
    )


def test_persistent_workers_need_workers():
    with pytest.raises(ValidationError, match="num_workers > 0"):
        PyTorchExecutionConfig(persistent_workers=True)
    assert PyTorchExecutionConfig(persistent_workers=True, num_workers=2).persistent_workers


def test_prefetch_factor_needs_workers():
    with pytest.raises(ValidationError, match="prefetch_factor"):
        PyTorchExecutionConfig(prefetch_factor=2)


def test_fsdp_needs_gpus():
    with pytest.raises(ValidationError, match="GPUs"):
        PyTorchExecutionConfig(accelerator="cpu", strategy="fsdp")


def test_single_device_with_several_devices_is_refused():
    with pytest.raises(ValidationError, match="single_device"):
        PyTorchExecutionConfig(strategy="single_device", devices=2)


@pytest.mark.parametrize("devices", [0, -1, True, "-1", "0", "1.5", "zero", 2.5])
def test_devices_must_be_positive(devices):
    # one error, not one per member of the union int | "auto"
    with pytest.raises(ValidationError, match="devices") as caught:
        PyTorchExecutionConfig(devices=devices)
    assert caught.value.error_count() == 1


@pytest.mark.parametrize(("text", "devices"), [(" 2 ", 2), ("auto", "auto"), (3.0, 3)])
def test_devices_text_and_whole_floats_are_counts(text, devices):
    assert PyTorchExecutionConfig(devices=text).devices == devices


def test_save_top_k_accepts_minus_one_for_all():
    assert PyTorchExecutionConfig(checkpoint_save_top_k=-1).checkpoint_save_top_k == -1
    with pytest.raises(ValidationError):
        PyTorchExecutionConfig(checkpoint_save_top_k=-2)


@pytest.mark.parametrize("logger", ["csv", "tensorboard", "mlflow", "none"])
def test_loggers(logger):
    assert PyTorchExecutionConfig(logger=logger).logger == logger


def test_deterministic_accepts_warn_and_booleans(env):
    env(PTYCHO_DETERMINISTIC="false")
    assert PyTorchExecutionConfig().deterministic is False
    assert PyTorchExecutionConfig(deterministic="warn").deterministic == "warn"


@pytest.mark.parametrize("value", ["maybe", 2, 0.5, ""])
def test_deterministic_other_values_are_one_error(value):
    with pytest.raises(ValidationError, match="true, false or 'warn'") as caught:
        PyTorchExecutionConfig(deterministic=value)
    assert caught.value.error_count() == 1


def test_gradient_clip_algorithm_has_no_agc():
    with pytest.raises(ValidationError, match="norm"):
        PyTorchExecutionConfig(gradient_clip_algorithm="agc")


def test_none_from_the_environment(env):
    env(PTYCHO_SEED="none")
    assert PyTorchExecutionConfig().seed is None
