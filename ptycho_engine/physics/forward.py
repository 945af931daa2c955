"""The forward model: object patches to predicted diffraction amplitude, composed of stages.

Stages (conventions: see ``ptycho_engine.conventions``):

1. object_big (when ``offsets`` are given): merge each group's C patches on a shared canvas
   (:func:`~ptycho_engine.physics.shift.merge_group`) and re-extract every channel at its own
   offset (:func:`~ptycho_engine.physics.shift.extract_group`), which ties overlapping patches;
2. illuminate with the probe modes and propagate to the far field
   (:func:`~ptycho_engine.physics.farfield.diffraction_amplitude`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ptycho_engine.physics.farfield import diffraction_amplitude
from ptycho_engine.physics.probe import probe_weight
from ptycho_engine.physics.shift import extract_group, merge_group

__all__ = ["PROBE_WEIGHT_FLOOR", "forward_amplitude", "merge_weight", "tie_overlaps"]

PROBE_WEIGHT_FLOOR = 1e-3
"""Added to the normalised ``|P|²`` of the ``probe`` merge weight: a canvas pixel that only dim
patch rims reach still gets their average instead of a 0/0, while wherever a patch is brightly
lit its value dominates."""


def merge_weight(kind: str, probe: Tensor) -> Tensor | None:
    """Per-pixel weight (N, N) of each patch in the overlap merge (``training_patch_weighting``).

    ``probe``: :func:`~ptycho_engine.physics.probe.probe_weight` (``|P|²`` summed over modes,
    maximum 1) plus :data:`PROBE_WEIGHT_FLOOR`: each pixel follows the patterns that illuminate it, which are the
    ones whose data determine it (a uniform average lets the unconstrained, dark rim of one
    patch overwrite the bright centre of its neighbour). ``central_mask``: 1 on the central
    N/2 × N/2, 0 elsewhere (upstream's default). ``uniform``: ``None``, every pixel counts alike.
    """
    n = probe.shape[-1]
    if kind == "uniform":
        return None
    if kind == "central_mask":
        mask = torch.zeros(n, n, device=probe.device)
        mask[n // 4 : n // 4 + n // 2, n // 4 : n // 4 + n // 2] = 1.0
        return mask
    if kind == "probe":
        return probe_weight(probe.detach()) + PROBE_WEIGHT_FLOOR
    raise ValueError(f"unknown patch weighting {kind!r}: expected probe, central_mask or uniform")


def tie_overlaps(patches: Tensor, offsets: Tensor, *, merge_weight: Tensor | None = None) -> Tensor:
    """Merge the patches of each group by their offsets and re-extract them (object_big).

    Parameters
    ----------
    patches : complex Tensor of shape (B, C, N, N)
    offsets : Tensor of shape (B, C, 2)
        ``[x, y]`` offset of each channel from its group centre.
    merge_weight : real Tensor of shape (N, N), optional
        Per-pixel weight of each patch in the merge (default: uniform).

    Returns
    -------
    complex Tensor of shape (B, C, N, N)
    """
    canvas = merge_group(patches, offsets, weight=merge_weight)  # (B, M, M)
    return extract_group(canvas, offsets, patches.shape[-1])  # (B, C, N, N)


def forward_amplitude(
    patches: Tensor,
    probe: Tensor,
    *,
    offsets: Tensor | None = None,
    merge_weight: Tensor | None = None,
    smoothing_sigma_px: float = 0.0,
) -> Tensor:
    """Predict the diffraction amplitude of object patches.

    Parameters
    ----------
    patches : complex Tensor of shape (B, C, N, N)
        Object patches from the generator.
    probe : complex Tensor of shape (P, N, N)
        Normalised (and, if wanted, masked) probe modes.
    offsets : Tensor of shape (B, C, 2), optional
        Channel offsets from the group centre; given, the patches are tied by
        :func:`tie_overlaps` first (object_big). ``None`` uses the patches as they are.
    merge_weight : real Tensor of shape (N, N), optional
        Passed to :func:`tie_overlaps`.
    smoothing_sigma_px : float
        Gaussian blur of the exit wave; 0 is off.

    Returns
    -------
    real Tensor of shape (B, C, N, N)
    """
    if offsets is not None:
        patches = tie_overlaps(patches, offsets, merge_weight=merge_weight)
    return diffraction_amplitude(patches, probe, smoothing_sigma_px=smoothing_sigma_px)
