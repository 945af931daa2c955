"""``ModelConfig``: what the network is (patch size, group size, heads, probe handling)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from ptycho_settings._base import CANONICAL_CONFIG, IntFromText
from ptycho_settings.bridge import normalise_section

ModelType = Literal["pinn", "supervised"]
AmpActivation = Literal["sigmoid", "swish", "softplus", "relu"]
Architecture = Literal["cnn"]
PatchWeighting = Literal["probe", "central_mask", "uniform"]


class ModelConfig(BaseModel):
    """Architecture of the PtychoPINN generator and the physics it is trained through.

    Field names, meanings and defaults are those of the upstream ``ModelConfig`` dataclass
    (not the legacy-dict defaults). Frozen and validated on construction.
    """

    model_config = CANONICAL_CONFIG

    def __setattr__(self, name: str, value: Any) -> None:
        # Frozen, but for one thing: Ptychodus builds ModelConfig(N=0) and sets N once it has
        # read the data (`config.model.N = size`); an unresolved N may be resolved, once.
        if name == "N" and self.N == 0 and value != 0:
            checked = type(self).model_validate({**self.model_dump(), "N": value}).N
            object.__setattr__(self, "__dict__", {**self.__dict__, "N": checked})
            return
        super().__setattr__(name, value)

    N: Annotated[Literal[0, 64, 128, 256], IntFromText] = 64
    """Diffraction-pattern and object-patch size in pixels (N×N); 64, 128 or 256, or 0: not known yet, taken from the training data's probe before training (as Ptychodus builds its settings; it may then set N once). Legacy key `N`."""

    gridsize: int = Field(default=1, ge=1)
    """Side of a group of neighbouring scan positions solved jointly; channels C = gridsize². Legacy key `gridsize`."""

    n_filters_scale: int = Field(default=1, ge=1)
    """Multiplier on the convolution channel widths of the encoder and decoder (upstream default 2: four times the cost, and unstable at the default learning rate). Legacy key `n_filters_scale`."""

    model_type: ModelType = "pinn"
    """`pinn`: self-supervised through the diffraction physics; `supervised`: needs a ground-truth object. Legacy key `model_type`."""

    architecture: Architecture = "cnn"
    """Generator family, looked up in the engine's generator registry. Legacy key `architecture`."""

    amp_activation: AmpActivation = "sigmoid"
    """Activation of the amplitude output head (`silu` is accepted as an old spelling of `swish`). Legacy key `amp_activation`."""

    object_big: bool = True
    """True: every pattern of a group gets its own object patch, merged at the group's offsets; False: one central patch. Legacy key `object.big`."""

    estimate_iterations: int = Field(default=20, ge=0, le=1000)
    """Single-position PIE steps of the per-pattern object estimate the generator refines (0: one back-projection). More steps start the network closer to the object and cost two FFTs per pattern each. Not in the legacy dict of upstream."""

    training_patch_weighting: PatchWeighting = "probe"
    """Weight of each patch where a group's patches are merged (object_big): `probe` |P|² (a pixel follows the patterns that illuminate it), `central_mask` the central N/2 × N/2, `uniform` all of the patch. Upstream's torch field of the same name (its default `central_mask`)."""

    probe_big: bool = True
    """True: the decoder also reconstructs the region beyond the central N/2 crop. Legacy key `probe.big`."""

    probe_mask: bool = False
    """Apply a soft circular support mask to the probe. Legacy key `probe.mask`."""

    pad_object: bool = True
    """Zero-pad the decoded object to the full patch when `object_big` is False. Legacy key `pad_object`."""

    probe_scale: float = Field(default=4.0, gt=0)
    """Probe normalisation: the normalised probe's amplitude (times the mask, with `probe_mask`), averaged over all N×N pixels, is 1/probe_scale. Legacy key `probe_scale`."""

    gaussian_smoothing_sigma: float = Field(default=0.0, ge=0)
    """Width (px) of a Gaussian blur of the exit wave (probe × object), applied as a transfer function on the far-field intensity; 0 turns it off. Legacy key `gaussian_smoothing_sigma`."""

    @model_validator(mode="before")
    @classmethod
    def _canonical_spellings(cls, data: Any) -> Any:
        return normalise_section("model", data) if isinstance(data, dict) else data

    @property
    def C(self) -> int:  # noqa: N802 - the physics name of the channel count
        """Number of channels (patterns per group), gridsize²."""
        return self.gridsize**2
