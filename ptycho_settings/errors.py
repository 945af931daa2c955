"""``SettingsError`` and the one-line formatting of validation problems with their sources."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ptycho_settings.fields import closest_field_names

if TYPE_CHECKING:
    from pydantic import ValidationError

    from ptycho_settings.provenance import ValueSource


class SettingsError(ValueError):
    """A setting that cannot be used: the message names the field, the value, what is allowed
    and where the value came from, one line per problem.
    """


def _display(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _clean(message: str) -> str:
    return re.sub(r"^(Value|Assertion) error, ", "", message)


def format_validation_error(
    error: ValidationError,
    *,
    section: str,
    provenance: Mapping[str, ValueSource] | None = None,
) -> SettingsError:
    """Turn a pydantic ``ValidationError`` into a ``SettingsError`` with sources.

    Parameters
    ----------
    error : pydantic.ValidationError
        Raised while constructing the settings class of ``section``.
    section : str
        Dotted prefix of the failing class (``"training"``, ``"model"``, ``"execution"``).
    provenance : mapping, optional
        ``{"section.field": ValueSource}`` for the values that were passed in.
    """
    provenance = provenance or {}
    lines = []
    for problem in error.errors(include_url=False):
        lines.append(_format_problem(problem, section, provenance))
    return SettingsError("\n".join(lines))


def _format_problem(problem: Mapping[str, Any], section: str, provenance: Mapping) -> str:
    loc = [str(part) for part in problem["loc"] if not str(part).startswith("function-")]
    message = _clean(problem["msg"])
    if loc and loc[0] == "model" and section in {"training", "inference"}:
        path = ".".join(loc)
    else:
        path = ".".join([section, *loc])
    if not loc:
        sources = _sources_named_in(message, provenance)
        suffix = f" ({'; '.join(sources)})" if sources else ""
        return f"{path}: {message}{suffix}"
    if problem["type"] == "extra_forbidden":
        return f"{path}: unknown setting{_where(path, provenance)}; {_suggest(loc[-1], section)}"
    value = _display(problem.get("input"))
    return f"{path}={value}{_where(path, provenance)}: {message}"


def _where(path: str, provenance: Mapping) -> str:
    source = provenance.get(path)
    return f" (from {source.describe()})" if source is not None else ""


def _sources_named_in(message: str, provenance: Mapping) -> list[str]:
    found = []
    for path, source in provenance.items():
        field = path.rsplit(".", 1)[-1]
        if source.kind != "default" and re.search(rf"\b{re.escape(field)}\b", message):
            found.append(f"{field} from {source.describe()}")
    return found


def _suggest(name: str, section: str) -> str:
    close = closest_field_names(name)
    return f"did you mean `{close[0]}`?" if close else f"see `ptycho config schema` for {section}"
