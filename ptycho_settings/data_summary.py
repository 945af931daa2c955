"""What the settings layer reads from a data file: the probe size and the photon count.

numpy is imported inside the functions so that ``import ptycho_settings`` stays light. Files
are opened with ``allow_pickle=False``: an object array (an upstream ``_metadata``) is skipped.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptycho_settings.errors import SettingsError


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
    """Read the probe size and the photon count of an NPZ file without loading its frames."""
    import numpy as np

    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise SettingsError(f"data file {path} cannot be read as NPZ: {error}") from error
    with archive:
        if "probeGuess" not in archive.files:
            raise SettingsError(f"data file {path} has no `probeGuess`, so N cannot be inferred")
        probe_shape = _shape(archive, "probeGuess", path)
        if len(probe_shape) not in (2, 3) or probe_shape[-1] != probe_shape[-2]:
            raise SettingsError(
                f"data file {path}: probeGuess has shape {probe_shape}; expected (N, N) or (P, N, N)"
            )
        metadata = _metadata(archive, path)
        nphotons, key = _nphotons_from_metadata(metadata)
        if nphotons is None and metadata.get("diffraction_units") == "sqrt_counts":
            nphotons, key = _nphotons_from_counts(archive, path), "diffraction (sqrt counts)"
    return DataSummary(path=path, N=int(probe_shape[-1]), nphotons=nphotons, nphotons_key=key)


def _shape(archive: Any, key: str, path: Path) -> tuple[int, ...]:
    try:
        return tuple(archive[key].shape)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise SettingsError(f"data file {path}: `{key}` cannot be read: {error}") from error


def _metadata(archive: Any, path: Path) -> dict[str, Any]:
    if "_metadata" not in archive.files:
        return {}
    try:
        raw = archive["_metadata"]
    except ValueError:
        warnings.warn(
            f"{path}: `_metadata` is an object array that would need unpickling; skipped",
            UserWarning,
            stacklevel=3,
        )
        return {}
    try:
        parsed = json.loads(str(raw.item() if raw.shape == () else raw))
    except (json.JSONDecodeError, ValueError):
        warnings.warn(f"{path}: `_metadata` is not JSON; skipped", UserWarning, stacklevel=3)
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _nphotons_from_metadata(metadata: dict[str, Any]) -> tuple[float | None, str]:
    for key, holder in (("nphotons", metadata), ("physics_parameters.nphotons", metadata.get("physics_parameters"))):
        value = holder.get("nphotons") if isinstance(holder, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value), f"_metadata.{key}"
    return None, ""


def _nphotons_from_counts(archive: Any, path: Path) -> float | None:
    import numpy as np

    key = "diff3d" if "diff3d" in archive.files else "diffraction"
    if key not in archive.files:
        return None
    frames = np.asarray(archive[key], dtype=np.float64)
    if frames.ndim != 3 or frames.size == 0:
        return None
    return float(np.mean(np.sum(frames**2, axis=(-2, -1))))
