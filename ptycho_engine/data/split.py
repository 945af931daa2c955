"""Split one scan into spatially disjoint train and test regions (no shared object pixel).

The split is along one axis of the object (``ptycho_engine.conventions``: x the column, y the
row): the low side (left columns, or top rows) trains, the high side (right columns, or bottom
rows) tests, and positions whose patch straddles the cut are dropped.
"""

from __future__ import annotations

import json

import numpy as np

from ptycho_engine.errors import EngineError

__all__ = ["SPLIT_AXES", "split_by_axis", "split_by_x"]

SPLIT_AXES = ("x", "y")
"""``x``: train left, test right (columns); ``y``: train top, test bottom (rows)."""

PER_POSITION = ("diff3d", "xcoords", "ycoords", "scan_index")
"""Arrays with one entry per scan position, subset by a split; the others are kept whole."""


def split_by_axis(data: dict[str, np.ndarray], test_fraction: float, *, axis: str = "x"):
    """Split a dataset into spatially disjoint train (low side) and test (high side) parts.

    Along ``axis`` (``x``: columns, ``y``: rows), a position is kept for training when every
    object pixel its patch reads (``floor(c) - N//2`` to ``floor(c) + N//2``, bilinear tap
    included, ``c`` its coordinate) lies before a cut, and for testing when they all lie at or
    after it; positions whose patch straddles the cut are dropped, so no object pixel is seen
    by both parts. The cut is the one that brings the test share of the kept positions closest
    to ``test_fraction``. Both parts keep the full ``objectGuess`` and the same coordinate
    frame; their ``_metadata`` records ``split``, the cut (``split_x_cut_px`` or
    ``split_y_cut_px``, object pixels), ``split_axis`` and ``test_fraction``.

    Parameters
    ----------
    data : dict of arrays
        A dataset in the NPZ layout (``simulate``'s output).
    test_fraction : float
        Wanted share of the kept positions in the test part, in (0, 1).
    axis : {"x", "y"}
        ``x``: train left / test right; ``y``: train top rows / test bottom rows.

    Returns
    -------
    train, test : dict of arrays
    dropped : int
        Positions in neither part.
    """
    if not 0 < test_fraction < 1:
        raise EngineError(
            f"--test-fraction must be between 0 and 1 (exclusive), got {test_fraction}"
        )
    if axis not in SPLIT_AXES:
        raise EngineError(f"unknown split axis {axis!r}; use one of {', '.join(SPLIT_AXES)}")
    n = data["diff3d"].shape[-1]
    coords = data["xcoords" if axis == "x" else "ycoords"]
    first = np.floor(coords).astype(int) - n // 2  # first pixel each patch reads on the axis
    cut = _best_cut(np.sort(first), n, test_fraction)
    parts = {"train": first + n < cut, "test": first >= cut}
    if not all(keep.any() for keep in parts.values()):
        raise EngineError(
            f"--test-fraction {test_fraction} leaves an empty train or test part; "
            "use more positions or a fraction nearer 0.5"
        )
    out = []
    for name, keep in parts.items():
        metadata = json.loads(str(data["_metadata"]))
        metadata.update(split=name, split_axis=axis, test_fraction=test_fraction)
        metadata[f"split_{axis}_cut_px"] = cut
        part = {k: (v[keep] if k in PER_POSITION else v) for k, v in data.items()}
        part["_metadata"] = np.array(json.dumps(metadata))
        out.append(part)
    dropped = len(first) - sum(int(keep.sum()) for keep in parts.values())
    return out[0], out[1], dropped


def split_by_x(data: dict[str, np.ndarray], test_fraction: float):
    """Split into train (left) and test (right) parts: :func:`split_by_axis` along ``x``."""
    return split_by_axis(data, test_fraction, axis="x")


def _best_cut(first_sorted: np.ndarray, n: int, test_fraction: float) -> int:
    """Return the cut whose kept test share is nearest ``test_fraction`` (see split_by_axis)."""
    cuts = np.arange(first_sorted[0] + n + 1, first_sorted[-1] + 1)  # both parts can be non-empty
    if len(cuts) == 0:
        raise EngineError(
            "the scan is narrower than two patches; it cannot be split into disjoint parts"
        )
    n_train = np.searchsorted(first_sorted, cuts - n, side="left")  # first + n < cut
    n_test = len(first_sorted) - np.searchsorted(first_sorted, cuts, side="left")  # first >= cut
    share = n_test / np.maximum(n_train + n_test, 1)
    return int(cuts[np.argmin(np.abs(share - test_fraction))])
