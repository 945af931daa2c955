"""Reading a scan from an HDF5 file: named dataset paths, or a NeXus NXcxi_ptycho entry.

Each array of the data contract is read from a dataset path (:class:`Hdf5Layout`); a path not
given is looked for in the recognised layout (``ptycho_settings.data_summary.NEXUS_PATHS``).
Positions in metres become object pixels through the object pixel size
(:mod:`ptycho_engine.data.nexus`). The frames are read in blocks of :data:`BLOCK_FRAMES`, so
that converting a file larger than memory holds at most two blocks, the one written and the
one read (:func:`ptycho_engine.data.convert.convert_file`). Every problem is one :class:`DataError`
naming the file, the dataset path and what is wrong.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ptycho_engine.data import _checks as checks
from ptycho_engine.data import nexus
from ptycho_engine.errors import DataError
from ptycho_settings.hdf5_files import (
    find_dataset,
    frames_problem,
    hdf5_damage,
    is_hdf5_path,
    locate_dataset,
    not_found,
    one_line,
    open_hdf5,
)

__all__ = ["BLOCK_FRAMES", "Hdf5Layout", "Hdf5Scan", "is_hdf5_path", "open_scan", "read_hdf5"]

BLOCK_FRAMES = 256
"""Frames read at a time."""
POSITION_UNITS = ("m", "px")
COUNT_UNITS = frozenset({"counts", "count", "cts", "photons", "photon counts"})
"""``units`` of a frames dataset that say it holds photon counts (NeXus detector data)."""


@dataclass(frozen=True)
class Hdf5Layout:
    """Where the arrays of the data contract are in an HDF5 file.

    Attributes
    ----------
    diffraction, x, y, probe, object : str or None
        Dataset paths of the frames (M, N, N), the positions (M,) each, the probe (N, N) or
        (P, N, N) and the object (H, W); None: looked for in the NeXus layout (the object
        never is).
    pixel_size_m : float or None
        Object pixel size in metres, for positions in metres; None: from the file's geometry.
    positions_unit : {"m", "px"} or None
        Unit of the positions; None: the ``units`` attribute, else metres for NeXus
        translations, else an error.
    """

    diffraction: str | None = None
    x: str | None = None
    y: str | None = None
    probe: str | None = None
    object: str | None = None
    pixel_size_m: float | None = None
    positions_unit: str | None = None

    def __post_init__(self) -> None:
        if self.positions_unit not in (None, *POSITION_UNITS):
            raise DataError(f"--positions-unit {self.positions_unit!r}: expected m or px")
        size = self.pixel_size_m
        if size is not None and not (math.isfinite(size) and size > 0):
            raise DataError(f"--pixel-size {size!r}: expected a positive number of metres")
        if (self.x is None) != (self.y is None):
            raise DataError("--x and --y name the two position datasets; give both or neither")


@dataclass
class Hdf5Scan:
    """What an HDF5 file holds, its small arrays read and validated; the frames stay on disk.

    ``probe`` is (P, N, N) complex64 and ``xcoords``/``ycoords`` are in object pixels; each is
    None when the file has none and it was not required.
    """

    source: Path
    frames: Any  # the h5py.Dataset (M, N, N), open while the scan's ``with`` block runs
    xcoords: np.ndarray | None
    ycoords: np.ndarray | None
    probe: np.ndarray | None
    object: np.ndarray | None
    metadata: dict
    steps: list[str] = field(default_factory=list)
    stored_counts: bool = False
    """The frames' ``units`` attribute says counts: they are read as with ``counts=True``."""

    @property
    def n_positions(self) -> int:
        """Number of frames M (rows × columns of a raster scan's (rows, columns, N, N))."""
        return n_frames(self.frames)

    @property
    def N(self) -> int:  # noqa: N802 - N is the canonical name of the pattern size
        """Side of the frames."""
        return int(self.frames.shape[-1])

    def blocks(
        self, *, counts: bool, dc_corner: bool, block_frames: int = BLOCK_FRAMES
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first frame, amplitudes)`` blocks in canonical form, float32 (B, N, N)."""
        name, where = self.frames.name, self.source
        counts = counts or self.stored_counts
        if self.frames.dtype.kind in "iu" and not counts:
            # as for NPZ files (ptycho_engine.data._checks.diffraction): amplitudes are never
            # integers, detectors write integer counts
            raise DataError(
                f"{where}: '{name}' holds integers ({self.frames.dtype}), which are photon "
                "counts, not the amplitudes sqrt(counts) of the data contract; pass --counts "
                "to `ptycho data check` or `ptycho data convert`, or give the dataset the "
                "attribute units='counts' to have it read as counts everywhere"
            )
        # A raster (rows, columns, N, N) is read in whole rows, frame k = row · columns + column.
        columns = int(self.frames.shape[1]) if self.frames.ndim == 4 else 1
        step = max(1, block_frames // columns)
        for first in range(0, int(self.frames.shape[0]), step):
            last = min(int(self.frames.shape[0]), first + step)
            start, stop = first * columns, last * columns
            try:
                raw = self.frames[first:last].reshape(-1, self.N, self.N)
            except (OSError, RuntimeError, ValueError) as problem:
                raise DataError(
                    f"{where}: '{name}' frames {start}..{stop - 1} cannot be read (truncated or "
                    f"corrupt file, or a compression filter h5py lacks?): {one_line(problem)}"
                ) from None
            with np.errstate(over="ignore", invalid="ignore"):
                block = np.asarray(raw, dtype=np.float32)  # float64 beyond float32 -> inf
            finite = np.isfinite(block)
            if not finite.all():
                first = start + int(np.argwhere(~finite)[0][0])
                raise DataError(
                    f"{where}: '{name}' has non-finite value(s) (NaN, inf, or too large for "
                    f"float32), the first in frame {first}; expected finite"
                )
            lowest = float(block.min())
            if lowest < 0:
                first = start + int(np.argwhere(block < 0)[0][0])
                kind = "counts" if counts else "amplitudes"
                raise DataError(
                    f"{where}: '{name}' has negative values (min {lowest:g} in frame {first}); "
                    f"{kind} must be >= 0"
                )
            if counts:
                np.sqrt(block, out=block)
            if dc_corner:
                block = np.fft.fftshift(block, axes=(-2, -1))
            yield start, block


def n_frames(frames: Any) -> int:
    """M of frames (M, N, N), rows × columns of a raster scan's (rows, columns, N, N)."""
    return math.prod(int(size) for size in frames.shape[:-2])


