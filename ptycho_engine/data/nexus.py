"""Positions, units and geometry of an HDF5 scan: positions in metres to object pixels.

The object pixel of a far-field scan is λz / (N · detector pixel), λ the wavelength, z the
sample-detector distance and N the side of the (cropped) frames. The file's own geometry is
read from the NeXus NXcxi_ptycho paths of
:data:`ptycho_settings.data_summary.NEXUS_PATHS` (detector ``x_pixel_size``,
``y_pixel_size``, ``distance``, beam energy or wavelength); values without a ``units``
attribute are SI (metres, joules), as CXI requires.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ptycho_engine.data import _checks as checks
from ptycho_engine.errors import DataError
from ptycho_settings.hdf5_files import locate_dataset, nexus_candidates, one_line

HC_EV_M = 1.239841984e-6
"""Planck's constant times the speed of light, in eV·m: λ = HC_EV_M / E."""
ELECTRON_VOLT_J = 1.602176634e-19

LENGTH_UNITS = {
    **dict.fromkeys(("m", "metre", "meter", "metres", "meters"), 1.0),
    "cm": 1e-2,
    "mm": 1e-3,
    **dict.fromkeys(("um", "µm", "μm", "micron", "microns", "micrometre", "micrometer"), 1e-6),
    **dict.fromkeys(("nm", "nanometre", "nanometer"), 1e-9),
    "pm": 1e-12,
    **dict.fromkeys(("A", "Å", "angstrom", "angstroms"), 1e-10),
}
"""Metres per unit, for the ``units`` attribute of a length."""
PIXEL_UNITS = frozenset({"px", "pixel", "pixels"})
ENERGY_UNITS = {"J": 1 / ELECTRON_VOLT_J, "eV": 1.0, "keV": 1e3, "MeV": 1e6}
"""Electronvolts per unit, for the ``units`` attribute of an energy."""
PHOTON_ENERGY_RANGE_EV = (10.0, 1e6)
"""Energies outside this range are not photon energies (NeXus' source energy may be the
storage ring's) and are passed over."""


def units_of(dataset: Any) -> str | None:
    """The dataset's ``units`` attribute as text, or None."""
    try:
        value = dataset.attrs.get("units")
    except (OSError, KeyError, RuntimeError, ValueError, TypeError) as problem:
        raise DataError(
            f"{dataset.file.filename}: the units attribute of '{dataset.name}' cannot be read "
            f"(truncated or corrupt file?): {one_line(problem)}"
        ) from None
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else ""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return str(value).strip() or None


def length_unit(dataset: Any, path: Path) -> str:
    """``'px'`` or ``'m'`` (the dataset's ``units`` attribute), or raise for another unit."""
    units = units_of(dataset)
    if units is None or units in LENGTH_UNITS:
        return "m"
    if units.lower() in PIXEL_UNITS:
        return "px"
    raise DataError(
        f"{path}: '{dataset.name}' has units {units!r}; expected a length "
        f"({', '.join(('m', 'mm', 'um', 'nm'))}) or pixels (px)"
    )


def metres_per_unit(dataset: Any) -> float:
    """Metres per unit of a length dataset (1 without a ``units`` attribute)."""
    return LENGTH_UNITS.get(units_of(dataset) or "m", 1.0)


def _scalar(h5: Any, name: str, path: Path) -> float | None:
    """The positive finite number stored at ``name``, None when absent; else an error."""
    dataset = locate_dataset(h5, name, path, DataError, required=False)
    if dataset is None:
        return None
    try:
        value = np.asarray(dataset[()])
    except (OSError, RuntimeError, ValueError) as problem:
        raise DataError(f"{path}: '{name}' cannot be read: {one_line(problem)}") from None
    if value.dtype.kind not in "iuf" or value.size != 1:
        raise DataError(
            f"{path}: '{name}' has dtype {value.dtype} and shape {value.shape}; expected one number"
        )
    number = float(value.reshape(-1)[0])
    if not math.isfinite(number) or number <= 0:
        raise DataError(f"{path}: '{name}' is {number:g}; expected a positive finite number")
    return number


def _first_length(h5: Any, role: str, path: Path) -> tuple[float, str] | None:
    for name in nexus_candidates(h5, role):
        value = _scalar(h5, name, path)
        if value is not None:
            return value * metres_per_unit(h5[name]), name
    return None


