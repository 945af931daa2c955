"""``PTYCHO_*`` environment variables: names, parsing, and refusal of unknown names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from ptycho_settings.bridge import deprecated_keys
from ptycho_settings.errors import SettingsError
from ptycho_settings.fields import (
    ENV_SHORT_NAMES,
    alias_section,
    closest_field_names,
    env_name,
    field_section,
    parse_text,
)

PREFIX = "PTYCHO_"
CONFIG_FILE_VARIABLE = "PTYCHO_CONFIG_FILE"
"""Names the settings file when no ``--config`` is given (a container's mounted JSON); it
is not a setting itself, so :func:`read_environment` passes over it."""


def read_environment(
    environ: Mapping[str, str], *, mode: Literal["training", "inference", "reconstruction", "any"]
) -> dict[str, dict[str, tuple[object, str]]]:
    """Return ``{section: {field: (value, variable)}}`` from the ``PTYCHO_*`` variables.

    Variables naming a field of the other mode (``PTYCHO_MODEL_PATH`` while training) are
    left alone. A variable that names no setting at all is an error that suggests the closest
    name, because a misspelt variable would otherwise be silently ignored.

    Raises
    ------
    SettingsError
        For an unknown ``PTYCHO_*`` name, or the same field set under two names with
        different values.
    """
    wanted = field_section(mode)
    known = {name.lower(): name for name in field_section("any")}
    found: dict[str, dict[str, tuple[object, str]]] = {}
    for variable, text in sorted(environ.items()):
        if not variable.startswith(PREFIX) or variable == CONFIG_FILE_VARIABLE:
            continue
        section, field = _target(variable, known)
        if field not in wanted:
            continue
        section = wanted[field] if section is None else section
        value = parse_text(section, field, text)
        earlier = found.setdefault(section, {}).get(field)
        if earlier is not None and str(earlier[0]) != str(value):
            raise SettingsError(
                f"{section}.{field} is set twice with different values: {earlier[1]}={earlier[0]!r}"
                f" and {variable}={text!r}; unset one of them"
            )
        found[section][field] = (value, variable)
    return found


def _target(variable: str, known: Mapping[str, str]) -> tuple[str | None, str]:
    """``known`` maps lower-case field names to field names."""
    if variable in ENV_SHORT_NAMES:
        return ENV_SHORT_NAMES[variable]
    field = variable[len(PREFIX) :].lower()
    if field in known:
        return None, known[field]
    hints = closest_field_names(field)
    hint = f"; did you mean {env_name(hints[0])}?" if hints else ""
    deprecated = {old.lower(): (old, section) for old, section in alias_section("any").items()}
    if field in deprecated:
        old, section = deprecated[field]
        hint = (
            f"; deprecated spellings are not read from the environment; use "
            f"{env_name(deprecated_keys(section)[old])}"
        )
    raise SettingsError(f"{variable} is not a setting of ptycho{hint} (see `ptycho config schema`)")
