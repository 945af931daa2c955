"""Index of every settings field: its section, environment name, CLI flags and legacy key."""

from __future__ import annotations

import difflib
import typing
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ptycho_settings.bridge import SECTION_KEY_ALIASES
from ptycho_settings.execution_fields import ExecutionFields
from ptycho_settings.inference import InferenceConfig
from ptycho_settings.model import ModelConfig
from ptycho_settings.reconstruction import ReconstructionConfig
from ptycho_settings.training import TrainingConfig

Mode = Literal["training", "inference", "reconstruction"]
SECTION_CLASSES: dict[str, type[BaseModel]] = {
    "model": ModelConfig,
    "training": TrainingConfig,
    "inference": InferenceConfig,
    "reconstruction": ReconstructionConfig,
    "execution": ExecutionFields,
}
# Short environment names beside PTYCHO_<FIELD>.
ENV_SHORT_NAMES = {"PTYCHO_DEVICE": ("execution", "accelerator")}


def sections_of(mode: Mode | Literal["any"]) -> tuple[str, ...]:
    """Return the sections in play for a mode (``any``: every section)."""
    if mode == "any":
        return ("model", "training", "inference", "reconstruction", "execution")
    return ("model", mode, "execution")


def own_fields(section: str) -> dict[str, FieldInfo]:
    """Return the fields a section sets itself (the nested ``model`` excluded)."""
    fields = SECTION_CLASSES[section].model_fields
    return {name: info for name, info in fields.items() if name != "model" or section == "model"}


def env_name(field: str) -> str:
    """Return the environment variable of a field: ``PTYCHO_`` and the name in capitals."""
    return "PTYCHO_" + field.upper()


def flag_names(field: str) -> list[str]:
    """Return the CLI spellings of a field: kebab-case first, then the underscore form."""
    kebab = "--" + field.replace("_", "-")
    underscore = "--" + field
    return [kebab] if kebab == underscore else [kebab, underscore]


@cache
def field_section(mode: Mode | Literal["any"]) -> dict[str, str]:
    """Return ``{field: section}`` for the canonical fields of a mode (run section wins ties)."""
    index: dict[str, str] = {}
    for section in sections_of(mode):
        for name in own_fields(section):
            index.setdefault(name, section)
    return index


@cache
def alias_section(mode: Mode | Literal["any"]) -> dict[str, str]:
    """Return ``{deprecated spelling: section}`` for a mode."""
    index: dict[str, str] = {}
    for section in sections_of(mode):
        for old in SECTION_KEY_ALIASES[section]:
            index.setdefault(old, section)
    return index


def all_names() -> list[str]:
    """Return every canonical field and deprecated spelling (for suggestions)."""
    return sorted(set(field_section("any")) | set(alias_section("any")))


def closest_field_names(name: str) -> list[str]:
    """Return the known setting names closest to a misspelt one."""
    lowered = {known.lower(): known for known in all_names()}
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    return [lowered[match] for match in matches]


def allows_none(info: FieldInfo) -> bool:
    """Return True when ``None`` is a valid value of the field."""
    return _mentions_none(info.annotation)


def _mentions_none(annotation: Any) -> bool:
    if annotation is type(None):
        return True
    return any(_mentions_none(arg) for arg in typing.get_args(annotation))


def parse_text(section: str, field: str, text: str) -> Any:
    """Convert the text of a variable or flag into a value pydantic can validate.

    ``none``/``null`` become ``None`` where the field allows it; numbers, booleans and
    paths are left to pydantic's lax parsing so that errors keep one format.
    """
    info = SECTION_CLASSES[section].model_fields.get(field)
    if info is not None and allows_none(info) and text.strip().lower() in {"none", "null", ""}:
        return None
    return text
