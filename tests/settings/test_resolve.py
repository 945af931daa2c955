"""resolve_execution: a pure function of the settings and an injected hardware description."""

import pytest

from ptycho_settings import (
    HardwareDescription,
    PyTorchExecutionConfig,
    SettingsError,
    resolve_execution,
)

CPU_ONLY = HardwareDescription(cuda_device_count=0, cpu_count=2)
FOUR_GPUS = HardwareDescription(cuda_device_count=4, cpu_count=32)
MAC = HardwareDescription(mps_available=True)


def _config(**values):
    return PyTorchExecutionConfig.from_values(values)


def test_auto_is_cpu_without_gpus():
    resolved = resolve_execution(_config(), CPU_ONLY)
    assert resolved.trainer_kwargs["accelerator"] == "cpu" and resolved.device == "cpu"
    assert any("no CUDA" in note for note in resolved.notes)


def test_auto_is_cuda_with_gpus():
    assert resolve_execution(_config(), FOUR_GPUS).trainer_kwargs["accelerator"] == "cuda"


def test_auto_is_mps_on_apple():
    assert resolve_execution(_config(), MAC).device == "mps"


@pytest.mark.parametrize("accelerator", ["gpu", "cuda"])
def test_gpu_request_without_gpus_is_an_error(accelerator):
    with pytest.raises(SettingsError, match="no CUDA device"):
        resolve_execution(_config(accelerator=accelerator), CPU_ONLY)


def test_explicit_cpu_stays_cpu_on_a_gpu_machine():
    assert resolve_execution(_config(accelerator="cpu"), FOUR_GPUS).device == "cpu"


def test_devices_auto_takes_every_gpu_and_ddp():
    resolved = resolve_execution(_config(devices="auto"), FOUR_GPUS)
    assert resolved.trainer_kwargs["devices"] == 4 and resolved.trainer_kwargs["strategy"] == "ddp"
    assert resolved.world_size == 4


def test_more_devices_than_gpus_is_an_error():
    with pytest.raises(SettingsError, match="only 4"):
        resolve_execution(_config(devices=8), FOUR_GPUS)


def test_two_cpu_processes_use_ddp():
    resolved = resolve_execution(_config(accelerator="cpu", devices=2), CPU_ONLY)
    assert resolved.trainer_kwargs["strategy"] == "ddp" and resolved.world_size == 2


def test_multi_node_world_size():
    assert (
        resolve_execution(_config(devices=4, num_nodes=2, strategy="ddp"), FOUR_GPUS).world_size
        == 8
    )


def test_half_precision_when_auto_lands_on_cpu_is_an_error():
    with pytest.raises(SettingsError, match="float16"):
        resolve_execution(_config(precision="16-mixed"), CPU_ONLY)


def test_every_execution_knob_reaches_the_trainer_arguments():
    config = _config(
        precision="bf16-mixed",
        deterministic=True,
        accumulate_grad_batches=4,
        gradient_clip_val=0.5,
        gradient_clip_algorithm="value",
        enable_progress_bar=False,
        enable_checkpointing=False,
        log_every_n_steps=3,
        num_nodes=1,
    )
    kwargs = resolve_execution(config, CPU_ONLY).trainer_kwargs
    assert kwargs == {
        "accelerator": "cpu",
        "devices": 1,
        "num_nodes": 1,
        "strategy": "auto",
        "precision": "bf16-mixed",
        "deterministic": True,
        "accumulate_grad_batches": 4,
        "gradient_clip_val": 0.5,
        "gradient_clip_algorithm": "value",
        "enable_progress_bar": False,
        "enable_checkpointing": False,
        "log_every_n_steps": 3,
    }


def test_dataloader_arguments():
    resolved = resolve_execution(
        _config(num_workers=2, pin_memory=True, persistent_workers=True, prefetch_factor=4),
        FOUR_GPUS,
    )
    assert resolved.dataloader_kwargs == {
        "num_workers": 2,
        "pin_memory": True,
        "persistent_workers": True,
        "prefetch_factor": 4,
    }
    assert (
        resolve_execution(_config(pin_memory=True), CPU_ONLY).dataloader_kwargs["pin_memory"]
        is False
    )


def test_resolution_is_pure():
    config = _config()
    first = resolve_execution(config, FOUR_GPUS)
    assert config.accelerator == "auto"
    assert resolve_execution(config, FOUR_GPUS) == first