def _photon_energy_ev(h5: Any, path: Path) -> tuple[float, str] | None:
    for name in nexus_candidates(h5, "energy"):
        value = _scalar(h5, name, path)
        if value is None:
            continue
        scale = ENERGY_UNITS.get(units_of(h5[name]) or "J")
        if scale is None:
            continue
        energy = value * scale
        if PHOTON_ENERGY_RANGE_EV[0] <= energy <= PHOTON_ENERGY_RANGE_EV[1]:
            return energy, name
    found = _first_length(h5, "wavelength", path)
    if found is not None:
        return HC_EV_M / found[0], found[1]
    return None


def geometry_pixel_size(h5: Any, path: Path, n: int) -> tuple[tuple[float, float], dict, str]:
    """The object pixel (width, height) in metres from the file's detector geometry.

    Returns
    -------
    size : (float, float)
        (width, height) in metres, or (0, 0) when the file lacks part of the geometry.
    metadata : dict
        The geometry found (``photon_energy_eV``, ``detector_object_distance_m``,
        ``detector_pixel_size_m``), for ``_metadata``.
    detail : str
        What was used, or which values are missing and where they were looked for.
    """
    pixel = _first_length(h5, "x_pixel_size", path)
    pixel_y = _first_length(h5, "y_pixel_size", path)
    distance = _first_length(h5, "distance", path)
    energy = _photon_energy_ev(h5, path)
    metadata: dict = {}
    if energy is not None:
        metadata["photon_energy_eV"] = energy[0]
    if distance is not None:
        metadata["detector_object_distance_m"] = distance[0]
    if pixel is not None:
        metadata["detector_pixel_size_m"] = pixel[0]
    missing = [
        f"{role} ({', '.join(nexus_candidates(h5, role))})"
        for role, found in (("x_pixel_size", pixel), ("distance", distance), ("energy", energy))
        if found is None
    ]
    if missing:
        return (0.0, 0.0), metadata, "; ".join(missing)
    wavelength = HC_EV_M / energy[0]
    width = wavelength * distance[0] / (n * pixel[0])
    height = wavelength * distance[0] / (n * (pixel_y or pixel)[0])
    detail = (
        f"λz/(N·dx) with λ = {wavelength:.4g} m ({energy[1]}), z = {distance[0]:.4g} m, "
        f"N = {n}, dx = {pixel[0]:.4g} m"
    )
    return (width, height), metadata, detail


def object_pixel_size(
    h5: Any, path: Path, n: int, flag_m: float | None, steps: list[str]
) -> tuple[tuple[float, float], dict]:
    """The object pixel (width, height) in metres: ``--pixel-size`` if given, else the file's
    geometry, else a :class:`DataError` naming what is missing.
    """
    (width, height), metadata, detail = geometry_pixel_size(h5, path, n)
    if flag_m is not None:
        known = f" (the file's geometry gives {width:.4g} m)" if width else ""
        steps.append(f"object pixel {flag_m:.4g} m from --pixel-size{known}")
        return (flag_m, flag_m), metadata
    if not width:
        raise DataError(
            f"{path}: the positions are in metres but the object pixel size is unknown: the "
            f"file has no {detail}; give --pixel-size METRES or, for positions already in "
            "object pixels, --positions-unit px"
        )
    steps.append(f"object pixel {width:.4g} m x {height:.4g} m from the file: {detail}")
    return (width, height), metadata


@contextlib.contextmanager
def named(path: Path, name: str, key: str) -> Iterator[None]:
    """Name the dataset in a check's message: ``FILE: 'key' …`` → ``FILE: 'NAME' (key) …``."""
    try:
        yield
    except DataError as error:
        text = str(error).replace(f"{path}: '{key}'", f"{path}: '{name}' ({key})", 1)
        raise DataError(text) from None


def read_array(dataset: Any, path: Path) -> np.ndarray:
    """The whole of a (small) dataset, or a one-line :class:`DataError` saying why not."""
    try:
        return np.asarray(dataset[()])
    except (OSError, RuntimeError, ValueError, TypeError) as problem:
        raise DataError(
            f"{path}: '{dataset.name}' cannot be read (truncated or corrupt file?): "
            f"{one_line(problem)}"
        ) from None


def _vector(
    dataset: Any, path: Path, key: str, m: int, frames: str, column=None, grid=None
) -> np.ndarray:
    array = read_array(dataset, path)
    if grid is not None and array.shape[:2] == grid and array.ndim == (2 if column is None else 3):
        array = array.reshape(m, *array.shape[2:])  # a raster's (rows, columns[, 3]), row-major
    if column is not None:
        array = np.asarray(checks._real_numeric(array, str(path), key))
        if array.ndim != 2 or array.shape[1] not in (2, 3):
            raise DataError(
                f"{path}: '{dataset.name}' has shape {array.shape}; expected translations (M, 3)"
            )
        array = array[:, column]
    with named(path, dataset.name, key):
        vector = checks.coordinates({key: array}, key, str(path))
    if vector.size != m:
        raise DataError(
            f"{path}: '{dataset.name}' has {vector.size} positions but '{frames}' has {m} frames"
        )
    return vector


