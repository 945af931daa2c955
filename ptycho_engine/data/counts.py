"""The expected diffraction of a scan and its Poisson counts, stored as sqrt(counts).

The patches and the far field are those of ``ptycho_engine.physics`` (the functions the model
is trained with), so the simulation follows ``ptycho_engine.conventions`` by construction.
"""

from __future__ import annotations

import numpy as np
import torch

from ptycho_engine.physics.farfield import diffraction_intensity
from ptycho_engine.physics.shift import extract_patches

__all__ = ["expected_intensity", "poisson_amplitude"]

_CHUNK = 256  # positions per batch of patch extraction, far field and Poisson draws


def expected_intensity(obj: np.ndarray, probe: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Return the noise-free ``sum_p |far_field(P_p * O_patch)|**2`` at each position.

    Parameters
    ----------
    obj : complex ndarray of shape (H, W)
    probe : complex ndarray of shape (P, N, N)
        Modes add incoherently.
    xy : ndarray of shape (M, 2)
        ``[x, y]`` patch centres in object pixels (``ptycho_engine.conventions``).

    Returns
    -------
    float32 ndarray of shape (M, N, N)
    """
    n = probe.shape[-1]
    obj_t = torch.from_numpy(obj.astype(np.complex64))
    probe_t = torch.from_numpy(probe.astype(np.complex64))
    out = np.empty((len(xy), n, n), dtype=np.float32)
    for start in range(0, len(xy), _CHUNK):
        patches = extract_patches(obj_t, torch.from_numpy(xy[start : start + _CHUNK]), n)
        intensity = diffraction_intensity(patches[:, None], probe_t)  # (chunk, 1, N, N)
        out[start : start + _CHUNK] = intensity[:, 0].numpy()
    return out


def poisson_amplitude(intensity: np.ndarray, s2: float, rng: np.random.Generator) -> np.ndarray:
    """Return ``sqrt(Poisson(s2 * intensity))`` as float32, drawn chunk by chunk (memory)."""
    amplitude = np.empty(intensity.shape, dtype=np.float32)
    for start in range(0, len(intensity), _CHUNK):
        rate = s2 * intensity[start : start + _CHUNK].astype(np.float64)
        amplitude[start : start + _CHUNK] = np.sqrt(rng.poisson(rate))
    return amplitude
