"""Pure resolution of execution settings against a hardware description.

``auto`` is decided here, from a :class:`HardwareDescription` passed in, so settings stay
plain values and tests need no GPU. The engine probes the real hardware and calls this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ptycho_settings.errors import SettingsError
from ptycho_settings.execution import PyTorchExecutionConfig, is_distributed


@dataclass(frozen=True)
class HardwareDescription:
    """What the machine offers: CUDA devices, Apple MPS, CPU cores."""

    cuda_device_count: int = 0
    mps_available: bool = False
    cpu_count: int = 1


@dataclass(frozen=True)
class ResolvedExecution:
    """Concrete execution: Trainer keyword arguments and the rest of the run's knobs.

    Attributes
    ----------
    trainer_kwargs : dict
        Every execution knob the Lightning ``Trainer`` takes, with ``auto`` resolved.
    device : str
        The torch device of rank 0 (``cpu``, ``cuda``, ``mps``) for inference.
    notes : tuple of str
        Human-readable decisions taken while resolving (e.g. "auto → cpu: no CUDA device").
    """

    trainer_kwargs: dict[str, Any]
    device: str
    world_size: int
    seed: int | None
    dataloader_kwargs: dict[str, Any]
    logger: str
    notes: tuple[str, ...] = field(default=())


def resolve_execution(
    config: PyTorchExecutionConfig, hardware: HardwareDescription
) -> ResolvedExecution:
    """Return the concrete execution for ``config`` on ``hardware`` (pure; no probing)."""
    notes: list[str] = []
    accelerator = _accelerator(config, hardware, notes)
    devices = _devices(config, hardware, accelerator, notes)
    world_size = devices * config.num_nodes
    strategy = config.strategy
    if strategy == "auto":
        strategy = "ddp" if world_size > 1 else "auto"
        if world_size > 1:
            notes.append(f"strategy auto → ddp for {world_size} processes")
    if config.precision in {"16-mixed", "16-true"} and accelerator == "cpu":
        raise SettingsError(
            f"execution.precision={config.precision!r}: float16 does not run on the CPU "
            "(accelerator resolved to cpu); use 32-true or bf16-mixed"
        )
    if accelerator == "mps" and is_distributed(strategy):
        raise SettingsError(f"execution.strategy={strategy!r} cannot run on Apple MPS")
    trainer_kwargs = {
        "accelerator": accelerator,
        "devices": devices,
        "num_nodes": config.num_nodes,
        "strategy": strategy,
        "precision": config.precision,
        "deterministic": config.deterministic,
        "accumulate_grad_batches": config.accumulate_grad_batches,
        "gradient_clip_val": config.gradient_clip_val,
        "gradient_clip_algorithm": config.gradient_clip_algorithm,
        "enable_progress_bar": config.enable_progress_bar,
        "enable_checkpointing": config.enable_checkpointing,
        "log_every_n_steps": config.log_every_n_steps,
    }
    dataloader_kwargs = {
        "num_workers": config.num_workers,
        "pin_memory": config.pin_memory and accelerator == "cuda",
        "persistent_workers": config.persistent_workers,
    }
    if config.prefetch_factor is not None:
        dataloader_kwargs["prefetch_factor"] = config.prefetch_factor
    return ResolvedExecution(
        trainer_kwargs=trainer_kwargs,
        device=accelerator,
        world_size=world_size,
        seed=config.seed,
        dataloader_kwargs=dataloader_kwargs,
        logger=config.logger,
        notes=tuple(notes),
    )


def _accelerator(config: PyTorchExecutionConfig, hardware: HardwareDescription, notes: list) -> str:
    requested = config.accelerator
    if requested == "auto":
        if hardware.cuda_device_count > 0:
            notes.append(f"accelerator auto → cuda ({hardware.cuda_device_count} visible)")
            return "cuda"
        if hardware.mps_available:
            notes.append("accelerator auto → mps")
            return "mps"
        notes.append("accelerator auto → cpu: no CUDA or MPS device is visible")
        return "cpu"
    if requested in ("gpu", "cuda"):
        if hardware.cuda_device_count == 0:
            raise SettingsError(
                f"execution.accelerator={requested!r}: no CUDA device is visible on this machine "
                "(check the driver and CUDA_VISIBLE_DEVICES), or use accelerator=auto or cpu"
            )
        return "cuda"
    if requested == "mps" and not hardware.mps_available:
        raise SettingsError("execution.accelerator='mps': Apple MPS is not available here")
    return requested


def _devices(config, hardware: HardwareDescription, accelerator: str, notes: list) -> int:
    available = hardware.cuda_device_count if accelerator == "cuda" else None
    if config.devices == "auto":
        count = available if available else 1
        notes.append(f"devices auto → {count}")
        return count
    if available is not None and config.devices > available:
        raise SettingsError(
            f"execution.devices={config.devices} but only {available} CUDA device(s) are visible"
        )
    return config.devices
