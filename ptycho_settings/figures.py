"""Settings of the figures that inference and the iterative solver draw."""

from __future__ import annotations

from pydantic import BaseModel, model_validator

from ptycho_settings._base import CANONICAL_CONFIG


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