def transform_steps(*, counts: bool, dc_corner: bool) -> list[str]:
    """The lines saying what :meth:`Hdf5Scan.blocks` does to the frames."""
    steps = ["took the square root of photon counts to get amplitudes"] if counts else []
    return steps + (["moved zero frequency from the corner to the centre"] if dc_corner else [])


@contextlib.contextmanager
def open_scan(
    path,
    layout: Hdf5Layout | None = None,
    *,
    need_probe: bool = True,
    need_positions: bool = True,
) -> Iterator[Hdf5Scan]:
    """Open ``path`` and read everything but the frames; the file closes with the block.

    ``need_probe``/``need_positions`` False: the probe/positions come from elsewhere (a
    Ptychodus product file) and are not read; the scan's are None.
    """
    path, layout = Path(path), layout or Hdf5Layout()
    with open_hdf5(path, DataError) as h5:
        with hdf5_damage(path, DataError):
            scan = _read_scan(h5, path, layout, need_probe, need_positions)
        yield scan


def _read_scan(h5, path: Path, layout: Hdf5Layout, need_probe: bool, need_positions: bool):
    steps: list[str] = []
    frames = _frames(h5, path, layout, steps)
    m, n = n_frames(frames), int(frames.shape[-1])
    metadata: dict = {}
    xy = None
    if need_positions:
        xy = nexus.read_positions(h5, path, layout, frames, steps, metadata)
    probe = _probe(h5, path, layout, n, steps) if need_probe else None
    obj = None
    if layout.object is not None:
        dataset = locate_dataset(h5, layout.object, path, DataError)
        with nexus.named(path, dataset.name, "objectGuess"):
            obj = checks.object_guess({"objectGuess": nexus.read_array(dataset, path)}, str(path))
        steps.append(f"objectGuess {obj.shape} read from '{dataset.name}'")
    metadata["hdf5_source"] = {"file": path.name, "diffraction": frames.name}
    raster = f" (a raster of {frames.shape[0]} x {frames.shape[1]})" if frames.ndim == 4 else ""
    steps.insert(0, f"frames: {m}{raster} of {n}x{n} read from '{frames.name}' ({frames.dtype})")
    stored_counts = (nexus.units_of(frames) or "").lower() in COUNT_UNITS
    if stored_counts:
        steps.insert(1, f"'{frames.name}' has units 'counts': read as photon counts (--counts)")
    xcoords, ycoords = xy or (None, None)
    return Hdf5Scan(path, frames, xcoords, ycoords, probe, obj, metadata, steps, stored_counts)


def read_hdf5(
    path, layout: Hdf5Layout | None = None, *, counts: bool = False, dc_corner: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """Read a whole HDF5 scan into arrays keyed as in the data contract, with the steps taken.

    The frames go block by block into one float32 (M, N, N) array, the only full-size array
    held. The arrays are validated; ``ptycho_engine.data.npz.canonicalise`` makes them a
    ``DiffractionData``.
    """
    with open_scan(path, layout) as scan:
        frames = np.empty((scan.n_positions, scan.N, scan.N), dtype=np.float32)
        for start, block in scan.blocks(counts=counts, dc_corner=dc_corner):
            frames[start : start + len(block)] = block
        arrays: dict[str, Any] = {
            "diff3d": frames,
            "xcoords": scan.xcoords,
            "ycoords": scan.ycoords,
            "probeGuess": scan.probe,
            "_metadata": np.array(json.dumps(scan.metadata)),
        }
        if scan.object is not None:
            arrays["objectGuess"] = scan.object
        counts = counts or scan.stored_counts
        steps = scan.steps + transform_steps(counts=counts, dc_corner=dc_corner)
    return arrays, steps


def _frames(h5: Any, path: Path, layout: Hdf5Layout, steps: list[str]) -> Any:
    if layout.diffraction is not None:
        frames = locate_dataset(h5, layout.diffraction, path, DataError)
    else:
        frames = find_dataset(h5, "diffraction", path, DataError)
        if frames is None:
            raise DataError(not_found(h5, "diffraction", path, "--diffraction"))
    problem = frames_problem(frames)
    if problem:
        raise DataError(f"{path}: {problem}")
    return frames


def _probe(h5, path, layout, n, steps) -> np.ndarray:
    if layout.probe is not None:
        dataset = locate_dataset(h5, layout.probe, path, DataError)
    else:
        dataset = find_dataset(h5, "probe", path, DataError)
        if dataset is None:
            raise DataError(
                not_found(h5, "probe", path, "--probe") + " (or --probe-from PRODUCT.h5)"
            )
    with nexus.named(path, dataset.name, "probeGuess"):
        probe = checks.probe(
            {"probeGuess": nexus.read_array(dataset, path)}, str(path), n, steps=steps
        )
    steps.append(f"probe: {probe.shape[0]} mode(s) read from '{dataset.name}'")
    return probe
