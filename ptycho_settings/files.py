"""Config files (JSON or TOML): reading, sections, and upstream's flat keys."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from ptycho_settings.bridge import SECTION_KEY_ALIASES
from ptycho_settings.errors import SettingsError
from ptycho_settings.fields import (
    SECTION_CLASSES,
    alias_section,
    closest_field_names,
    field_section,
)
from ptycho_settings.legacy_keys import FROM_LEGACY_KEY, LEGACY_ONLY_KEYS

RUN_SECTIONS = ("training", "inference", "reconstruction")
UPSTREAM_SECTIONS = {"data_config", "model_config", "training_config", "inference_config"}

Sectioned = dict[str, dict[str, tuple[Any, str]]]
# Both parsers recurse once per level; a settings file is two levels deep.
_TOO_DEEP = "nested too deeply to be a settings file"


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a JSON or TOML config file into a dict (by suffix; other suffixes try both)."""
    if not path.is_file():
        raise SettingsError(f"config file {path} does not exist")
    text = _read_text(path)
    suffix = path.suffix.lower()
    parsers = {".json": (_parse_json,), ".toml": (_parse_toml,)}.get(
        suffix, (_parse_json, _parse_toml)
    )
    problems = []
    for parse in parsers:
        try:
            data = parse(text)
        except ValueError as error:
            problems.append(str(error))
            continue
        if not isinstance(data, dict):
            raise SettingsError(f"{path}: the top level must be an object/table of settings")
        return data
    raise SettingsError(f"{path}: not valid {' or '.join(_kinds(parsers))}: {problems[-1]}")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SettingsError(f"{path}: not a text file ({error.reason})") from error
    except OSError as error:
        raise SettingsError(f"{path}: cannot be read ({error.strerror})") from error


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"JSON error at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None


def _parse_toml(text: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"TOML error: {error}") from None
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None


def _kinds(parsers: tuple) -> list[str]:
    return ["JSON" if parse is _parse_json else "TOML" for parse in parsers]


def sections_from_file(
    data: Mapping[str, Any], *, path: Path, mode: Literal["training", "inference", "reconstruction"]
) -> Sectioned:
    """Split a parsed file into ``{section: {field: (value, "file: key")}}`` for one mode.

    Accepts sections ``model``, ``training``, ``inference``, ``reconstruction`` and
    ``execution`` and upstream's
    flat keys (canonical names, deprecated spellings and legacy dotted keys such as
    ``object.big``). The other mode's run section is ignored. Unknown keys are errors.
    """
    if UPSTREAM_SECTIONS & set(data):
        raise SettingsError(
            f"{path} uses the upstream ptycho_torch layout ({', '.join(sorted(UPSTREAM_SECTIONS & set(data)))}); "
            f"convert it with `ptycho config migrate {path} -o NEW.json`"
        )
    result: Sectioned = {}
    for key, value in data.items():
        if key in ("model", "execution", *RUN_SECTIONS):
            if not isinstance(value, Mapping):
                raise SettingsError(
                    f"{path.name}: `{key}` must be a section (an object/table "
                    f"of settings), not {type(value).__name__} {value!r:.40}"
                )
            if key in RUN_SECTIONS and key != mode:
                continue
            _add_section(result, key, value, path=path, mode=mode)
        else:
            _add_flat(result, key, value, where=f"{path.name}: {key}", path=path, mode=mode)
    return result


def _add_section(
    result: Sectioned, section: str, values: Mapping, *, path: Path, mode: str
) -> None:
    for key, value in values.items():
        where = f"{path.name}: {section}.{key}"
        if key == "model" and section in RUN_SECTIONS and isinstance(value, Mapping):
            for inner, inner_value in value.items():
                _put(result, "model", inner, inner_value, f"{where}.{inner}", path, mode)
            continue
        _put(result, section, key, value, where, path, mode)


def _add_flat(
    result: Sectioned, key: str, value: Any, *, where: str, path: Path, mode: str
) -> None:
    if key in FROM_LEGACY_KEY:
        key = FROM_LEGACY_KEY[key]
    if key in LEGACY_ONLY_KEYS:
        return  # simulation-only and runtime keys of an upstream legacy dict carry no setting
    section = field_section(mode).get(key) or alias_section(mode).get(key)
    if section is None:
        raise SettingsError(_unknown(key, where))
    result.setdefault(section, {})[key] = (value, where)


def _put(
    result: Sectioned, section: str, key: str, value: Any, where: str, path: Path, mode: str
) -> None:
    known = set(field_section(mode)) | set(alias_section(mode))
    section_of = field_section(mode).get(key) or alias_section(mode).get(key)
    if key in known and section_of != section and not _shared(section, key):
        raise SettingsError(f"{where}: `{key}` belongs in section `{section_of}`, not `{section}`")
    if key not in known:
        raise SettingsError(_unknown(key, where, section))
    result.setdefault(section, {})[key] = (value, where)


def _shared(section: str, key: str) -> bool:
    return key in SECTION_CLASSES[section].model_fields or key in SECTION_KEY_ALIASES[section]


def _unknown(key: str, where: str, section: str | None = None) -> str:
    hints = closest_field_names(key)
    place = f" in section `{section}`" if section else ""
    hint = f"; did you mean `{hints[0]}`?" if hints else "; see `ptycho config schema`"
    return f"{where}: `{key}` is not a setting{place}{hint}"
