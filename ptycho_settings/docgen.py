"""Generate ``docs/configuration.md`` from the settings models (never written by hand).

Run ``python -m ptycho_settings.docgen docs/configuration.md`` after changing a field; a test
fails while the file is stale.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ptycho_settings.bridge import SECTION_KEY_ALIASES, VALUE_ALIASES
from ptycho_settings.fields import (
    ENV_SHORT_NAMES,
    env_name,
    flag_names,
    own_fields,
)
from ptycho_settings.legacy_keys import TO_LEGACY_KEY
from ptycho_settings.solver import SolverConfig

NOT_IN_LEGACY = ("execution", "reconstruction")  # upstream had no such dict for either

_INTRO = """# Configuration reference

Generated from the settings models by `python -m ptycho_settings.docgen docs/configuration.md`;
do not edit by hand. Every field can be set in a config file (JSON or TOML, under its
section), by a `PTYCHO_*` environment variable, by a CLI flag, or as a Python keyword.

Precedence, highest first: Python keyword arguments and CLI flags the user typed >
`PTYCHO_*` environment > config file > values inferred from the data file (`N` from
`probeGuess`; `nphotons` from `_metadata` or from sqrt-count data) > the defaults below.
`ptycho config show` prints every resolved value beside its source. The config file is
given with `--config FILE` or, when that is absent, by the variable `PTYCHO_CONFIG_FILE`
(so a container can be configured by its environment alone).

Execution settings never enter the legacy params dict. The `legacy key` column gives the
key of the flat legacy dict (`ptycho config legacy`); "—" means the field is not in it.
"""

_TITLES = {
    "model": "Model (`[model]`, class `ModelConfig`)",
    "training": "Training (`[training]`, class `TrainingConfig`)",
    "inference": "Inference (`[inference]`, class `InferenceConfig`)",
    "reconstruction": "Iterative reconstruction (`[reconstruction]`, class `ReconstructionConfig`)",
    "execution": "Execution (`[execution]`, class `PyTorchExecutionConfig`)",
}
_SOLVER_TITLE = (
    "Iterative solver (class `SolverConfig`; set under `[inference]` for "
    "`ptycho infer --refine-iterations` or `[reconstruction]` for `ptycho reconstruct`)"
)
_SOLVER_FIELDS = frozenset(SolverConfig.model_fields)


def render_configuration_markdown() -> str:
    """Return the full text of ``docs/configuration.md``."""
    parts = [_INTRO]
    for section in ("model", "training", "inference", "reconstruction", "solver", "execution"):
        title = _SOLVER_TITLE if section == "solver" else _TITLES[section]
        parts.append(f"\n## {title}\n")
        parts.append("| field | type | default | environment | flag | legacy key | description |")
        parts.append("|---|---|---|---|---|---|---|")
        if section == "solver":
            # the legacy dict holds them as inference keys (reconstruction has no legacy dict)
            fields = {name: ("inference", info) for name, info in SolverConfig.model_fields.items()}
        else:
            fields = {
                name: (section, info)
                for name, info in own_fields(section).items()
                if name not in _SOLVER_FIELDS
            }
        for name, (owner, info) in fields.items():
            parts.append(_row(owner, name, info))
    parts.append(_aliases())
    return "\n".join(parts) + "\n"


def _row(section: str, name: str, info: FieldInfo) -> str:
    env = f"`{env_name(name)}`"
    env += "".join(
        f", `{short}`" for short, (s, f) in ENV_SHORT_NAMES.items() if (s, f) == (section, name)
    )
    legacy = "—" if section in NOT_IN_LEGACY else f"`{TO_LEGACY_KEY.get(name, name)}`"
    flags = " ".join(f"`{flag}`" for flag in flag_names(name))
    description = (info.description or "").replace("|", "\\|").replace("\n", " ")
    return (
        f"| `{name}` | {_type(info.annotation)} | {_default(info)} | {env} | {flags} | "
        f"{legacy} | {description} |"
    )


def _type(annotation: Any) -> str:
    if typing.get_origin(annotation) is Literal:
        return " \\| ".join(f"`{value}`" for value in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        return _type(typing.get_args(annotation)[0])
    args = typing.get_args(annotation)
    if args:
        return " \\| ".join(_type(arg) for arg in args)
    return "None" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo) -> str:
    if info.default is PydanticUndefined:
        return "required" if info.default_factory is None else "(defaults)"
    return f"`{info.default}`"


def _aliases() -> str:
    lines = [
        "\n## Deprecated spellings\n",
        "Accepted everywhere (files, flags, Python) with a `DeprecationWarning`; giving one "
        "field under two spellings with different values is an error.\n",
        "| old spelling | section | canonical field |",
        "|---|---|---|",
    ]
    for section, table in SECTION_KEY_ALIASES.items():
        for old, (new, _) in table.items():
            lines.append(f"| `{old}` | {section} | `{new}` |")
    lines += ["\n| field | old value | canonical value |", "|---|---|---|"]
    for field, table in VALUE_ALIASES.items():
        for old, new in table.items():
            lines.append(f"| `{field}` | `{old}` | `{new}` |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Write the reference to the path given, or print it."""
    text = render_configuration_markdown()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
