"""``Pinn``: generator → object patches → physics → Poisson likelihood, as a plain ``nn.Module``.

Scaling (see ``ptycho_engine.conventions``): the network sees ``X·e^{-δ}`` and the predicted
amplitude is ``Â·e^{δ}``, with δ a log-scale that ties input and output, initialised from the
probe energy (:func:`initial_log_scale`) and learned when ``intensity_scale_trainable``; the
Poisson likelihood compares ``(S·Â·e^δ)²`` with ``(S·X)²``, S the photon scale.

Inference and the iterative solver use this class alone: it imports no Lightning, whose
import costs a ``ptycho infer`` process about 2.5 s on the 2-core machine (as much as the
prediction of a few hundred patterns). Training uses
:class:`ptycho_engine.training.lightning_module.PinnModule`, the same composition as a
LightningModule with the same weight names. A trained ``Pinn`` comes back from its bundle as a
:class:`LoadedBundle` (:func:`load_bundle`), which inference and the solver both use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ptycho_engine.bundle import read_bundle
from ptycho_engine.errors import EngineError
from ptycho_engine.network import build_generator, pattern_estimate
from ptycho_engine.physics.forward import forward_amplitude, merge_weight, tie_overlaps
from ptycho_engine.physics.losses import amplitude_mae, poisson_nll, realspace_mae
from ptycho_engine.physics.probe import prepare_probe
from ptycho_engine.physics.scaling import flat_log_scale
from ptycho_engine.physics.shift import extract_group
from ptycho_settings import ModelConfig, TrainingConfig


class Pinn(nn.Module):
    """PtychoPINN: generator → object patches → physics → Poisson likelihood.

    Parameters
    ----------
    model, training : ModelConfig, TrainingConfig
        Canonical settings.
    probe : complex Tensor of shape (P, N, N)
        The normalised probe (``ptycho_engine.physics.probe.normalise_probe``), masked if
        ``probe_mask``.
    photon_scale : float
        S = sqrt(nphotons)/(N/2).
    """

    def __init__(
        self,
        model: ModelConfig,
        training: TrainingConfig,
        probe: Tensor,
        photon_scale: float,
    ) -> None:
        super().__init__()
        self.model_config, self.training_config = model, training
        probe = probe.to(torch.complex64)
        self.generator = build_generator(model, probe=probe)  # the CNN estimates patches with it
        if training.probe_trainable:
            self.probe = nn.Parameter(probe)
            if pattern_estimate(self.generator) is not None:
                # the network learned to correct estimates made with the initial probe (training
                # caches them), so they stay those: stored with the weights, for bundles (which
                # hold the trained probe) to rebuild the estimate from it when they load
                self.register_buffer("estimate_probe", probe.clone())
                self.register_load_state_dict_post_hook(_restore_estimate_probe)
        else:
            self.register_buffer("probe", probe)
        log_scale = torch.tensor(initial_log_scale(probe, model.N), dtype=torch.float32)
        if training.intensity_scale_trainable:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)
        self.photon_scale = float(photon_scale)

    def forward(self, diffraction: Tensor, estimate: Tensor | None = None) -> Tensor:
        """Object patches (B, C_out, N, N), complex, from normalised amplitudes (B, C, N, N).

        ``estimate``: the generator's estimate of each pattern at the amplitudes' own scale,
        when cached (``ptycho_engine.training.batches``); it scales with the input like the amplitudes.
        """
        scale = torch.exp(-self.log_scale)
        if estimate is None:
            return self.generator(diffraction * scale)
        return self.generator(diffraction * scale, estimate * scale.to(estimate.real.dtype))

    def tie(self, patches: Tensor, offsets: Tensor) -> Tensor:
        """Tie a group's per-channel patches through their overlaps (object_big), as the
        physics sees them; one patch per group, or one channel, is returned as it is.
        """
        if patches.shape[1] == 1:
            return patches
        return tie_overlaps(patches, offsets, merge_weight=self.merge_weight())

    def merge_weight(self) -> Tensor | None:
        """The per-pixel weight (N, N) of each patch where a group is merged
        (``training_patch_weighting``), from the current probe.
        """
        return merge_weight(self.model_config.training_patch_weighting, self.probe)

    def predict_amplitude(self, patches: Tensor, offsets: Tensor) -> Tensor:
        """Predicted normalised amplitudes (B, C, N, N) of object patches, through the physics."""
        with torch.autocast(device_type=patches.device.type, enabled=False):
            patches = patches.to(torch.complex64)
            offsets = offsets.float()
            tie = offsets if patches.shape[1] > 1 else None  # as in :meth:`tie`
            weight = self.merge_weight() if tie is not None else None
            if patches.shape[1] == 1 and offsets.shape[1] > 1:
                # one patch per group (object_big false): each channel sees it at its offset
                patches = extract_group(patches[:, 0], offsets, patches.shape[-1])  # (B, C, N, N)
            amplitude = forward_amplitude(
                patches,
                self.probe,
                offsets=tie,
                merge_weight=weight,
                smoothing_sigma_px=self.model_config.gaussian_smoothing_sigma,
            )
            return amplitude * torch.exp(self.log_scale.float())

    def compute_losses(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Return the weighted total loss and its parts for one batch
        (``ptycho_engine.training.batches``: diffraction, offsets, and optionally truth and estimate).
        """
        diffraction, offsets, truth = batch["diffraction"], batch["offsets"], batch.get("truth")
        patches = self(diffraction, batch.get("estimate"))  # (B, C_out, N, N)
        training, losses = self.training_config, {}
        if self.model_config.model_type == "supervised":
            losses["supervised"] = _supervised_loss(patches, truth)
            losses["loss"] = losses["supervised"]
            return losses
        amplitude = self.predict_amplitude(patches, offsets)
        total = diffraction.new_zeros(())
        if training.nll_weight > 0:
            losses["nll"] = poisson_nll(amplitude, diffraction.float(), self.photon_scale)
            total = total + training.nll_weight * losses["nll"]
        if training.mae_weight > 0:
            losses["mae"] = amplitude_mae(amplitude, diffraction.float())
            total = total + training.mae_weight * losses["mae"]
        if training.realspace_weight > 0:
            _check_truth(patches, truth)
            losses["realspace"] = training.realspace_mae_weight * realspace_mae(patches, truth)
            total = total + training.realspace_weight * losses["realspace"]
        losses["loss"] = total
        return losses

    @property
    def intensity_scale(self) -> float:
        """The output scale ``S·e^δ`` (legacy ``intensity_scale``)."""
        return self.photon_scale * math.exp(float(self.log_scale.detach()))


