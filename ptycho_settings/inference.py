"""``InferenceConfig``: which trained model reconstructs which data, and where results go."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ptycho_settings.bridge import normalise_section
from ptycho_settings.figures import PhaseRangeFields
from ptycho_settings.sampling import SamplingFields
from ptycho_settings.solver import SolverConfig
from ptycho_settings.training import Backend


class InferenceConfig(SamplingFields, SolverConfig, PhaseRangeFields):
    """Settings of one reconstruction with a trained model bundle.

    Constructing it never touches the filesystem: Ptychodus passes placeholder paths. The
    factory :func:`ptycho_settings.create_inference_config` checks that the files exist.
    """

    model_path: Path
    """Directory holding `wts.h5.zip`, or the bundle file itself. Legacy key `model_path`."""

    test_data_file: Path
    """Diffraction data (NPZ) to reconstruct. Legacy key `test_data_file_path`."""

    output_dir: Path = Path("inference_outputs")
    """Directory receiving the reconstruction, figures and metrics. Legacy key `output_prefix`."""

    n_groups: int | None = Field(default=None, ge=1)
    """Number of groups to reconstruct; None: as few groups as hold every position (about positions/gridsize², each pattern predicted about once); the number of positions seeds one group at each. Legacy key `n_groups`."""

    debug: bool = False
    """Kept for the legacy params dict only, with no effect in this engine (`ptycho infer --verbose` logs more), so `true` is refused. Legacy key `debug`."""

    n_subsample: int | None = Field(default=None, ge=1)
    """Kept for the legacy params dict only, with no effect at inference (every position of the data file is reconstructed; subsample the file with `ptycho data` instead), so a value is refused. Legacy key `n_subsample`."""

    enable_oversampling: bool = False
    """Kept for the legacy params dict only, with no effect at inference (the groups cover every position once), so `true` is refused. Legacy key `enable_oversampling`."""

    neighbor_pool_size: int | None = Field(default=None, ge=1)
    """Kept for the legacy params dict only, with no effect at inference (no oversampling there), so a value is refused. Legacy key `neighbor_pool_size`."""

    backend: Backend = "pytorch"
    """Engine that runs the model; only `pytorch` exists in this distribution. Legacy key `backend`."""

    probe: Literal["check", "bundle", "data"] = "check"
    """Which probe serves a test file whose `probeGuess` differs from the bundle's (relative difference above 5 % after normalisation and a global phase): `check` refuses such a file, `bundle` stitches and refines with the trained probe, `data` stitches and refines with the file's probe (the network itself always predicts with the probe it was trained with)."""

    renormalise: bool = False
    """Normalise the test data by its own mean pattern energy instead of the training data's (the bundle's `input_scale`): for data of another dose than the training data. By default the network sees the test amplitudes scaled exactly as it saw the training amplitudes."""

    refine_iterations: int = Field(default=0, ge=0)
    """The most passes of the iterative solver that refine the network's object against the measured data (it stops earlier once `refine_tolerance` is met); 0: none."""

    @model_validator(mode="before")
    @classmethod
    def _canonical_spellings(cls, data: Any) -> Any:
        return normalise_section("inference", data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _refuse_fields_without_effect(self) -> InferenceConfig:
        for name, why in _NO_EFFECT.items():
            value = getattr(self, name)
            if value != type(self).model_fields[name].default:
                raise ValueError(
                    f"`{name}` has no effect in this engine's inference: {why}; it is kept for "
                    f"the legacy params dict, where only its default is accepted (got {value!r})"
                )
        return self


_NO_EFFECT = {
    "debug": "nothing reads it (`ptycho infer --verbose` logs more)",
    "n_subsample": "every position of the data file is reconstructed (subsample the file instead)",
    "enable_oversampling": "the inference groups cover every position once",
    "neighbor_pool_size": "there is no oversampling at inference",
}
