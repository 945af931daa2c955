"""Fields and rules shared by training and inference: which positions are grouped, and how."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from ptycho_settings._base import CANONICAL_CONFIG
from ptycho_settings.model import ModelConfig

# Settings that upstream kept on TrainingConfig but that only change how a run executes.
EXECUTION_ONLY_KEYS = {
    "gradient_clip_val": "gradient_clip_val",
    "gradient_clip_algorithm": "gradient_clip_algorithm",
    "num_workers": "num_workers",
    "accelerator": "accelerator",
    "strategy": "strategy",
    "devices": "devices",
    "precision": "precision",
    "accumulate_grad_batches": "accumulate_grad_batches",
}


class SamplingFields(BaseModel):
    """Grouping of scan positions into gridsize² neighbours; mixed into the run configs."""

    model_config = CANONICAL_CONFIG

    model: ModelConfig = Field(default_factory=ModelConfig)
    """The model settings (flattened into the legacy dict)."""

    n_subsample: int | None = Field(default=None, ge=1)
    """Number of raw scan positions drawn before grouping; None uses every position. Legacy key `n_subsample`."""

    subsample_seed: int | None = None
    """Seed of the position subsampling and group draw; None draws a fresh seed. Legacy key `subsample_seed`."""

    neighbor_count: int = Field(default=4, ge=1)
    """K: size of the nearest-neighbour pool a group is drawn from. Legacy key `neighbor_count`."""

    enable_oversampling: bool = False
    """Allow more groups than positions by drawing distinct neighbour combinations (gridsize > 1). Legacy key `enable_oversampling`."""

    neighbor_pool_size: int | None = Field(default=None, ge=1)
    """Neighbour pool for oversampling; None means `neighbor_count`. Legacy key `neighbor_pool_size`."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_execution_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key in EXECUTION_ONLY_KEYS:
                    raise ValueError(
                        f"`{key}` is an execution setting (how a run executes, not what it "
                        f"computes): set PyTorchExecutionConfig.{EXECUTION_ONLY_KEYS[key]}, the "
                        f"`execution` section of a config file, PTYCHO_{key.upper()} or "
                        f"--{key.replace('_', '-')}"
                    )
        return data

    @model_validator(mode="after")
    def _check_grouping(self) -> SamplingFields:
        channels = self.model.C
        if self.model.gridsize > 1 and self.neighbor_count < channels:
            raise ValueError(
                f"neighbor_count={self.neighbor_count} cannot form groups of gridsize²={channels} "
                f"positions (gridsize={self.model.gridsize}); use neighbor_count ≥ {channels}"
            )
        if self.enable_oversampling:
            if self.model.gridsize < 2:
                raise ValueError(
                    "enable_oversampling needs gridsize > 1 (with gridsize 1 every group is one "
                    "position, so there are no combinations to draw); set gridsize ≥ 2 or "
                    "enable_oversampling=false"
                )
            pool = self.neighbor_pool_size or self.neighbor_count
            if pool < channels:
                raise ValueError(
                    f"oversampling needs a neighbour pool ≥ gridsize²={channels}, but the pool is "
                    f"{pool}; raise neighbor_pool_size (or neighbor_count)"
                )
        return self
