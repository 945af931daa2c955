"""The one place sources meet: ``create_training_config``, ``create_inference_config`` and
``create_reconstruction_config``.

Precedence, highest first: explicit Python arguments and CLI flags the user typed >
``PTYCHO_*`` environment > config file > values inferred from the data file > defaults.
Every resolved value records its source (:class:`ptycho_settings.provenance.ValueSource`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ptycho_settings.bridge import SECTION_KEY_ALIASES, normalise_section
from ptycho_settings.bundle_format import BUNDLE_FILENAME
from ptycho_settings.bundle_settings import read_bundle_settings
from ptycho_settings.data_summary import DataSummary, summarise_data_file
from ptycho_settings.environment import CONFIG_FILE_VARIABLE, read_environment
from ptycho_settings.errors import SettingsError, format_validation_error
from ptycho_settings.execution import PyTorchExecutionConfig
from ptycho_settings.fields import (
    SECTION_CLASSES,
    alias_section,
    closest_field_names,
    field_section,
    own_fields,
)
from ptycho_settings.files import read_config_file, sections_from_file
from ptycho_settings.model import ModelConfig
from ptycho_settings.provenance import DEFAULT, SourceKind, ValueSource
from ptycho_settings.resolved import ResolvedSettings

Mode = Literal["training", "inference", "reconstruction"]
Layer = dict[str, dict[str, tuple[Any, str]]]  # section -> field -> (value, where)
_SECTIONS = ("model", "training", "inference", "reconstruction", "execution")
_RUN_SECTIONS = ("training", "inference", "reconstruction")
# The data file each mode reads, from which N (and, where the mode has it, nphotons) is inferred.
_DATA_FIELD = {
    "training": "train_data_file",
    "inference": "test_data_file",
    "reconstruction": "data_file",
}


def create_training_config(
    config_file: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    flags: Mapping[str, tuple[Any, str]] | None = None,
    environ: Mapping[str, str] | None = None,
    check_files: bool = True,
    defaults: Mapping[str, Any] | None = None,
) -> ResolvedSettings:
    """Resolve training settings from every source.

    Parameters
    ----------
    config_file : path, optional
        JSON or TOML file with sections ``model``, ``training``, ``execution`` (or flat keys);
        by default the file named by ``PTYCHO_CONFIG_FILE``, if set.
    overrides : mapping, optional
        Explicit Python values, flat (``{"N": 128, "accelerator": "cpu"}``) or by section.
    flags : mapping, optional
        ``{field: (value, "--flag")}`` for the CLI flags the user typed.
    environ : mapping, optional
        The environment to read ``PTYCHO_*`` from; ``os.environ`` by default.
    check_files : bool
        Check that the data file exists and infer N and nphotons from it.
    defaults : mapping, optional
        A workflow's own defaults (``ptycho demo``'s), flat or by section: below every other
        source, so the environment, a file and flags still change them; recorded as defaults.

    Returns
    -------
    ResolvedSettings
        Frozen canonical config, execution config and provenance.

    Raises
    ------
    SettingsError
        One line per problem, naming the field, value, allowed values and source.
    """
    return _create("training", config_file, overrides, flags, environ, check_files, defaults)


def create_inference_config(
    config_file: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    flags: Mapping[str, tuple[Any, str]] | None = None,
    environ: Mapping[str, str] | None = None,
    check_files: bool = True,
) -> ResolvedSettings:
    """Resolve inference settings from every source (see :func:`create_training_config`)."""
    return _create("inference", config_file, overrides, flags, environ, check_files)


def create_reconstruction_config(
    config_file: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    flags: Mapping[str, tuple[Any, str]] | None = None,
    environ: Mapping[str, str] | None = None,
    check_files: bool = True,
) -> ResolvedSettings:
    """Resolve the settings of the iterative solver (``ptycho reconstruct``) from every source
    (see :func:`create_training_config`).
    """
    return _create("reconstruction", config_file, overrides, flags, environ, check_files)


def _create(
    mode: Mode,
    config_file: str | Path | None,
    overrides: Mapping[str, Any] | None,
    flags: Mapping[str, tuple[Any, str]] | None,
    environ: Mapping[str, str] | None,
    check_files: bool,
    defaults: Mapping[str, Any] | None = None,
) -> ResolvedSettings:
    layers: list[tuple[SourceKind, Layer]] = []
    if defaults:
        layers.append(("default", _split_overrides(mode, defaults)))
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get(CONFIG_FILE_VARIABLE):
        config_file = environ[CONFIG_FILE_VARIABLE]  # a container's mounted settings file
        if not Path(config_file).is_file():
            raise SettingsError(f"{CONFIG_FILE_VARIABLE}={config_file!r}: file does not exist")
    if config_file is not None:
        path = Path(config_file)
        layers.append(("file", sections_from_file(read_config_file(path), path=path, mode=mode)))
    layers.append(("env", read_environment(environ, mode=mode)))
    if flags:
        layers.append(("cli", _split_flat(mode, flags, "flag")))
    if overrides:
        layers.append(("explicit", _split_overrides(mode, overrides)))
    values, provenance = _merge(mode, layers)
    if check_files:
        _check_paths(mode, values, provenance)
        if mode == "inference":
            _model_from_bundle(values, provenance)
    summary = _infer_from_data(mode, values, provenance) if check_files else None
    return _build(mode, values, provenance, summary)


def _split_overrides(mode: Mode, overrides: Mapping[str, Any]) -> Layer:
    if any(key in _SECTIONS and isinstance(value, Mapping) for key, value in overrides.items()):
        layer: Layer = {}
        for section, values in overrides.items():
            if section not in _SECTIONS or not isinstance(values, Mapping):
                raise SettingsError(f"overrides: `{section}` mixes flat keys with sections")
            if section in _RUN_SECTIONS and section != mode:
                continue
            for key, value in values.items():
                layer.setdefault(section, {})[key] = (value, f"{section}.{key}")
        return layer
    return _split_flat(mode, {key: (value, key) for key, value in overrides.items()}, "argument")


def _split_flat(mode: Mode, items: Mapping[str, tuple[Any, str]], what: str) -> Layer:
    layer: Layer = {}
    for key, (value, where) in items.items():
        section = field_section(mode).get(key) or alias_section(mode).get(key)
        if section is None:
            if key in field_section("any") or key in alias_section("any"):
                continue  # a setting of the other mode (the CLI offers both sets of flags)
            hints = closest_field_names(key)
            hint = f"; did you mean `{hints[0]}`?" if hints else ""
            raise SettingsError(f"{what} `{where}`: `{key}` is not a setting{hint}")
        layer.setdefault(section, {})[key] = (value, where)
    return layer


def _merge(mode: Mode, layers: list[tuple[SourceKind, Layer]]):
    values: dict[str, dict[str, Any]] = {"model": {}, mode: {}, "execution": {}}
    provenance: dict[str, ValueSource] = {}
    for kind, layer in layers:
        for section, entries in layer.items():
            canonical = _canonical(section, entries, kind)
            for field, (value, where) in canonical.items():
                values[section][field] = value
                provenance[f"{section}.{field}"] = ValueSource(kind, where)
    return values, provenance


def _canonical(section: str, entries: Mapping[str, tuple[Any, str]], kind: str):
    raw = {key: value for key, (value, _) in entries.items()}
    try:
        normal = normalise_section(section, raw)
    except ValueError as error:
        where = ", ".join(where for _, where in entries.values())
        raise SettingsError(f"{section} ({kind}: {where}): {error}") from error
    renamed = {new: old for old, (new, _) in SECTION_KEY_ALIASES[section].items() if old in raw}
    return {key: (value, entries[renamed.get(key, key)][1]) for key, value in normal.items()}


def _infer_from_data(mode: Mode, values: dict, provenance: dict) -> DataSummary | None:
    field = _DATA_FIELD[mode]
    path = values[mode].get(field)
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise SettingsError(
            f"{mode}.{field}={str(path)!r} (from {provenance[f'{mode}.{field}'].describe()}): "
            f"{_not_a_file(path)}"
        )
    summary = summarise_data_file(path)
    _take_inferred(values, provenance, "model", "N", summary.N, f"probeGuess of {path.name}")
    if mode in ("training", "reconstruction") and summary.nphotons is not None:
        detail = f"{summary.nphotons_key} of {path.name}"
        _take_inferred(values, provenance, mode, "nphotons", summary.nphotons, detail)
    return summary


def _take_inferred(values, provenance, section, field, inferred, detail) -> None:
    given = values[section].get(field)
    unresolved = field == "N" and str(given) == "0"  # N=0: "from the data" (Ptychodus)
    if given is None or unresolved:
        values[section][field] = inferred
        provenance[f"{section}.{field}"] = ValueSource(
            "inferred", f"{detail} (N=0 given)" if unresolved else detail
        )
    elif field == "N" and str(given) != str(inferred):
        source = provenance[f"{section}.{field}"].describe()
        raise SettingsError(
            f"model.N={given} (from {source}) disagrees with the data: {detail} is "
            f"{inferred}×{inferred}; remove the setting or use N={inferred}"
        )


def _check_paths(mode: Mode, values: dict, provenance: dict) -> None:
    """Check the input that ``_infer_from_data`` does not read: validation data or the bundle."""
    field = {"training": "test_data_file", "inference": "model_path", "reconstruction": "init"}[
        mode
    ]
    path = values[mode].get(field)
    if path is None or (field == "init" and str(path) == "flat"):
        return
    path = Path(path)
    if field == "model_path" and path.is_dir():
        exists, what = (path / BUNDLE_FILENAME).is_file(), f"no {BUNDLE_FILENAME} in that directory"
    else:
        exists, what = path.is_file(), _not_a_file(path)
    if not exists:
        source = provenance[f"{mode}.{field}"].describe()
        raise SettingsError(f"{mode}.{field}={str(path)!r} (from {source}): {what}")


def _not_a_file(path: Path) -> str:
    return "is a directory, expected a file" if path.is_dir() else "file does not exist"


def _model_from_bundle(values: dict, provenance: dict) -> None:
    """Inference uses the model the bundle was trained with; a contradicting value is an error."""
    path = values["inference"].get("model_path")
    if path is None:
        return
    stored = read_bundle_settings(Path(path)).get("model", {})
    for field, value in stored.items():
        given = values["model"].get(field)
        source = provenance.get(f"model.{field}")
        if given is not None and str(given) != str(value) and source is not None:
            raise SettingsError(
                f"model.{field}={given} (from {source.describe()}) differs from the trained "
                f"model's {field}={value}: model settings come from the bundle; remove the setting"
            )
        values["model"][field] = value
        provenance[f"model.{field}"] = ValueSource("inferred", f"bundle {path}")


def _build(mode: Mode, values: dict, provenance: dict, summary) -> ResolvedSettings:
    try:
        model = ModelConfig(**values["model"])
    except ValidationError as error:
        raise format_validation_error(error, section="model", provenance=provenance) from error
    run_class = SECTION_CLASSES[mode]
    try:
        config = run_class(model=model, **values[mode])
    except ValidationError as error:
        raise format_validation_error(error, section=mode, provenance=provenance) from error
    try:
        execution = PyTorchExecutionConfig.from_values(values["execution"])
    except ValidationError as error:
        raise format_validation_error(error, section="execution", provenance=provenance) from error
    for section in ("model", mode, "execution"):
        for field in own_fields(section):
            provenance.setdefault(f"{section}.{field}", DEFAULT)
    return ResolvedSettings(mode, config, execution, provenance, summary)
