"""Read the settings a model bundle was trained with (``settings.json``), without torch.

Only the small JSON member is read; the engine verifies the whole bundle when it loads it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from ptycho_settings.bundle_format import (
    BUNDLE_FILENAME,
    LEGACY_SUFFIXES,
    SETTINGS,
    ZIP_READ_ERRORS,
)
from ptycho_settings.errors import SettingsError

_LIMIT = 16 * 1024 * 1024  # bytes: settings.json is a few kB


def read_bundle_settings(path: Path) -> dict[str, Any]:
    """Return the parsed ``settings.json`` of ``path`` (a directory with wts.h5.zip, or the zip)."""
    archive_path = path / BUNDLE_FILENAME if path.is_dir() else path
    try:
        with zipfile.ZipFile(archive_path) as archive:
            info = archive.getinfo(SETTINGS)
            if info.file_size > _LIMIT:
                raise SettingsError(f"{archive_path}: settings.json is implausibly large")
            with archive.open(info) as member:
                text = member.read(_LIMIT + 1)
    except SettingsError:
        raise
    except KeyError as error:
        raise SettingsError(
            f"{archive_path}: not a model bundle of this tool (no settings.json)"
            f"{_legacy_hint(archive.namelist())}"
        ) from error
    except ZIP_READ_ERRORS as error:
        raise SettingsError(
            f"{archive_path}: not a readable zip archive (truncated or corrupt?): {error}"
        ) from error
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise SettingsError(f"{archive_path}: settings.json is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise SettingsError(f"{archive_path}: settings.json is not an object")
    return data


def _legacy_hint(names: list[str]) -> str:
    pickles = [name for name in names if name.lower().endswith(LEGACY_SUFFIXES)]
    if not pickles:
        return "; legacy bundles must be converted"
    return (
        f"; it is a legacy bundle holding pickles ({', '.join(pickles[:3])}), which are never "
        "loaded because unpickling can run arbitrary code; re-train with this tool"
    )
