"""The forward model: object patches to predicted diffraction amplitude, composed of stages.

Stages (conventions: see ``ptycho_engine.conventions``):

1. object_big (when ``offsets`` are given): merge each group's C patches on a shared canvas
   (:func:`~ptycho_engine.physics.shift.merge_group`) and re-extract every channel at its own
   offset (:func:`~ptycho_engine.physics.shift.extract_group`), which ties overlapping patches;
2. illuminate with the probe modes and propagate to the far field
   (:func:`~ptycho_engine.physics.farfield.diffraction_amplitude`).
"""

from __future__ import annotations

from torch import Tensor

from ptycho_engine.physics.farfield import diffraction_amplitude
from ptycho_engine.physics.shift import extract_group, merge_group

__all__ = ["forward_amplitude", "tie_overlaps"]


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