def model_probe(probe, model: ModelConfig) -> tuple[Tensor, float]:
    """A data file's probe as ``model``'s physics uses it (normalised, masked with
    ``probe_mask``), and the normalisation factor: what training, inference and the solver
    each build from a ``probeGuess`` (:func:`ptycho_engine.physics.probe.prepare_probe`).
    """
    return prepare_probe(
        probe, n=model.N, probe_scale=model.probe_scale, probe_mask=model.probe_mask
    )


DESIGN_AMPLITUDE = 0.5
"""Object amplitude that explains the mean measured energy when δ has its initial value."""


def initial_log_scale(probe: Tensor, n: int) -> float:
    """Return δ₀ with which an object of amplitude 0.5 reproduces the mean pattern energy.

    The input is normalised to mean energy (N/2)² and, by Parseval, an object of constant
    amplitude a gives ``a² Σ|P|²``; so ``e^{2δ₀} · 0.25 · Σ|P|² = (N/2)²``. Starting there keeps
    a sigmoid amplitude head in its sensitive range: at δ = 0 it must saturate to explain the
    data, and its gradient vanishes (training then stalls on a flat object).
    """
    return flat_log_scale(probe, n, DESIGN_AMPLITUDE)


def _check_truth(patches: Tensor, truth: Tensor | None) -> None:
    # One truth patch for each predicted patch, at the same place: per channel with
    # object_big, at the group centre without (``group_scan(truth_at_centre=True)``).
    if truth is None:
        raise ValueError("the real-space loss and supervised training need ground-truth patches")
    if truth.shape != patches.shape:
        raise ValueError(
            f"ground-truth patches {tuple(truth.shape)} do not match the predicted patches "
            f"{tuple(patches.shape)}: without object_big the truth is one patch per group, at "
            "the group centre (group_scan(..., truth_at_centre=True))"
        )


