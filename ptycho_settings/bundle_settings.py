"""Read the settings a model bundle was trained with (``settings.json``), without torch.

Only the small JSON member is read; the engine verifies the whole bundle when it loads it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from ptycho_settings.errors import SettingsError

_LIMIT = 16 * 1024 * 1024  # bytes: settings.json is a few kB


def read_bundle_settings(path: Path) -> dict[str, Any]:
    """Return the parsed ``settings.json`` of ``path`` (a directory with wts.h5.zip, or the zip)."""
    archive_path = path / "wts.h5.zip" if path.is_dir() else path
    try:
        with zipfile.ZipFile(archive_path) as archive:
            info = archive.getinfo("settings.json")
            if info.file_size > _LIMIT:
                raise SettingsError(f"{archive_path}: settings.json is implausibly large")
            with archive.open(info) as member:
                data = json.loads(member.read(_LIMIT + 1))
    except KeyError as error:
        raise SettingsError(f"{archive_path}: not a model bundle of this tool (no settings.json); "
                            "legacy bundles must be converted") from error
    except (zipfile.BadZipFile, OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"{archive_path}: cannot read the bundle ({error})") from error
    if not isinstance(data, dict):
        raise SettingsError(f"{archive_path}: settings.json is not an object")
    return data
