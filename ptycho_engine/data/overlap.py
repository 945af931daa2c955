"""Probe footprint, scan step and the linear overlap of neighbouring probe footprints.

Definitions (one place; the simulator and its tests use these functions):

Footprint diameter
    ``D90``: the diameter of the smallest circle, centred on the intensity centroid, that holds
    :data:`FOOTPRINT_ENERGY` (90 %) of the probe's energy ``sum_p |probe_p|**2`` (modes add
    incoherently). The radius is found on the pixel grid: pixels sorted by their distance to
    the centroid, energy accumulated, and the 90 % crossing interpolated linearly between the
    two pixels around it. A flat disk of diameter ``d`` has ``D90 = sqrt(0.9) d ≈ 0.949 d``;
    a probe with side lobes (``zoneplate``) has a footprint wider than its central lobe.
Scan step
    The mean, over the distinct positions, of the distance to the nearest other position,
    in object pixels.
Linear overlap
    ``1 - step / D90``: 0 when neighbouring footprints just touch, 0.6 when the step is 40 %
    of the footprint; negative when there are gaps between footprints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

__all__ = [
    "FOOTPRINT_ENERGY",
    "Overlap",
    "footprint_diameter_px",
    "linear_overlap",
    "mean_nearest_step_px",
    "measure_overlap",
    "rescale_to_mean_step",
    "step_for_overlap",
]

FOOTPRINT_ENERGY = 0.9
"""Share of the probe energy inside the footprint circle (see the module docstring)."""


def footprint_diameter_px(probe: np.ndarray, *, energy: float = FOOTPRINT_ENERGY) -> float:
    """Return the diameter of the circle holding ``energy`` of the probe's energy.

    Parameters
    ----------
    probe : complex ndarray of shape (N, N) or (P, N, N)
        One probe or P incoherent modes (their intensities add).
    energy : float
        Share of the energy inside the circle, in (0, 1); default 0.9.

    Returns
    -------
    float
        Footprint diameter in pixels, about the intensity centroid.
    """
    if not 0 < energy < 1:
        raise ValueError(f"energy must be in (0, 1), got {energy}")
    intensity = (np.abs(np.asarray(probe)) ** 2).reshape(-1, *np.shape(probe)[-2:]).sum(axis=0)
    total = intensity.sum(dtype=np.float64)
    if not total > 0:
        raise ValueError("the probe has no energy; its footprint is undefined")
    rows, cols = np.indices(intensity.shape)
    cy, cx = (intensity * rows).sum() / total, (intensity * cols).sum() / total
    radius = np.hypot(rows - cy, cols - cx).ravel()
    order = np.argsort(radius, kind="stable")
    radius = radius[order]
    cumulative = np.cumsum(intensity.ravel()[order], dtype=np.float64) / total  # (N*N,)
    k = int(np.searchsorted(cumulative, energy))  # first pixel reaching the share
    if k == 0:
        return 2 * float(radius[0])
    low, high = cumulative[k - 1], cumulative[k]
    t = (energy - low) / (high - low) if high > low else 1.0
    return 2 * float(radius[k - 1] + t * (radius[k] - radius[k - 1]))


def linear_overlap(step_px: float, diameter_px: float) -> float:
    """Return the linear overlap ``1 - step_px / diameter_px`` of two footprints a step apart."""
    return 1.0 - step_px / diameter_px


def step_for_overlap(overlap: float, diameter_px: float) -> float:
    """Return the scan step (px) giving a linear ``overlap`` in [0, 1) for a footprint.

    It is ``(1 - overlap) * diameter_px``, ``diameter_px`` the footprint diameter.
    """
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    return (1.0 - overlap) * diameter_px


def mean_nearest_step_px(positions_xy: np.ndarray) -> float | None:
    """Return the mean nearest-neighbour distance of the distinct ``[x, y]`` positions (M, 2).

    ``None`` when there are fewer than two distinct positions. Duplicated positions are
    counted once, so they do not pull the mean towards 0.
    """
    distinct = np.unique(np.asarray(positions_xy, dtype=np.float64), axis=0)
    if len(distinct) < 2:
        return None
    distances, _ = cKDTree(distinct).query(distinct, k=2)  # column 0 is the point itself
    return float(distances[:, 1].mean())


def rescale_to_mean_step(offsets_xy: np.ndarray, step_px: float) -> np.ndarray:
    """Scale a scan pattern centred on 0 so its mean nearest-neighbour step is ``step_px``.

    Distances scale linearly with the pattern, so the result has exactly the requested mean
    step (a single position is returned unchanged).
    """
    measured = mean_nearest_step_px(offsets_xy)
    if measured is None or not measured > 0:
        return offsets_xy
    return offsets_xy * (step_px / measured)


@dataclass(frozen=True)
class Overlap:
    """The overlap a scan actually has: its mean step, the footprint and their ratio."""

    mean_step_px: float | None
    footprint_diameter_px: float
    overlap: float | None

    def as_dict(self) -> dict:
        """Return plain values (JSON-serialisable)."""
        return {
            "mean_step_px": self.mean_step_px,
            "footprint_diameter_px": self.footprint_diameter_px,
            "overlap": self.overlap,
        }


def measure_overlap(data_or_xy, probe: np.ndarray | None = None) -> Overlap:
    """Measure the linear overlap a scan obtained (see the module docstring).

    Parameters
    ----------
    data_or_xy : dict of arrays or ndarray of shape (M, 2)
        A dataset with ``xcoords``, ``ycoords`` and ``probeGuess`` (e.g. the output of
        ``simulate``), or the ``[x, y]`` positions in object pixels.
    probe : complex ndarray of shape (N, N) or (P, N, N), optional
        Needed when positions are given; default the dataset's ``probeGuess``.

    Returns
    -------
    Overlap
        ``mean_step_px`` and ``overlap`` are ``None`` for fewer than two distinct positions.
    """
    if isinstance(data_or_xy, dict):
        xy = np.stack([data_or_xy["xcoords"], data_or_xy["ycoords"]], axis=1)
        probe = data_or_xy["probeGuess"] if probe is None else probe
    else:
        xy = np.asarray(data_or_xy)
    if probe is None:
        raise ValueError("measure_overlap needs the probe when given positions")
    diameter = footprint_diameter_px(probe)
    step = mean_nearest_step_px(xy)
    overlap = None if step is None else linear_overlap(step, diameter)
    return Overlap(step, diameter, overlap)
