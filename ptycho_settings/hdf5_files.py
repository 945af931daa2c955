"""The safe first steps of reading an HDF5 data file, for the settings and the engine alike.

Opening (one line for a missing, empty, locked, truncated or foreign file), the dataset paths
of a NeXus ``NXcxi_ptycho`` entry, finding a dataset by its role, and a check of the frames'
shape: the settings read the probe size with these, the engine's loader the whole scan, so a
broken file is described in the same words by both. h5py is imported inside the functions
(``import ptycho_settings`` stays light).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ptycho_settings.errors import SettingsError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

HDF5_SUFFIXES = (".h5", ".hdf5", ".nxs", ".cxi")
"""Suffixes of data files read as HDF5 (``.h5``, ``.hdf5``, NeXus ``.nxs``, CXI ``.cxi``)."""

# Dataset paths below a NeXus/CXI entry (NXcxi_ptycho application definition), in the order
# they are tried. ``source_1/probe`` is, in NeXus, also the name of the radiation kind
# ("x-ray"); only a numeric array of rank 2 or 3 there is taken for the probe.
NEXUS_PATHS: dict[str, tuple[str, ...]] = {
    "diffraction": ("data_1/data", "instrument_1/detector_1/data", "data/data"),
    "probe": (
        "instrument_1/detector_1/probe",
        "instrument_1/source_1/probe",
        "instrument_1/source_1/illumination",
    ),
    "translation": (
        "data_1/translation",
        "sample_1/geometry_1/translation",
        "instrument_1/detector_1/translation",
    ),
    "x": ("sample_1/transformations/x", "data/x"),
    "y": ("sample_1/transformations/y", "data/y"),
    "x_pixel_size": ("instrument_1/detector_1/x_pixel_size",),
    "y_pixel_size": ("instrument_1/detector_1/y_pixel_size",),
    "distance": ("instrument_1/detector_1/distance",),
    "energy": (
        "instrument_1/beam_1/energy",
        "instrument_1/beam_1/incident_beam_energy",
        "instrument_1/source_1/energy",
    ),
    "wavelength": ("instrument_1/beam_1/wavelength", "instrument_1/beam_1/incident_wavelength"),
}


def is_hdf5_path(path: str | Path) -> bool:
    """Whether ``path`` names an HDF5 data file by its suffix (:data:`HDF5_SUFFIXES`)."""
    return Path(path).suffix.lower() in HDF5_SUFFIXES


def one_line(problem: BaseException) -> str:
    """The message of an exception on one line (h5py's may span several)."""
    return " ".join(str(problem).split()) or type(problem).__name__


def open_hdf5(path: Path, error: type[Exception] = SettingsError) -> Any:
    """Open an HDF5 file for reading, or raise ``error`` saying in one line why not."""
    import h5py  # h5py only when an HDF5 data file is read (it is slow to import)

    path = Path(path)
    if not path.exists():
        raise error(f"{path}: no such file")
    if path.is_dir():
        raise error(f"{path}: is a directory, expected an HDF5 file")
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
    except OSError as problem:
        raise error(f"{path}: cannot be read: {problem.strerror or problem}") from None
    if not head:
        raise error(f"{path}: is empty (0 bytes), expected an HDF5 file")
    try:
        return h5py.File(path, "r")
    except OSError as problem:
        if "unable to lock file" in str(problem).lower():
            raise error(
                f"{path}: is locked by another process (still being written?); wait for it, "
                "or set HDF5_USE_FILE_LOCKING=FALSE to read it anyway"
            ) from None
        what = "truncated or corrupt" if head == HDF5_MAGIC else "not an HDF5 file"
        raise error(f"{path}: not a readable HDF5 file ({what}?): {one_line(problem)}") from None


@contextlib.contextmanager
def hdf5_damage(path: Path, error: type[Exception] = SettingsError) -> Iterator[None]:
    """Turn h5py's reports of a damaged structure inside the block into one ``error`` line.

    h5py raises ``OSError``, ``RuntimeError`` or ``KeyError`` for a damaged B-tree, heap or
    header met while following links or reading attributes; the checks' own errors pass.
    """
    try:
        yield
    except (OSError, RuntimeError, KeyError) as problem:
        raise error(
            f"{path}: cannot be read (truncated or corrupt HDF5 file?): {one_line(problem)}"
        ) from None


def nexus_entries(h5: Any) -> list[str]:
    """Names of the top-level entries searched: ``entry_1``, ``entry``, then any NXentry."""
    import h5py  # h5py only when an HDF5 data file is read

    names = []
    for name in ("entry_1", "entry"):
        with contextlib.suppress(OSError, KeyError, RuntimeError, ValueError):
            if isinstance(h5.get(name), h5py.Group):
                names.append(name)
    if names:
        return names  # attributes are read only when needed: a damaged one can stall HDF5
    for name in h5:
        try:
            group = h5.get(name)
            kind = group.attrs.get("NX_class") if isinstance(group, h5py.Group) else None
        except (OSError, KeyError, RuntimeError, ValueError, TypeError):
            continue  # a broken link or damaged header is not an entry
        kind = kind.decode(errors="replace") if isinstance(kind, bytes) else kind
        if kind == "NXentry":
            names.append(name)
    return names


def nexus_candidates(h5: Any, role: str) -> list[str]:
    """Absolute dataset paths tried for ``role`` (a key of :data:`NEXUS_PATHS`), in order."""
    return [f"/{entry}/{tail}" for entry in nexus_entries(h5) for tail in NEXUS_PATHS[role]] or [
        f"/entry_1/{tail}" for tail in NEXUS_PATHS[role]
    ]


def locate_dataset(
    h5: Any,
    name: str,
    path: Path,
    error: type[Exception] = SettingsError,
    *,
    required: bool = True,
) -> Any:
    """Return the dataset at ``name``, None when absent (``required=False``), or raise ``error``.

    A group, a broken link or an unreadable header at ``name`` is an error either way.
    """
    import h5py  # h5py only when an HDF5 data file is read

    try:
        item = h5.get(name)
    except (OSError, KeyError, RuntimeError, ValueError) as problem:
        raise error(f"{path}: '{name}' cannot be read (truncated or corrupt file?): "
                    f"{one_line(problem)}") from None  # fmt: skip
    if item is None:
        if required:
            raise error(f"{path}: no dataset '{name}' in the file")
        return None
    if isinstance(item, h5py.Group):
        raise error(f"{path}: '{name}' is a group, expected a dataset")
    return item


def find_dataset(h5: Any, role: str, path: Path, error: type[Exception] = SettingsError) -> Any:
    """The first dataset of the recognised layout for ``role`` (see :data:`NEXUS_PATHS`), or None.

    For the probe, a candidate that is not a numeric array of rank 2 or 3 (NeXus' radiation
    kind "x-ray") is passed over.
    """
    for name in nexus_candidates(h5, role):
        dataset = locate_dataset(h5, name, path, error, required=False)
        if dataset is None:
            continue
        if role == "probe" and (dataset.dtype.kind not in "iufc" or dataset.ndim not in (2, 3)):
            continue
        return dataset
    return None


def not_found(h5: Any, role: str, path: Path, flag: str) -> str:
    """The message for a dataset of the recognised layout that is absent: the paths tried."""
    tried = ", ".join(nexus_candidates(h5, role))
    return (
        f"{path}: no {role} dataset found; looked for {tried} (a NeXus NXcxi_ptycho entry); "
        f"name it with {flag} PATH (`ptycho data check` or `ptycho data convert`)"
    )


def frames_problem(frames: Any) -> str | None:
    """What is wrong with the dtype or shape of a frames dataset, or None: real (M, N, N), or
    (rows, columns, N, N) for a NeXus raster scan.
    """
    name, shape, dtype = frames.name, frames.shape, frames.dtype
    if dtype.kind == "c":
        return f"'{name}' is complex ({dtype}); it must hold real numbers"
    if dtype.kind not in "iuf":
        return f"'{name}' has dtype {dtype}; it must hold real numbers"
    if len(shape) not in (3, 4):
        return (
            f"'{name}' has shape {shape}; expected frames (M, N, N) or a raster scan's "
            "(rows, columns, N, N)"
        )
    if 0 in shape:
        return f"'{name}' is empty (shape {shape})"
    if shape[-2] != shape[-1]:
        return (
            f"'{name}' frames are {shape[-2]}x{shape[-1]}; they must be square "
            "(crop them to N x N around the zero frequency)"
        )
    return None