def _supervised_loss(patches: Tensor, truth: Tensor | None) -> Tensor:
    # mean amplitude error + mean wrapped phase error, as the real-space loss
    _check_truth(patches, truth)
    return realspace_mae(patches, truth)


def _restore_estimate_probe(module: Pinn, incompatible_keys) -> None:
    pattern_estimate(module.generator).set_probe(module.estimate_probe)


@dataclass(eq=False)
class LoadedBundle:
    """A trained model ready to predict, with the settings it was trained with."""

    module: Pinn
    model: ModelConfig
    training: TrainingConfig
    params: dict
    settings: dict
    scaling: dict
    path: Path

    def to(self, device: str | torch.device) -> LoadedBundle:
        """Move the network to a device (``cpu``, ``cuda``, ``mps``) and return self."""
        self.module.to(device)
        return self

    @torch.no_grad()
    def diffraction_to_obj(self, x: Tensor, positions: Tensor | None = None) -> Tensor:
        """Object patches from amplitudes, in the layout Ptychodus expects.

        Parameters
        ----------
        x : float32 Tensor of shape (B, C, N, N)
            Normalised diffraction amplitudes (mean pattern energy (N/2)²).
        positions : Tensor of shape (B, C, 1, 2), optional
            ``[x, y]`` positions relative to each group centre; with C > 1 and object_big the
            patches are tied through their overlaps, as in training.

        Returns
        -------
        complex64 Tensor of shape (B, C, N, N)
        """
        device = next(self.module.parameters()).device
        patches = self.module(x.to(device, torch.float32))
        if positions is not None:
            patches = self.module.tie(
                patches, positions.reshape(*positions.shape[:2], 2).to(device).float()
            )
        return patches.to(torch.complex64)


def load_bundle(path: str | Path, *, device: str = "cpu") -> LoadedBundle:
    """Load ``wts.h5.zip`` (a directory holding it, or the file) safely: no unpickling."""
    contents = read_bundle(path)
    try:
        model = ModelConfig.model_validate(contents.settings["model"])
        training = TrainingConfig.model_validate({**contents.settings["training"], "model": model})
    except (KeyError, ValueError) as error:
        raise EngineError(
            f"{path}: the settings stored in the bundle are not usable ({error})"
        ) from error
    probe = torch.from_numpy(np.asarray(contents.probe, dtype=np.complex64))
    module = Pinn(model, training, probe, contents.scaling["photon_scale"])  # no Lightning
    state = {
        key: torch.from_numpy(np.asarray(value))
        for key, value in contents.weights["diffraction_to_obj"].items()
    }
    state["probe"] = probe
    written_by = contents.manifest.get("package_version", "an unknown version")
    hint = (
        f"the bundle was written by version {written_by} of this package, whose network "
        "may differ; train it again with this version"
    )
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as error:  # a layer of another shape (torch lists every one)
        first = str(error).strip().splitlines()[-1].strip()
        raise EngineError(
            f"{path}: the weights do not fit this network ({first}); {hint}"
        ) from error
    if missing or unexpected:
        raise EngineError(
            f"{path}: the weights do not fit this network (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); {hint}"
        )
    module.eval()
    return LoadedBundle(
        module, model, training, contents.params, contents.settings, contents.scaling, Path(path)
    ).to(device)
