"""The scaling contract: input normalisation, photon scale and dose from amplitudes.

The three numbers tie the stored amplitudes ``X = sqrt(counts)`` (see
``ptycho_engine.conventions``) to the network and the Poisson likelihood:

- ``alpha = input_normalisation(X)``: the network sees ``alpha * X``, whose mean pattern energy
  ``mean_m sum_uv (alpha * X)**2`` is ``(N/2)**2``. Computed once, on the training data, and
  stored in the bundle: validation and inference scale their data by the same alpha (unless
  ``ptycho infer --renormalise`` recomputes it on data of another dose).
- ``S = photon_scale(nphotons, N) = sqrt(nphotons) / (N/2)``: the Poisson rate is
  ``(S * A_pred)**2`` and the counts are ``(S * alpha * X)**2``, with mean total
  ``S**2 * (N/2)**2 = nphotons`` per pattern. ``nphotons`` only sets the confidence of the
  likelihood, never the data values.
- ``nphotons_from_amplitude(X) = mean_m sum_uv X**2``: the dose when ``X`` is ``sqrt(counts)``;
  then ``S * alpha = 1`` and the likelihood sees the measured counts themselves.

Sums of squares run in float64: squaring large integer-valued amplitudes in float32 loses
digits, and in integer types it overflows.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ptycho_engine.conventions import photon_target_energy

__all__ = [
    "flat_log_scale",
    "input_normalisation",
    "mean_pattern_energy",
    "nphotons_from_amplitude",
    "photon_scale",
]

_CHUNK = 1024  # patterns per float64 chunk, so a large dataset is never copied whole


def mean_pattern_energy(diffraction: Tensor | np.ndarray) -> float:
    """Return ``mean_m sum_uv X[m]**2`` in float64.

    Parameters
    ----------
    diffraction : Tensor or ndarray of shape (..., N, N)
        Amplitudes; every leading axis counts as a pattern axis.
    """
    patterns = torch.as_tensor(diffraction).reshape(-1, *diffraction.shape[-2:])  # (M, N, N)
    if patterns.shape[0] == 0:
        raise ValueError("no diffraction patterns to take statistics of")
    total = torch.zeros((), dtype=torch.float64, device=patterns.device)
    for start in range(0, patterns.shape[0], _CHUNK):
        chunk = patterns[start : start + _CHUNK].to(torch.float64)  # (<=CHUNK, N, N)
        total = total + chunk.square().sum()
    return float(total) / patterns.shape[0]


def input_normalisation(diffraction: Tensor | np.ndarray) -> float:
    """Return ``alpha`` with ``alpha**2 * mean_m sum_uv X**2 = (N/2)**2``.

    Parameters
    ----------
    diffraction : Tensor or ndarray of shape (..., N, N)
        Stored amplitudes of the training patterns.
    """
    energy = mean_pattern_energy(diffraction)
    if not energy > 0:
        raise ValueError("the diffraction patterns are all zero; they cannot be normalised")
    return math.sqrt(photon_target_energy(diffraction.shape[-1]) / energy)


def photon_scale(nphotons: float, n: int) -> float:
    """Return the photon scale ``S = sqrt(nphotons) / (N/2)``.

    Parameters
    ----------
    nphotons : float
        Mean total counts per pattern; must be > 0.
    n : int
        Pattern size N.
    """
    if not nphotons > 0:
        raise ValueError(f"nphotons must be > 0, got {nphotons}")
    return math.sqrt(nphotons / photon_target_energy(n))


def nphotons_from_amplitude(diffraction: Tensor | np.ndarray) -> float:
    """Return the mean total counts per pattern, ``mean_m sum_uv X**2``, of ``X = sqrt(counts)``."""
    return mean_pattern_energy(diffraction)


def flat_log_scale(probe: Tensor, n: int, amplitude: float = 1.0) -> float:
    """δ with which a flat object of ``amplitude`` reproduces the mean pattern energy (N/2)².

    By Parseval (orthonormal far field) a flat object of amplitude a gives the energy
    ``a²·Σ|P|²``; so ``e^{2δ}·a²·Σ|P|² = (N/2)²``.
    """
    energy = float((probe.abs() ** 2).sum())
    return 0.5 * math.log(photon_target_energy(n) / (amplitude**2 * energy))
