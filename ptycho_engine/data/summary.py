"""Summary statistics of a scan for ``ptycho data check``: size, photons, geometry, overlap.

The probe diameter is the diameter of the disc whose area equals the area where the probe
intensity (summed over modes) is at least 1/e² of its peak. The linear overlap is
1 − (mean nearest-neighbour step) / (probe diameter), clipped to [0, 1].
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from ptycho_engine.conventions import centre_index
from ptycho_engine.data.hdf5 import Hdf5Layout, is_hdf5_path, read_hdf5
from ptycho_engine.data.npz import DiffractionData, canonicalise, load_diffraction
from ptycho_engine.data.synthetic import probe_diameter_px

LOW_OVERLAP = 0.3
"""Linear overlap below which ``data check`` warns: reconstructions need strong overlap."""


@dataclass(frozen=True)
class DataSummary:
    """What ``ptycho data check`` reports about one scan.

    Lengths are in object pixels; photons are sums of amplitude² per frame, which are photon
    counts only when the file stores √counts.
    """

    source: str
    n_positions: int
    N: int  # noqa: N815 - the canonical name of the pattern size
    n_modes: int
    photons_mean: float
    photons_min: float
    photons_max: float
    nphotons_metadata: float | None
    x_range_px: tuple[float, float]
    y_range_px: tuple[float, float]
    mean_step_px: float | None
    probe_diameter_px: float
    linear_overlap: float | None
    object_shape: tuple[int, int] | None
    n_duplicate_positions: int
    n_positions_outside_object: int | None
    warnings: list[str] = field(default_factory=list)
    read_steps: list[str] = field(default_factory=list)
    """How an HDF5 file was read: the datasets used, unit conversions; empty for NPZ."""

    def as_dict(self) -> dict:
        """Return the summary as JSON-serialisable plain values."""
        return dataclasses.asdict(self)


def check_file(
    path: str | os.PathLike,
    *,
    counts: bool = False,
    dc_corner: bool = False,
    layout: Hdf5Layout | None = None,
) -> DataSummary:
    """Load a file and summarise it; warnings raised while loading join the summary's warnings.

    An HDF5 file (by its suffix, or whenever ``layout`` is given) is read with ``layout``'s
    dataset paths, else through its NeXus entry; the summary's ``read_steps`` say how.
    """
    steps: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if layout is not None or is_hdf5_path(path):
            arrays, steps = read_hdf5(path, layout, counts=counts, dc_corner=dc_corner)
            data = canonicalise(arrays, source=path)[0]
        else:
            data = load_diffraction(path, counts=counts, dc_corner=dc_corner)
    summary = summarize(data)
    loader_notes = [str(item.message) for item in caught]
    return dataclasses.replace(summary, warnings=loader_notes + summary.warnings, read_steps=steps)


def summarize(data: DiffractionData) -> DataSummary:
    """Compute the summary of validated data.

    Parameters
    ----------
    data : DiffractionData
        A validated scan.

    Returns
    -------
    DataSummary
        Statistics and warnings (low overlap, duplicates, positions off the object).
    """
    photons = np.sum(np.square(data.diffraction, dtype=np.float64), axis=(1, 2))  # (M,)
    xy = data.positions_xy
    step = _mean_nearest_step(xy)
    diameter = probe_diameter_px(data.probe)
    overlap = None if step is None else float(np.clip(1.0 - step / diameter, 0.0, 1.0))
    _, copies = np.unique(xy, axis=0, return_counts=True)
    duplicates = int(np.sum(copies[copies > 1]))
    outside = None if data.object is None else _count_outside(xy, data.N, data.object.shape)
    nphotons = data.metadata.get("nphotons")
    summary = DataSummary(
        source=str(data.source),
        n_positions=data.n_positions,
        N=data.N,
        n_modes=data.n_modes,
        photons_mean=float(photons.mean()),
        photons_min=float(photons.min()),
        photons_max=float(photons.max()),
        nphotons_metadata=_as_number(nphotons),
        x_range_px=(float(data.xcoords.min()), float(data.xcoords.max())),
        y_range_px=(float(data.ycoords.min()), float(data.ycoords.max())),
        mean_step_px=step,
        probe_diameter_px=diameter,
        linear_overlap=overlap,
        object_shape=None if data.object is None else tuple(int(s) for s in data.object.shape),
        n_duplicate_positions=duplicates,
        n_positions_outside_object=outside,
    )
    return dataclasses.replace(summary, warnings=_warnings(summary) + _layout_hints(data))


def _mean_nearest_step(xy: np.ndarray) -> float | None:
    # Duplicated positions would pull the mean towards 0; the step is between distinct positions.
    distinct = np.unique(xy, axis=0)
    if len(distinct) < 2:
        return None
    distances, _ = cKDTree(distinct).query(distinct, k=2)  # (M', 2); column 0 is the point itself
    return float(distances[:, 1].mean())


def _count_outside(xy: np.ndarray, n: int, object_shape: tuple[int, int]) -> int:
    """Count positions whose N x N patch is not wholly inside the object.

    The patch of a position p covers object pixels p - N//2 … p - N//2 + N - 1 on each axis
    (``ptycho_engine.conventions``).
    """
    height, width = object_shape
    first = xy - centre_index(n)  # (M, 2), [x, y] of patch pixel 0
    last = first + n - 1
    off = (first < 0).any(axis=1) | (last[:, 0] > width - 1) | (last[:, 1] > height - 1)
    return int(np.count_nonzero(off))


def _warnings(summary: DataSummary) -> list[str]:
    notes = []
    if summary.linear_overlap is not None and summary.linear_overlap < LOW_OVERLAP:
        notes.append(
            f"low probe overlap {summary.linear_overlap:.2f} (< {LOW_OVERLAP}): mean step "
            f"{summary.mean_step_px:.1f} px for a probe {summary.probe_diameter_px:.1f} px wide"
        )
    if summary.mean_step_px is None:
        notes.append("fewer than two distinct positions: the step and overlap cannot be estimated")
    if summary.n_positions_outside_object:
        notes.append(
            f"{summary.n_positions_outside_object} of {summary.n_positions} positions have their "
            f"{summary.N}x{summary.N} patch extending past objectGuess {summary.object_shape}"
        )
    if summary.n_duplicate_positions:
        notes.append(f"{summary.n_duplicate_positions} positions share their (x, y) with another")
    return notes


def _layout_hints(data: DiffractionData) -> list[str]:
    """Say when the patterns look like counts, or like the zero frequency sits at a corner.

    Real patterns peak at the zero frequency, and √counts is seldom a whole number; both are
    hints only, since the file cannot say which form it stores.
    """
    notes = []
    mean_pattern = data.diffraction.mean(axis=0)  # (N, N)
    row, col = np.unravel_index(np.argmax(mean_pattern), mean_pattern.shape)
    n, near = data.N, max(1, data.N // 8)
    if min(row, n - row) <= near and min(col, n - col) <= near:
        notes.append(
            f"the mean pattern peaks at pixel ({row}, {col}), near a corner: the zero frequency "
            "may be at the corner (use --dc-corner)"
        )
    values = data.diffraction
    if values.max() > 1 and np.array_equal(values, np.round(values)):
        notes.append(
            "every diffraction value is a whole number: the file may store photon counts "
            "rather than amplitudes (use --counts)"
        )
    return notes


def _as_number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
