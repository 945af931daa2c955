"""``ptycho config …``: show, legacy, validate, schema and migrate. Never imports torch."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ptycho_settings import sources
from ptycho_settings.errors import SettingsError
from ptycho_settings.fields import SECTION_CLASSES
from ptycho_settings.files import read_config_file
from ptycho_settings.flags import add_settings_arguments, typed_flags
from ptycho_settings.migrate import migrate_upstream
from ptycho_settings.sources import create_training_config

MODES = ("training", "inference", "reconstruction")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``config`` command and its subcommands."""
    config = subparsers.add_parser("config", help="show, check and convert settings")
    commands = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)

    show = commands.add_parser("show", help="every resolved value with its source")
    _add_inputs(show)
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=_show)

    legacy = commands.add_parser("legacy", help="the legacy flat params dict, as JSON")
    _add_inputs(legacy)
    legacy.set_defaults(handler=_legacy)

    validate = commands.add_parser("validate", help="check a settings file")
    validate.add_argument("file", type=Path)
    validate.add_argument(
        "--check-files", action="store_true", help="also check that the data files it names exist"
    )
    validate.set_defaults(handler=_validate)

    schema = commands.add_parser("schema", help="JSON Schema of the settings")
    schema.add_argument("--mode", choices=MODES, default="training")
    schema.set_defaults(handler=_schema)

    migrate = commands.add_parser("migrate", help="convert an upstream ptycho_torch JSON")
    migrate.add_argument("old", type=Path, metavar="OLD.json")
    migrate.add_argument("-o", "--output", type=Path, required=True, metavar="NEW.json")
    migrate.add_argument("--overwrite", action="store_true", help="replace an existing NEW.json")
    migrate.set_defaults(handler=_migrate)


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, default="training")
    add_settings_arguments(parser, "any")


def _factory(mode: str):
    return getattr(sources, f"create_{mode}_config")


def _resolve(args: argparse.Namespace):
    return _factory(args.mode)(args.config, flags=typed_flags(args))


def _show(args: argparse.Namespace) -> int:
    resolved = _resolve(args)
    table = resolved.to_dict()
    if args.json:
        print(
            json.dumps(
                {
                    s: {f: {k: e[k] for k in ("value", "source")} for f, e in fields.items()}
                    for s, fields in table.items()
                },
                indent=2,
            )
        )
        return 0
    width = max(len(f"{s}.{f}") for s, fields in table.items() for f in fields)
    for section, fields in table.items():
        for field, entry in fields.items():
            value = json.dumps(entry["value"])
            print(f"{section + '.' + field:<{width}}  {value:<24} {entry['detail']}")
    return 0


def _legacy(args: argparse.Namespace) -> int:
    print(json.dumps(_resolve(args).legacy_params(), indent=2, sort_keys=True))
    return 0


def _validate(args: argparse.Namespace) -> int:
    data = read_config_file(args.file)
    modes = [mode for mode in MODES if mode in data] or ["training"]
    for mode in modes:
        _factory(mode)(args.file, environ={}, check_files=args.check_files)
        print(f"{args.file}: valid {mode} settings")
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(settings_schema(args.mode), indent=2))
    return 0


def settings_schema(mode: str) -> dict[str, Any]:
    """Return one JSON Schema object covering a settings file of ``mode``."""
    properties = {
        section: SECTION_CLASSES[section].model_json_schema()
        for section in ("model", mode, "execution")
    }
    properties[mode]["properties"].pop("model", None)
    properties[mode].pop("$defs", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"ptycho {mode} settings",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }


def _migrate(args: argparse.Namespace) -> int:
    sections, unmapped = migrate_upstream(read_config_file(args.old))
    create_training_config(overrides=sections, environ={}, check_files=False)  # refuse bad values
    if args.output.exists() and not args.overwrite:
        raise SettingsError(f"{args.output} exists; pass --overwrite to replace it")
    write_text_atomically(args.output, json.dumps(sections, indent=2) + "\n")
    print(f"wrote {args.output} ({sum(map(len, sections.values()))} settings)")
    for key in unmapped:
        print(f"not mapped: {key}")
    return 0


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
