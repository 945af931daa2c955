"""``ReconstructionConfig``: the classic iterative solver, started without a network."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ptycho_settings.bridge import normalise_section
from ptycho_settings.figures import PhaseRangeFields
from ptycho_settings.model import ModelConfig
from ptycho_settings.solver import SolverConfig


class ReconstructionConfig(SolverConfig, PhaseRangeFields):
    """Settings of one ``ptycho reconstruct`` run: data, start, iterations and step sizes.

    Of the model settings only those of the physics apply: ``N`` (inferred from the probe),
    ``probe_scale``, ``probe_mask`` and ``gaussian_smoothing_sigma``.
    """

    model: ModelConfig = Field(default_factory=ModelConfig)
    """The model settings whose physics the solver shares."""

    data_file: Path
    """Diffraction data (NPZ) to reconstruct."""

    output_dir: Path = Path("reconstruct_outputs")
    """Directory receiving the reconstruction, figures, metrics and the solver's report."""

    iterations: int = Field(default=50, ge=1)
    """The most passes of the iterative solver over every scan position (it stops earlier once `refine_tolerance` is met)."""

    init: Literal["flat"] | Path = "flat"
    """Starting object: `flat` (amplitude 1, phase 0) or a `reconstruction.npz` written by `ptycho infer` or `ptycho reconstruct`."""

    nphotons: float | None = Field(default=None, gt=0)
    """Expected photons per pattern (the confidence of the Poisson model); None: inferred from the data (sqrt-count amplitudes give their own dose)."""

    @model_validator(mode="before")
    @classmethod
    def _canonical_spellings(cls, data: Any) -> Any:
        return normalise_section("reconstruction", data) if isinstance(data, dict) else data
