"""Reading, validating and writing diffraction data in the NPZ data contract.

The contract (keys, shapes, dtypes, units) is described in ``docs/data.md``; positions follow
``ptycho_engine.conventions``. Every user-caused problem raises one :class:`DataError` that
names the file, the key, what was seen and what is expected. Files are always read with
``allow_pickle=False``: nothing in a data file is ever unpickled.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ptycho_engine.atomic import atomic_output
from ptycho_engine.data import _checks as checks
from ptycho_engine.errors import DataError
from ptycho_settings.data_summary import ZIP_READ_ERRORS, npy_header, open_npz
from ptycho_settings.hdf5_files import is_hdf5_path

if TYPE_CHECKING:
    from ptycho_engine.data.hdf5 import Hdf5Layout

DIFFRACTION_KEYS = ("diff3d", "diffraction")
REQUIRED_KEYS = ("xcoords", "ycoords", "probeGuess")
OPTIONAL_KEYS = ("objectGuess", "xcoords_start", "ycoords_start", "scan_index")
METADATA_KEY = "_metadata"
KNOWN_KEYS = frozenset((*DIFFRACTION_KEYS, *REQUIRED_KEYS, *OPTIONAL_KEYS, METADATA_KEY))


@dataclass(frozen=True, eq=False)
class DiffractionData:
    """A validated scan in canonical form (see ``ptycho_engine.conventions``).

    Attributes
    ----------
    diffraction : ndarray of float32, shape (M, N, N)
        Diffraction amplitude (square root of counts), zero frequency at the centre.
    xcoords, ycoords : ndarray of float64, shape (M,)
        Scan positions (patch centres) in object pixels; x is the column, y the row.
    xcoords_start, ycoords_start : ndarray of float64, shape (M,)
        Nominal positions; equal to ``xcoords``/``ycoords`` when the file has none.
    probe : ndarray of complex64, shape (P, N, N)
        Probe modes on the object pixel grid; P = 1 for a single mode.
    object : ndarray of complex64, shape (H, W), or None
        Ground-truth object, when the file has one.
    scan_index : ndarray of int64, shape (M,)
        Scan identifier of each position; zeros when the file has none.
    metadata : dict
        Parsed ``_metadata`` JSON; empty when the file has none.
    source : Path or str
        Where the data came from, used in messages.
    """

    diffraction: np.ndarray
    xcoords: np.ndarray
    ycoords: np.ndarray
    xcoords_start: np.ndarray
    ycoords_start: np.ndarray
    probe: np.ndarray
    object: np.ndarray | None
    scan_index: np.ndarray
    metadata: dict
    source: Path | str

    @property
    def n_positions(self) -> int:
        """Number of scan positions M."""
        return int(self.diffraction.shape[0])

    @property
    def N(self) -> int:  # noqa: N802 - N is the canonical name of the pattern size
        """Side of the square diffraction patterns and probe, in pixels."""
        return int(self.diffraction.shape[-1])

    @property
    def n_modes(self) -> int:
        """Number of probe modes P."""
        return int(self.probe.shape[0])

    @property
    def positions_xy(self) -> np.ndarray:
        """Scan positions as an array of shape (M, 2), columns [x, y], float64."""
        return np.stack([self.xcoords, self.ycoords], axis=1)


def load_diffraction(
    path: str | os.PathLike,
    *,
    counts: bool = False,
    dc_corner: bool = False,
    layout: Hdf5Layout | None = None,
) -> DiffractionData:
    """Read and validate an NPZ file, or an HDF5 file (``.h5``, ``.hdf5``, ``.nxs``, ``.cxi``).

    Parameters
    ----------
    path : str or PathLike
        The ``.npz`` file, or an HDF5 file (read by :mod:`ptycho_engine.data.hdf5`: the
        dataset paths of ``layout``, else a NeXus NXcxi_ptycho entry).
    counts : bool
        The file stores photon counts; take their square root to get amplitudes.
    dc_corner : bool
        The file stores patterns with the zero frequency at pixel (0, 0); move it to the centre.
    layout : Hdf5Layout, optional
        Dataset paths and position units of an HDF5 file; given, the file is read as HDF5
        whatever its suffix.

    Returns
    -------
    DiffractionData
        The data in canonical form.

    Raises
    ------
    DataError
        When the file is missing, unreadable or does not follow the data contract.
    """
    if layout is not None or is_hdf5_path(path):
        # h5py only when an HDF5 file is read
        from ptycho_engine.data.hdf5 import read_hdf5

        arrays, _ = read_hdf5(path, layout, counts=counts, dc_corner=dc_corner)
        return canonicalise(arrays, source=Path(path))[0]
    return canonicalise(read_npz(path), source=Path(path), counts=counts, dc_corner=dc_corner)[0]


def validate_arrays(
    arrays: Mapping[str, np.ndarray],
    *,
    source: str | os.PathLike = "<memory>",
    counts: bool = False,
    dc_corner: bool = False,
) -> DiffractionData:
    """Validate in-memory arrays keyed as in the data contract; see :func:`load_diffraction`.

    Arrays already in canonical dtype and layout are used without a copy, so the result may
    share memory with ``arrays``.
    """
    return canonicalise(arrays, source=source, counts=counts, dc_corner=dc_corner)[0]


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Return every array of an NPZ file that can be read without unpickling.

    A pickled (object) ``_metadata`` or unknown key is skipped with a ``UserWarning``; a pickled
    key of the data contract is an error, because loading without it would change the result.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    arrays: dict[str, np.ndarray] = {}
    with open_npz(path, DataError) as archive:
        for key in archive.files:
            value = _read_member(archive, key, path)
            if value is not None:
                arrays[key] = value
    return arrays


def _read_member(archive, key: str, path: Path) -> np.ndarray | None:
    _, dtype = npy_header(archive, key, path, DataError)  # refuses sizes the file cannot hold
    if dtype.hasobject:
        if key in KNOWN_KEYS and key != METADATA_KEY:
            raise DataError(
                f"{path}: key '{key}' is a pickled object array, which is never unpickled; "
                "store it as a numeric array"
            )
        advice = " (store metadata as np.array(json.dumps(meta)))" if key == METADATA_KEY else ""
        warnings.warn(
            f"{path}: skipped key '{key}': it is a pickled object array and is never "
            f"unpickled{advice}; the rest of the file was loaded",
            UserWarning,
            stacklevel=4,
        )
        return None
    try:
        return archive[key]
    except ZIP_READ_ERRORS as error:
        raise DataError(f"{path}: key '{key}' is corrupt (truncated file?): {error}") from error
    except MemoryError:
        # The header's size was checked against the file, so only a genuinely huge array
        # (a compressed member that expands beyond memory) gets here.
        raise DataError(f"{path}: key '{key}' does not fit in memory") from None


def canonicalise(
    arrays: Mapping[str, np.ndarray],
    *,
    source: str | os.PathLike = "<memory>",
    counts: bool = False,
    dc_corner: bool = False,
) -> tuple[DiffractionData, list[str]]:
    """Validate arrays and bring them to canonical form, saying what was changed.

    Returns
    -------
    data : DiffractionData
        The validated data.
    steps : list of str
        One line per transformation applied (transpose, square root, shift, defaults).
    """
    where = str(source)
    steps: list[str] = []
    checks.require_keys(arrays, where)
    unknown = sorted(set(arrays) - KNOWN_KEYS)
    if unknown:
        warnings.warn(
            f"{where}: ignored keys not in the data contract: {', '.join(unknown)}",
            UserWarning,
            stacklevel=3,
        )
        steps.append(f"dropped keys not in the data contract: {', '.join(unknown)}")
    x = checks.coordinates(arrays, "xcoords", where)
    y = checks.coordinates(arrays, "ycoords", where, length=x.size)
    n_positions = x.size
    diffraction = checks.diffraction(arrays, where, n_positions, counts=counts, steps=steps)
    if dc_corner:
        # Detectors write the zero frequency at pixel (0, 0); the contract keeps it at (N//2, N//2).
        diffraction = np.fft.fftshift(diffraction, axes=(-2, -1))
        steps.append("moved zero frequency from the corner to the centre")
    probe = checks.probe(arrays, where, diffraction.shape[-1], steps=steps)
    x_start, y_start = checks.start_coordinates(arrays, where, x, y, steps=steps)
    data = DiffractionData(
        diffraction=diffraction,
        xcoords=x,
        ycoords=y,
        xcoords_start=x_start,
        ycoords_start=y_start,
        probe=probe,
        object=checks.object_guess(arrays, where),
        scan_index=checks.scan_index(arrays, where, n_positions, steps=steps),
        metadata=checks.metadata(arrays, where),
        source=Path(source) if isinstance(source, os.PathLike) else source,
    )
    return data, steps


def contract_arrays(data: DiffractionData, path: Path) -> dict[str, np.ndarray]:
    """Every array of the data contract that ``data`` holds, as written, but ``diff3d``.

    Raises
    ------
    DataError
        When the metadata cannot be written as JSON (``path`` names the file in the message).
    """
    try:
        metadata = json.dumps(data.metadata)
    except (TypeError, ValueError) as error:
        raise DataError(f"{path}: metadata is not JSON-serialisable: {error}") from error
    arrays = {
        "xcoords": data.xcoords,
        "ycoords": data.ycoords,
        "xcoords_start": data.xcoords_start,
        "ycoords_start": data.ycoords_start,
        "probeGuess": data.probe[0] if data.n_modes == 1 else data.probe,
        "scan_index": data.scan_index,
        METADATA_KEY: np.array(metadata),
    }
    if data.object is not None:
        arrays["objectGuess"] = data.object
    return arrays


def save_diffraction(
    path: str | os.PathLike, data: DiffractionData, *, overwrite: bool = False
) -> Path:
    """Write data in canonical form, atomically.

    The file is written to a temporary file in the same directory and renamed into place, so a
    failure never leaves a half-written ``path``. The probe is stored as (N, N) when there is one
    mode, ``_metadata`` as a JSON string that loads without unpickling.

    Parameters
    ----------
    path : str or PathLike
        Destination ``.npz`` file.
    data : DiffractionData
        Validated data.
    overwrite : bool
        Replace ``path`` if it exists; otherwise an existing file is an error.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected an output file name")
    if path.exists() and not overwrite:
        raise DataError(f"{path}: already exists; use --overwrite (overwrite=True) to replace it")
    if not path.parent.is_dir():
        raise DataError(f"{path}: directory {path.parent} does not exist")
    arrays = {"diff3d": data.diffraction, **contract_arrays(data, path)}
    try:
        _write_atomically(path, arrays, overwrite=overwrite)
    except OSError as error:
        raise DataError(f"{path}: cannot write: {error}") from error
    return path


def _write_atomically(path: Path, arrays: dict[str, np.ndarray], *, overwrite: bool) -> None:
    with atomic_output(path, overwrite=overwrite) as temporary, open(temporary, "wb") as stream:
        np.savez(stream, **arrays)  # a stream: np.savez would append ".npz" to a path


def check_enough_positions(data: DiffractionData, *, gridsize: int) -> None:
    """Raise :class:`DataError` unless the scan has at least ``gridsize**2`` positions.

    A group holds gridsize² distinct positions, so fewer positions cannot form a single group.
    """
    needed = gridsize * gridsize
    if data.n_positions < needed:
        raise DataError(
            f"{data.source}: gridsize {gridsize} groups {needed} scan positions, but the file "
            f"has only {data.n_positions}; use a smaller gridsize or a scan with more positions"
        )
