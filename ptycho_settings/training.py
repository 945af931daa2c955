"""``TrainingConfig``: what a training run learns from, its losses, optimiser and schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ptycho_settings._base import is_power_of_two
from ptycho_settings.bridge import normalise_section
from ptycho_settings.bundle_format import NO_TENSORFLOW
from ptycho_settings.sampling import SamplingFields


def _refuse_tensorflow(value: str) -> str:
    # upstream's spelling stays a known value (its files name it), refused with the reason
    if value == "tensorflow":
        raise ValueError(f"backend='tensorflow': {NO_TENSORFLOW}; use backend=pytorch")
    return value


Backend = Annotated[Literal["pytorch", "tensorflow"], AfterValidator(_refuse_tensorflow)]
OptimizerName = Literal["adam", "adamw", "sgd"]
SchedulerName = Literal["none", "exponential", "warmup-cosine", "plateau"]


class TrainingConfig(SamplingFields):
    """Settings of one training run (canonical: they change the result, so the bundle keeps them).

    Construct it flat, as Ptychodus does:
    ``TrainingConfig(model=ModelConfig(N=128), nphotons=1e6, n_groups=512)``.
    """

    train_data_file: Path | None = None
    """Training data (NPZ). Legacy key `train_data_file_path`."""

    test_data_file: Path | None = None
    """Held-out data (NPZ) for validation. Legacy key `test_data_file_path`."""

    output_dir: Path = Path("training_outputs")
    """Directory receiving the model bundle, checkpoints and logs. Legacy key `output_prefix`."""

    batch_size: int = 16
    """Groups per optimisation step; a power of two. Legacy key `batch_size`."""

    nepochs: int = Field(default=50, ge=1)
    """Number of passes over the training groups. Legacy key `nepochs`."""

    n_groups: int = Field(default=512, ge=1)
    """Number of groups (training samples) drawn, whatever the gridsize. Legacy key `n_groups`."""

    sequential_sampling: bool = False
    """Take the first `n_groups` positions as group seeds instead of a random draw. Legacy key `sequential_sampling`."""

    nphotons: float = Field(default=1e9, gt=0)
    """Expected photons per diffraction pattern; sets the confidence of the Poisson model. Legacy key `nphotons`."""

    nll_weight: float = Field(default=1.0, ge=0, le=1)
    """Weight of the Poisson negative log-likelihood. Legacy key `nll_weight`."""

    mae_weight: float = Field(default=0.0, ge=0, le=1)
    """Weight of the diffraction-amplitude mean absolute error. Legacy key `mae_weight`."""

    realspace_weight: float = Field(default=0.0, ge=0, le=1)
    """Overall weight of the real-space loss branch (needs a ground-truth object and realspace_mae_weight > 0: the branch is their product times the MAE). Legacy key `realspace_weight`."""

    realspace_mae_weight: float = Field(default=0.0, ge=0, le=1)
    """Weight of the real-space MAE inside that branch; needs realspace_weight > 0. Legacy key `realspace_mae_weight`."""

    positions_provided: bool = True
    """Kept for the legacy params dict only, with no effect in this engine: positions always come from the data file (`xcoords`/`ycoords`), so `false` is refused. Legacy key `positions.provided`."""

    probe_trainable: bool = False
    """Optimise the probe jointly with the network. Legacy key `probe.trainable`."""

    intensity_scale_trainable: bool = True
    """Learn the log photon scale that ties the network's input and output. Legacy key `intensity_scale.trainable`."""

    backend: Backend = "pytorch"
    """Engine that runs the model. Only `pytorch` exists in this distribution (upstream's default was `tensorflow`). Legacy key `backend`."""

    learning_rate: float = Field(default=1e-3, gt=0)
    """Initial learning rate of the optimiser. Legacy key `learning_rate`."""

    optimizer: OptimizerName = "adam"
    """Optimiser: `adam`, `adamw` or `sgd`. Legacy key `optimizer`."""

    momentum: float = Field(default=0.9, ge=0, lt=1)
    """SGD momentum. Legacy key `momentum`."""

    weight_decay: float = Field(default=0.0, ge=0)
    """L2 weight decay (decoupled for adamw). Legacy key `weight_decay`."""

    adam_beta1: float = Field(default=0.9, ge=0, lt=1)
    """First-moment decay of adam and adamw. Legacy key `adam_beta1`."""

    adam_beta2: float = Field(default=0.999, ge=0, lt=1)
    """Second-moment decay of adam and adamw. Legacy key `adam_beta2`."""

    scheduler: SchedulerName = "none"
    """Learning-rate schedule: `none`, `exponential`, `warmup-cosine` or `plateau` (upstream spellings Default, Exponential, WarmupCosine, ReduceLROnPlateau accepted). Legacy key `scheduler`."""

    exponential_gamma: float = Field(default=0.95, gt=0, le=1)
    """Per-epoch learning-rate factor of the `exponential` schedule. Legacy key `exponential_gamma`."""

    lr_warmup_epochs: int = Field(default=0, ge=0)
    """Linear warm-up epochs of `warmup-cosine`. Legacy key `lr_warmup_epochs`."""

    lr_min_ratio: float = Field(default=0.1, ge=0, le=1)
    """Final learning rate of `warmup-cosine` as a fraction of the initial one. Legacy key `lr_min_ratio`."""

    plateau_factor: float = Field(default=0.5, gt=0, lt=1)
    """Factor applied to the learning rate when `plateau` sees no improvement. Legacy key `plateau_factor`."""

    plateau_patience: int = Field(default=2, ge=0)
    """Epochs without improvement before `plateau` reduces the rate. Legacy key `plateau_patience`."""

    plateau_min_lr: float = Field(default=5e-5, ge=0)
    """Lower bound of the learning rate under `plateau`. Legacy key `plateau_min_lr`."""

    plateau_threshold: float = Field(default=0.0, ge=0)
    """Relative improvement that counts as progress for `plateau`. Legacy key `plateau_threshold`."""

    @model_validator(mode="before")
    @classmethod
    def _canonical_spellings(cls, data: Any) -> Any:
        return normalise_section("training", data) if isinstance(data, dict) else data

    @field_validator("batch_size")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if not is_power_of_two(value):
            raise ValueError(
                f"batch_size must be a positive power of two (1, 2, 4, … 64), got {value}"
            )
        return value

    @field_validator("positions_provided")
    @classmethod
    def _positions_from_the_data(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                "`positions_provided` has no effect in this engine: positions always come from "
                "the data file (xcoords/ycoords); it is kept for the legacy params dict, where "
                "only true is accepted"
            )
        return value

    @model_validator(mode="after")
    def _check_losses_and_schedule(self) -> TrainingConfig:
        if (self.realspace_weight > 0) != (self.realspace_mae_weight > 0):
            # the branch is realspace_weight × realspace_mae_weight × MAE (upstream's branch also
            # held a total-variation term, tv_weight, which this engine does not implement)
            raise ValueError(
                f"realspace_weight={self.realspace_weight} and realspace_mae_weight="
                f"{self.realspace_mae_weight}: the real-space loss is their product, so one alone "
                "has no effect; set both > 0 or both 0"
            )
        if self.nll_weight == 0 and self.mae_weight == 0 and self.realspace_weight == 0:
            raise ValueError(
                "every loss weight is 0 (nll_weight, mae_weight, realspace_weight): nothing to "
                "train; set nll_weight=1"
            )
        if self.scheduler == "warmup-cosine" and self.lr_warmup_epochs >= self.nepochs:
            raise ValueError(
                f"lr_warmup_epochs={self.lr_warmup_epochs} leaves no epoch for the cosine decay "
                f"with nepochs={self.nepochs}; use lr_warmup_epochs < nepochs"
            )
        return self
