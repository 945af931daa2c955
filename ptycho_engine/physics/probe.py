"""Probe normalisation and the soft circular probe mask.

The probe is normalised once, by :func:`normalise_probe`, and the same tensor is used in
training and in inference, so the object's amplitude scale does not depend on the scale of the
stored probe. Layout and mode sum: see ``ptycho_engine.conventions``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "PROBE_TOLERANCE",
    "normalise_probe",
    "prepare_probe",
    "probe_difference",
    "probe_weight",
    "soft_disk_mask",
]


def soft_disk_mask(
    n: int,
    *,
    diameter_px: float | None = None,
    edge_sigma_px: float = 1.0,
    device=None,
    dtype=torch.float32,
) -> Tensor:
    """Return a disk mask with a Gaussian-blurred edge, peak 1, centred on pixel ``[N//2, N//2]``.

    Parameters
    ----------
    n : int
        Size N of the (N, N) mask.
    diameter_px : float, optional
        Disk diameter in pixels; default ``N / 2``, the support that oversamples the
        diffraction by 2.
    edge_sigma_px : float
        Width of the edge: the mask is ``Phi((R - r) / sigma)`` with ``Phi`` the standard normal
        CDF (a hard disk convolved with a 1-D Gaussian across the edge); 0 gives a hard disk.

    Returns
    -------
    real Tensor of shape (N, N)
    """
    radius = (n / 2 if diameter_px is None else diameter_px) / 2
    coord = torch.arange(n, device=device, dtype=torch.float64) - n // 2  # (N,)
    r = torch.sqrt(coord[:, None] ** 2 + coord[None, :] ** 2)  # (N, N)
    if edge_sigma_px <= 0:
        mask = (r <= radius).to(torch.float64)
    else:
        mask = 0.5 * torch.erfc((r - radius) / (edge_sigma_px * 2**0.5))
    return (mask / mask.max()).to(dtype)


def normalise_probe(
    probe: Tensor,
    *,
    probe_scale: float = 4.0,
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Scale the probe so its mean masked amplitude is ``1 / probe_scale``.

    With ``A = sqrt(sum_p |probe_p|**2)`` the total (incoherent) amplitude of the modes and
    ``M`` the mask, the returned probe is ``q * probe`` with::

        q = 1 / (probe_scale * mean_{N x N}(M * A))

    The mean runs over all N×N pixels (pixels outside the mask count as zero), as in the
    reference engine: a flat disk of diameter N/2 then carries energy ``N**2 / pi`` and an
    object of amplitude about 0.9 gives the normalised input energy ``(N/2)**2``. For one mode
    ``A = |probe|``; for several, the joint norm is unchanged by a unitary mixing of the modes
    (which leaves the incoherent intensity unchanged), and the modes keep their relative power.

    Parameters
    ----------
    probe : complex Tensor of shape (N, N) or (P, N, N)
    probe_scale : float
        Target ``1 / mean(M * A)``; must be > 0.
    mask : real Tensor of shape (N, N), optional
        E.g. :func:`soft_disk_mask`; default: no mask (ones).

    Returns
    -------
    probe : complex Tensor, same shape as the input
        ``q * probe``.
    q : real 0-d Tensor
        The factor, to be stored with the model so inference reuses it.
    """
    if probe_scale <= 0:
        raise ValueError(f"probe_scale must be > 0, got {probe_scale}")
    modes = probe if probe.ndim == 3 else probe[None]  # (P, N, N)
    amplitude = torch.sqrt((modes.abs() ** 2).sum(dim=0))  # (N, N)
    if mask is not None:
        amplitude = amplitude * mask
    mean_amplitude = amplitude.mean()
    if not bool(mean_amplitude > 0):
        raise ValueError("the probe is zero (inside the mask); it cannot be normalised")
    q = 1 / (probe_scale * mean_amplitude)
    return probe * q, q


def probe_weight(probe: Tensor) -> Tensor:
    """Return ``sum_p |probe_p|**2`` normalised to a maximum of 1, shape (N, N).

    How much each pixel of a patch is lit, hence how strongly its data determine it: the weight
    of a patch where patches are stitched (``ptycho_engine.physics.canvas``) or merged
    (``ptycho_engine.physics.forward.merge_weight``).
    """
    intensity = (probe.abs() ** 2).sum(dim=0) if probe.ndim == 3 else probe.abs() ** 2
    return (intensity / intensity.max()).float()


def prepare_probe(
    probe: np.ndarray, *, n: int, probe_scale: float, probe_mask: bool
) -> tuple[Tensor, float]:
    """Normalise (and mask) a data file's probe once; the same tensor serves training,
    inference and the iterative solver.

    Parameters
    ----------
    probe : complex array of shape (N, N) or (P, N, N)
        ``probeGuess`` as stored.
    n : int
        Patch size N (``ModelConfig.N``).
    probe_scale : float
        ``ModelConfig.probe_scale`` (see :func:`normalise_probe`).
    probe_mask : bool
        Multiply by :func:`soft_disk_mask` (``ModelConfig.probe_mask``).

    Returns
    -------
    probe : complex64 Tensor
        The normalised (and masked) probe.
    q : float
        The normalisation factor applied (stored in bundles as ``probe_normalisation``).
    """
    tensor = torch.from_numpy(np.asarray(probe, dtype=np.complex64))
    mask = soft_disk_mask(n) if probe_mask else None
    normalised, q = normalise_probe(tensor, probe_scale=probe_scale, mask=mask)
    if mask is not None:
        normalised = normalised * mask
    return normalised.to(torch.complex64), float(q)


PROBE_TOLERANCE = 0.05
"""Largest :func:`probe_difference` at which two normalised probes count as the same probe."""


def probe_difference(probe: Tensor, reference: Tensor) -> float:
    """Relative difference ``min_c ||probe − e^{ic}·reference|| / ||reference||`` of two probes.

    Both are normalised probes (:func:`prepare_probe`) of shape (P, N, N) or (N, N); a global
    phase is not a difference (it does not change the data). Probes of different shapes or
    mode counts differ by ``inf``.
    """
    a = probe.reshape(-1, *probe.shape[-2:]).to(torch.complex128)
    b = reference.reshape(-1, *reference.shape[-2:]).to(torch.complex128)
    if a.shape != b.shape:
        return float("inf")
    inner = torch.sum(b.conj() * a)  # e^{ic} = inner/|inner| minimises the distance
    phase = inner / inner.abs() if inner.abs() > 0 else torch.ones((), dtype=inner.dtype)
    norm = torch.linalg.vector_norm(b)
    return float(torch.linalg.vector_norm(a - phase * b) / norm) if norm > 0 else float("inf")
