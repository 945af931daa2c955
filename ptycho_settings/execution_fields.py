"""The execution settings' fields and rules (how and where a run executes, never what it
computes), without their sources; :class:`ptycho_settings.execution.PyTorchExecutionConfig`
adds the ``PTYCHO_*`` environment to them. Nothing here enters the legacy params dict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ptycho_settings.bridge import normalise_section

Accelerator = Literal["auto", "cpu", "gpu", "cuda", "mps"]
# Lightning's registered strategy names (checked against lightning's registry in the tests).
Strategy = Literal[
    "auto", "ddp", "ddp_spawn", "ddp_fork", "ddp_notebook",
    "ddp_find_unused_parameters_false", "ddp_find_unused_parameters_true",
    "ddp_spawn_find_unused_parameters_false", "ddp_spawn_find_unused_parameters_true",
    "ddp_fork_find_unused_parameters_false", "ddp_fork_find_unused_parameters_true",
    "ddp_notebook_find_unused_parameters_false", "ddp_notebook_find_unused_parameters_true",
    "deepspeed", "deepspeed_stage_1", "deepspeed_stage_2", "deepspeed_stage_2_offload",
    "deepspeed_stage_3", "deepspeed_stage_3_offload", "deepspeed_stage_3_offload_nvme",
    "fsdp", "fsdp_cpu_offload", "single_device",
]  # fmt: skip
Precision = Literal[
    "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true",
    "transformer-engine", "transformer-engine-float16",
]  # fmt: skip
_SHORT_PRECISION = {"32": "32-true", "16": "16-mixed", "bf16": "bf16-mixed", "64": "64-true"}
_BOOLEAN_WORDS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}
_HALF_PRECISION = {"16-mixed", "16-true", "transformer-engine-float16"}
Logger = Literal["csv", "tensorboard", "mlflow", "none"]


def is_distributed(strategy: str) -> bool:
    """Return True for strategies that run one process per device (DDP, FSDP, DeepSpeed)."""
    return strategy.startswith(("ddp", "fsdp", "deepspeed"))


class ExecutionFields(BaseModel):
    """Execution settings of the PyTorch engine (devices, precision, data loading, logging)."""

    model_config = ConfigDict(
        title="PyTorchExecutionConfig",
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        validate_default=True,
        defer_build=True,
    )

    accelerator: Accelerator = "auto"
    """Device kind: `auto` (CUDA if present, else CPU), `cpu`, `gpu`/`cuda`, `mps`. Also `PTYCHO_DEVICE`."""

    strategy: Strategy = "auto"
    """Lightning strategy: `auto`, `ddp`, `ddp_spawn`, `fsdp`, … (Lightning's registered names). Also `PTYCHO_STRATEGY`."""

    devices: int | Literal["auto"] = 1
    """Devices per node: a count, or `auto` for every visible one."""

    num_nodes: int = Field(default=1, ge=1)
    """Number of machines in a multi-node run."""

    precision: Precision = "32-true"
    """Lightning precision (`32-true`, `16-mixed`, `bf16-mixed`, …; short forms 32, 16, bf16 accepted). Inference predicts in the same precision (half precisions: the convolutions in autocast, the physics in float32). `bf16-mixed` is about 1.3–1.6 times faster on CPUs with bfloat16 instructions (docs/performance.md)."""

    deterministic: bool | Literal["warn"] = "warn"
    """Deterministic algorithms: true (error on a non-deterministic op), false, or `warn`."""

    seed: int | None = Field(default=42, ge=0)
    """Seed of every random generator, set before the model is built; None leaves them unseeded."""

    num_workers: int = Field(default=0, ge=0)
    """DataLoader worker processes; 0 loads in the main process."""

    pin_memory: bool = False
    """Page-lock host batches for faster copies to a GPU."""

    persistent_workers: bool = False
    """Keep DataLoader workers alive between epochs (needs num_workers > 0)."""

    prefetch_factor: int | None = Field(default=None, ge=1)
    """Batches each worker loads ahead (needs num_workers > 0); None is PyTorch's default."""

    accumulate_grad_batches: int = Field(default=1, ge=1)
    """Batches whose gradients are summed before each optimiser step."""

    gradient_clip_val: float | None = Field(default=None, ge=0)
    """Gradient clipping threshold; None turns clipping off."""

    gradient_clip_algorithm: Literal["norm", "value"] = "norm"
    """Clip the global gradient `norm`, or each gradient `value`."""

    logger: Logger = "csv"
    """Metrics logger: `csv`, `tensorboard`, `mlflow` (optional extras) or `none`."""

    logger_dir: Path | None = None
    """Directory of the logger's files; None means `<output_dir>/logs`."""

    experiment_name: str = Field(default="ptychopinn", min_length=1)
    """Experiment name used by the logger."""

    mlflow_tracking_uri: str | None = None
    """MLflow tracking URI; None means a local `<output_dir>/mlruns` store."""

    enable_progress_bar: bool = True
    """Show Lightning's progress bar while training and a bar on long inference."""

    enable_checkpointing: bool = True
    """Write checkpoints (`checkpoints/last.ckpt` and the best ones)."""

    checkpoint_save_top_k: int = Field(default=1, ge=-1)
    """Best checkpoints kept: -1 keeps all, 0 keeps only `last.ckpt`."""

    checkpoint_monitor: str = Field(default="val_loss", min_length=1)
    """Metric ranking checkpoints (and early stopping); falls back to `train_loss` without validation data."""

    checkpoint_mode: Literal["min", "max"] = "min"
    """Whether a lower (`min`) or higher (`max`) monitored metric is better."""

    early_stop_patience: int | None = Field(default=None, ge=1)
    """Epochs without improvement before training stops; None disables early stopping."""

    inference_batch_size: int | None = Field(default=None, ge=1)
    """Groups per inference and validation batch; None uses twice the training batch size on a CPU (activations that stay near the cache predict faster) and four times on accelerators (no gradients are kept)."""

    log_every_n_steps: int = Field(default=10, ge=1)
    """Optimisation steps between logged training metrics."""

    @model_validator(mode="before")
    @classmethod
    def _canonical_spellings(cls, data: Any) -> Any:
        return normalise_section("execution", data) if isinstance(data, dict) else data

    @field_validator("accelerator", mode="before")
    @classmethod
    def _known_accelerator(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() == "tpu":
            raise ValueError("TPU (torch-xla) is not supported; use auto, cpu, gpu, cuda or mps")
        return value.lower() if isinstance(value, str) else value

    @field_validator("precision", mode="before")
    @classmethod
    def _long_precision(cls, value: Any) -> Any:
        return _SHORT_PRECISION.get(str(value), value) if value is not None else value

    # The two union fields are checked whole: pydantic would report a bad value once per
    # member of the union ("not an integer", "not 'auto'"), two lines for one mistake.
    @field_validator("devices", mode="before")
    @classmethod
    def _positive_devices(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if value == "auto":
                return value
            value = int(value) if value.lstrip("-").isdigit() else value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError("devices must be a positive count or 'auto'")
        return value

    @field_validator("deterministic", mode="before")
    @classmethod
    def _deterministic_choice(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str | int) else None
        if text == "warn":
            return text
        if text in _BOOLEAN_WORDS:
            return _BOOLEAN_WORDS[text]
        raise ValueError("deterministic must be true, false or 'warn'")

    @model_validator(mode="after")
    def _check_combinations(self) -> ExecutionFields:
        if self.accelerator == "mps" and is_distributed(self.strategy):
            raise ValueError(
                f"strategy={self.strategy!r} needs CUDA or CPU processes; Apple MPS runs on one "
                "device: use strategy=auto with accelerator=mps"
            )
        if self.accelerator == "cpu" and self.precision in _HALF_PRECISION:
            raise ValueError(
                f"precision={self.precision!r} (float16) is not supported on the CPU; use "
                "32-true or bf16-mixed"
            )
        if self.accelerator == "cpu" and self.strategy.startswith(("fsdp", "deepspeed")):
            raise ValueError(f"strategy={self.strategy!r} needs GPUs; use ddp for CPU processes")
        if self.num_workers == 0 and self.persistent_workers:
            raise ValueError("persistent_workers=true needs num_workers > 0")
        if self.num_workers == 0 and self.prefetch_factor is not None:
            raise ValueError("prefetch_factor needs num_workers > 0")
        several = self.devices == "auto" or self.devices > 1 or self.num_nodes > 1
        if self.strategy == "single_device" and several:
            raise ValueError(
                f"strategy='single_device' cannot use devices={self.devices!r} and "
                f"num_nodes={self.num_nodes}; use strategy=ddp"
            )
        return self