def read_positions(h5, path, layout, frames, steps, metadata) -> tuple[np.ndarray, np.ndarray]:
    """Return the positions (x, y) in object pixels.

    From ``layout.x``/``layout.y``, else the first NeXus translation (M, 3) (columns x, y),
    else the NeXus x/y pairs. Metres (the ``units`` attribute, ``layout.positions_unit``, or
    SI for NeXus) are divided by the object pixel size (:func:`object_pixel_size`) and
    shifted so that the first patches start at object pixel 0; the geometry used goes to
    ``metadata``, one line per step to ``steps``.
    """
    m, name = math.prod(int(size) for size in frames.shape[:-2]), frames.name
    grid = tuple(int(size) for size in frames.shape[:2]) if frames.ndim == 4 else None
    if layout.x is not None:
        found = [locate_dataset(h5, layout.x, path, DataError)]
        found.append(locate_dataset(h5, layout.y, path, DataError))
        x, y = _pair(found, path, m, name, grid)
        default_unit = None
    else:
        translation = None
        for candidate in nexus_candidates(h5, "translation"):
            translation = locate_dataset(h5, candidate, path, DataError, required=False)
            if translation is not None:
                break
        if translation is not None:
            found = [translation]
            columns = (("xcoords", 0), ("ycoords", 1))
            x, y = (_vector(translation, path, k, m, name, c, grid) for k, c in columns)
        else:
            pairs = zip(nexus_candidates(h5, "x"), nexus_candidates(h5, "y"), strict=True)
            pair = next(((a, b) for a, b in pairs if a in h5 and b in h5), None)
            if pair is None:
                tried = ", ".join(nexus_candidates(h5, "translation") + nexus_candidates(h5, "x"))
                raise DataError(
                    f"{path}: no scan positions found; looked for {tried} (a NeXus "
                    "NXcxi_ptycho entry); name them with --x PATH --y PATH (`ptycho data "
                    "check` or `ptycho data convert`)"
                )
            found = [locate_dataset(h5, p, path, DataError) for p in pair]
            x, y = _pair(found, path, m, name, grid)
        default_unit = "m"  # NeXus and CXI store lengths in SI units
    where = " and ".join(f"'{d.name}'" for d in found)
    unit = layout.positions_unit or _stated_unit(found, path) or default_unit
    if unit is None:
        raise DataError(
            f"{path}: {where} have no units attribute; say what the positions are in with "
            "--positions-unit m (metres) or px (object pixels)"
        )
    if unit == "px":
        steps.append(f"positions: {m} read from {where}, in object pixels")
        return x, y
    scale_x, scale_y = 1.0, 1.0  # --positions-unit m: the values are metres
    if not layout.positions_unit:
        units = [units_of(dataset) for dataset in found]
        stated = next((unit for unit in units if unit), "m")  # one attribute serves both
        scale_x, scale_y = (LENGTH_UNITS.get(unit or stated, 1.0) for unit in (units[0], units[-1]))
    (width, height), geometry = object_pixel_size(
        h5, path, int(frames.shape[-1]), layout.pixel_size_m, steps
    )
    metadata.update(geometry, pixel_width_m=width, pixel_height_m=height)
    # The leftmost and topmost patches start at object pixel 0.
    half = int(frames.shape[-1]) // 2
    x_px = (x - x.min()) * scale_x / width + half
    y_px = (y - y.min()) * scale_y / height + half
    steps.append(
        f"positions: {m} read from {where} in metres, converted to object pixels and "
        f"shifted so the first patches start at pixel 0 (x {x_px.min():.1f}..{x_px.max():.1f}, "
        f"y {y_px.min():.1f}..{y_px.max():.1f} px)"
    )
    return x_px, y_px


def _stated_unit(found: list, path: Path) -> str | None:
    units = [units_of(dataset) for dataset in found]
    if all(unit is None for unit in units):
        return None
    stated = next(d for d, u in zip(found, units, strict=True) if u is not None)
    return length_unit(stated, path)


def _pair(found: list, path: Path, m: int, frames: str, grid) -> tuple[np.ndarray, np.ndarray]:
    return (
        _vector(found[0], path, "xcoords", m, frames, grid=grid),
        _vector(found[1], path, "ycoords", m, frames, grid=grid),
    )
