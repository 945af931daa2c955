"""What the settings layer reads from a data file: the probe size and the photon count.

numpy and h5py are imported inside the functions so that ``import ptycho_settings`` stays
light. Files are opened with ``allow_pickle=False``: an object array (an upstream
``_metadata``) is skipped. ``open_npz`` and ``npy_header`` are the safe first steps of reading
any NPZ file (those of an HDF5 file are in :mod:`ptycho_settings.hdf5_files`); the engine's
loaders use them too, so a broken file is described in the same words by both
layers.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptycho_settings.bundle_format import ZIP_READ_ERRORS
from ptycho_settings.errors import SettingsError
from ptycho_settings.hdf5_files import (
    HDF5_MAGIC,
    HDF5_SUFFIXES,
    find_dataset,
    frames_problem,
    hdf5_damage,
    is_hdf5_path,
    not_found,
    open_hdf5,
)

_NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True)
class DataSummary:
    """Values a data file can supply to the settings.

    Attributes
    ----------
    path : Path
        The data file.
    N : int
        Side of the probe (and so of the patterns), from ``probeGuess``.
    nphotons : float or None
        Photons per pattern from ``_metadata`` or from the counts, if either says so.
    nphotons_key : str
        Where ``nphotons`` came from (``_metadata.nphotons`` …), for provenance.
    """

    path: Path
    N: int
    nphotons: float | None = None
    nphotons_key: str = ""


def summarise_data_file(path: Path) -> DataSummary:
    """Read the probe size and the photon count of a data file without loading its frames.

    An HDF5 file (by its suffix, :data:`HDF5_SUFFIXES`) is read through its recognised layout
    (:func:`nexus_candidates`); any other file as NPZ.
    """
    if is_hdf5_path(path):
        return _summarise_hdf5(path)
    with open_npz(path) as archive:
        if "probeGuess" not in archive.files:
            raise SettingsError(f"data file {path} has no `probeGuess`, so N cannot be inferred")
        probe_shape, dtype = npy_header(archive, "probeGuess", path)
        if dtype.hasobject:
            raise SettingsError(
                f"{path}: 'probeGuess' is a pickled object array, which is never "
                "unpickled; store it as a numeric array"
            )
        if len(probe_shape) == 3 and probe_shape[2] == 1 != probe_shape[0]:
            probe_shape = probe_shape[:2]  # the legacy (N, N, 1) layout the loader also reads
        if len(probe_shape) not in (2, 3) or probe_shape[-1] != probe_shape[-2] or 0 in probe_shape:
            raise SettingsError(
                f"data file {path}: probeGuess has shape {probe_shape}; "
                "expected (N, N) or (P, N, N)"
            )
        _check_pattern_size(archive, path, probe_shape[-1])
        metadata = _metadata(archive, path)
        nphotons, key = _nphotons_from_metadata(metadata)
        if nphotons is None and metadata.get("diffraction_units") == "sqrt_counts":
            nphotons, key = _nphotons_from_counts(archive, path), "diffraction (sqrt counts)"
    return DataSummary(path=path, N=int(probe_shape[-1]), nphotons=nphotons, nphotons_key=key)


def _check_pattern_size(archive: Any, path: Path, n: int) -> None:
    """Refuse patterns of another size than the probe here, before N is inferred from the probe,
    so that the message names the mismatch rather than an N the data never meant.
    """
    key = next((key for key in ("diff3d", "diffraction") if key in archive.files), None)
    if key is None:
        return
    shape, _ = npy_header(archive, key, path)
    if len(shape) == 3 and shape[1] == shape[2] != n:
        raise SettingsError(
            f"{path}: 'probeGuess' is {n}x{n} but the diffraction patterns are "
            f"{shape[1]}x{shape[2]}; probe and patterns must share one N x N grid"
        )


def open_npz(path: Path, error: type[Exception] = SettingsError) -> Any:
    """Open an NPZ archive for reading without unpickling, or raise ``error`` saying why not.

    Shared with the engine's loader (which passes its ``DataError``), so that both layers
    describe a file that is not an NPZ archive in the same words. Only the zip directory is
    read here; members are read on access.
    """
    import numpy as np  # numpy only when a data file is read

    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected an .npz file") from None
    except OSError as problem:
        raise error(f"{path}: cannot be read: {problem.strerror or problem}") from None
    if not head:
        raise error(f"{path}: is empty (0 bytes), expected an .npz archive")
    if head.startswith(_NPY_MAGIC):
        raise error(f"{path}: holds a single .npy array, expected an .npz archive of named arrays")
    if not head.startswith(b"PK"):
        # numpy would take these bytes for a pickle and suggest unpickling; never do that.
        if head.startswith(HDF5_MAGIC):
            raise error(
                f"{path}: not a readable NPZ archive: it is an HDF5 file; HDF5 files are read "
                f"as such when named {', '.join(HDF5_SUFFIXES)} (see docs/data.md)"
            )
        raise error(
            f"{path}: not a readable NPZ archive: it is not a zip archive; an .npz file is a "
            "zip of .npy arrays (numpy.savez)"
        )
    try:
        return np.load(path, allow_pickle=False)
    except ZIP_READ_ERRORS as problem:
        raise error(
            f"{path}: not a readable NPZ archive (truncated or corrupt?): {problem}"
        ) from None


def npy_header(archive: Any, key: str, path: Path, error: type[Exception] = SettingsError):
    """Return ``(shape, dtype)`` of the array ``key`` of an open NPZ archive, reading no data.

    numpy allocates the array a header describes before reading its data, so a damaged or
    hostile header could ask for petabytes; a header that claims more bytes than its member
    holds raises ``error`` instead.
    """
    import numpy as np  # numpy only when a data file is read

    name = f"{key}.npy" if f"{key}.npy" in archive.zip.namelist() else key
    info = archive.zip.getinfo(name)
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    try:
        with archive.zip.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            if version not in readers:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _, dtype = readers[version](stream)
    except ZIP_READ_ERRORS as problem:
        raise error(f"{path}: '{key}' is not a readable .npy array: {problem}") from None
    claimed = math.prod(shape) * dtype.itemsize
    if claimed > info.file_size:
        raise error(
            f"{path}: '{key}' claims shape {shape} of {dtype} ({claimed} bytes) but holds "
            f"only {info.file_size} bytes; the file is truncated or corrupt"
        )
    return shape, dtype


def _read(archive: Any, key: str, path: Path) -> Any:
    """Return the array ``key``, or None when it is an object array (never unpickled)."""
    _, dtype = npy_header(archive, key, path)
    if dtype.hasobject:
        return None
    try:
        return archive[key]
    except ZIP_READ_ERRORS as problem:
        raise SettingsError(
            f"{path}: '{key}' cannot be read (truncated or corrupt?): {problem}"
        ) from None


def _metadata(archive: Any, path: Path) -> dict[str, Any]:
    if "_metadata" not in archive.files:
        return {}
    raw = _read(archive, "_metadata", path)
    if raw is None:
        warnings.warn(
            f"{path}: `_metadata` is an object array that would need unpickling; skipped",
            UserWarning,
            stacklevel=3,
        )
        return {}
    try:
        parsed = json.loads(str(raw.item() if raw.shape == () else raw))
    except (json.JSONDecodeError, ValueError, AttributeError, RecursionError):
        warnings.warn(f"{path}: `_metadata` is not JSON; skipped", UserWarning, stacklevel=3)
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _nphotons_from_metadata(metadata: dict[str, Any]) -> tuple[float | None, str]:
    for key, holder in (
        ("nphotons", metadata),
        ("physics_parameters.nphotons", metadata.get("physics_parameters")),
    ):
        value = holder.get("nphotons") if isinstance(holder, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value), f"_metadata.{key}"
    return None, ""


def _nphotons_from_counts(archive: Any, path: Path) -> float | None:
    import numpy as np  # numpy only when a data file is read

    key = "diff3d" if "diff3d" in archive.files else "diffraction"
    if key not in archive.files:
        return None
    frames = _read(archive, key, path)
    if frames is None or frames.dtype.kind not in "iuf" or frames.ndim != 3 or frames.size == 0:
        return None  # the engine's loader says what is wrong with them
    nphotons = float(np.mean(np.sum(frames.astype(np.float64) ** 2, axis=(-2, -1))))
    return nphotons if math.isfinite(nphotons) else None


def _summarise_hdf5(path: Path) -> DataSummary:
    """N from the probe of an HDF5 file's recognised layout, else from its frames."""
    with open_hdf5(path) as h5, hdf5_damage(path):
        frames = find_dataset(h5, "diffraction", path)
        if frames is None:
            raise SettingsError(not_found(h5, "diffraction", path, "--diffraction"))
        shape = frames.shape
        problem = frames_problem(frames)
        if problem:
            raise SettingsError(f"{path}: {problem}")
        probe = find_dataset(h5, "probe", path)
        n = int(shape[-1])
        if probe is not None and probe.shape[-1] != n:
            raise SettingsError(
                f"{path}: probe '{probe.name}' is {probe.shape[-2]}x{probe.shape[-1]} but the "
                f"diffraction patterns are {n}x{n}; probe and patterns must share one N x N grid"
            )
    return DataSummary(path=path, N=n)
