"""CLI flags derived from the settings models: one flag per field, never written twice.

Each canonical field gets a kebab-case flag (``--n-groups``) and, where it differs, the
underscore spelling upstream users type (``--n_groups``). Defaults are suppressed, so only the
flags a user actually typed reach the factories (and beat the environment and the file).
"""

from __future__ import annotations

import argparse
import typing
from typing import Any, Literal

from pydantic.fields import FieldInfo

from ptycho_settings.bridge import SECTION_KEY_ALIASES
from ptycho_settings.fields import SECTION_CLASSES, alias_section, field_section, flag_names

FLAGS_DEST = "_settings_flags"
# `--mode` selects training or inference in `ptycho config`, so the upstream `mode`
# spelling of model_type is accepted in files and Python only.
_NOT_FLAGS = {"mode"}


class _RecordFlag(argparse.Action):
    """Store ``(value, flag as typed)`` under the field name, for provenance."""

    def __call__(self, parser, namespace, values, option_string=None):
        recorded = dict(getattr(namespace, FLAGS_DEST, None) or {})
        value = values
        if self.dest == "grid_size" and isinstance(value, str) and "," in value:
            value = [part.strip() for part in value.split(",")]
            value = [int(part) if part.isdigit() else part for part in value]
        recorded[self.dest] = (value, option_string)
        setattr(namespace, FLAGS_DEST, recorded)


def add_settings_arguments(
    parser: argparse.ArgumentParser, mode: Literal["training", "inference", "reconstruction", "any"]
) -> None:
    """Add ``--config`` and one flag per settings field of ``mode`` to ``parser``."""
    parser.set_defaults(**{FLAGS_DEST: {}})
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="JSON or TOML settings file (sections model, "
        "training or inference, execution; flat upstream keys accepted)",
    )
    for section_title in ("model", "training", "inference", "reconstruction", "execution"):
        names = [f for f, s in field_section(mode).items() if s == section_title]
        if not names:
            continue
        group = parser.add_argument_group(f"{section_title} settings")
        for name in names:
            info = SECTION_CLASSES[section_title].model_fields[name]
            # a switch alone (`--renormalise`) means true; `--renormalise false` still works
            switch = {"nargs": "?", "const": "true"} if info.annotation is bool else {}
            group.add_argument(
                *flag_names(name),
                dest=name,
                action=_RecordFlag,
                default=argparse.SUPPRESS,
                metavar=_metavar(info),
                help=_help(info),
                **switch,
            )
    deprecated = parser.add_argument_group("deprecated spellings (each warns)")
    for old, section in alias_section(mode).items():
        if old in _NOT_FLAGS:
            continue
        new = SECTION_KEY_ALIASES[section][old][0]
        extra: dict[str, Any] = {"nargs": "?", "const": "true"} if old == "disable_mlflow" else {}
        deprecated.add_argument(
            *flag_names(old),
            dest=old,
            action=_RecordFlag,
            default=argparse.SUPPRESS,
            help=f"use --{new.replace('_', '-')}",
            **extra,
        )


def typed_flags(args: argparse.Namespace) -> dict[str, tuple[Any, str]]:
    """Return ``{field: (value, flag)}`` for the settings flags the user typed."""
    return dict(getattr(args, FLAGS_DEST, None) or {})


def _metavar(info: FieldInfo) -> str:
    parts = [arg for arg in (typing.get_args(info.annotation) or (info.annotation,))]
    if typing.get_origin(info.annotation) is Literal:
        parts = [info.annotation]
    shown: list[str] = []
    for part in parts:
        if part is type(None):
            continue
        if part is bool:
            shown.append("{true,false}")
        elif typing.get_origin(part) is Literal:
            shown.append("{" + ",".join(str(choice) for choice in typing.get_args(part)) + "}")
        else:
            name = getattr(part, "__name__", str(part)).upper()
            shown.append("FILE" if name == "PATH" else name)
    return "|".join(shown)


def _help(info: FieldInfo) -> str:
    text = (info.description or "").replace("%", "%%")
    default = info.default
    if default is not None and not callable(default) and repr(default) != "PydanticUndefined":
        text += f" [default: {default}]"
    return text
