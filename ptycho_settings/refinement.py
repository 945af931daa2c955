"""Fields shared by the iterative solver's two entry points, and by their figures.

``ptycho infer --refine-iterations K`` refines the network's object with the solver;
``ptycho reconstruct`` runs the same solver from a flat start. The ``refine_*`` settings mean
the same in both, so one ``PTYCHO_REFINE_LR`` serves either command.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from ptycho_settings._base import CANONICAL_CONFIG


class RefinementFields(BaseModel):
    """How the iterative solver steps: learning rate, positions per step, probe refinement."""

    model_config = CANONICAL_CONFIG

    refine_lr: float = Field(default=0.01, gt=0, le=1)
    """Adam learning rate of the iterative solver on the object (roughly the largest change per step of an object value of magnitude 1)."""

    refine_batch_size: int = Field(default=64, ge=1)
    """Scan positions per gradient step of the iterative solver."""

    refine_probe: bool = False
    """Also optimise the probe in the iterative solver (a tenth of the object's step size, relative to the probe's peak)."""


class PhaseRangeFields(BaseModel):
    """Colour scale of the phase figures."""

    model_config = CANONICAL_CONFIG

    phase_vmin: float | None = None
    """Lower end of the phase colour scale in figures (rad); None fits the data."""

    phase_vmax: float | None = None
    """Upper end of the phase colour scale in figures (rad); None fits the data."""

    @model_validator(mode="after")
    def _check_phase_range(self) -> PhaseRangeFields:
        low, high = self.phase_vmin, self.phase_vmax
        if low is not None and high is not None and low >= high:
            raise ValueError(f"phase_vmin={low} must be below phase_vmax={high}")
        return self
