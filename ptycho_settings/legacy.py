"""The flat legacy params dict: an output for old callers and bundles, never a source of truth.

``to_legacy_params`` flattens the model fields into the run fields and renames the nine keys
of :data:`ptycho_settings.legacy_keys.TO_LEGACY_KEY`; execution settings never appear.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ptycho_settings.bridge import deprecated_keys
from ptycho_settings.errors import SettingsError, format_validation_error
from ptycho_settings.fields import closest_field_names, own_fields
from ptycho_settings.inference import InferenceConfig
from ptycho_settings.legacy_keys import FROM_LEGACY_KEY, LEGACY_ONLY_KEYS, TO_LEGACY_KEY
from ptycho_settings.model import ModelConfig
from ptycho_settings.training import TrainingConfig

RunConfig = TrainingConfig | InferenceConfig


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def to_legacy_params(config: RunConfig | ModelConfig) -> dict[str, Any]:
    """Return the flat legacy dict of a config (model fields flattened, paths as str).

    ``None`` values are kept (as upstream's ``asdict`` did); :func:`update_legacy_dict` skips them.
    """
    flat: dict[str, Any] = {}
    model = config if isinstance(config, ModelConfig) else config.model
    for name in type(model).model_fields:
        flat[TO_LEGACY_KEY.get(name, name)] = _plain(getattr(model, name))
    if not isinstance(config, ModelConfig):
        for name in type(config).model_fields:
            if name != "model":
                flat[TO_LEGACY_KEY.get(name, name)] = _plain(getattr(config, name))
    return flat


def update_legacy_dict(cfg: MutableMapping[str, Any], config: RunConfig | ModelConfig) -> None:
    """Write a config into an existing legacy dict, skipping ``None`` values.

    Applying a training config and then an inference config leaves the inference values
    wherever both set one, as upstream callers (Ptychodus) expect.
    """
    for key, value in to_legacy_params(config).items():
        if value is not None:
            cfg[key] = value


def from_legacy_params(
    params: Mapping[str, Any], kind: Literal["training", "inference"] | None = None
) -> RunConfig:
    """Read a legacy dict back into a ``TrainingConfig`` or ``InferenceConfig``.

    Parameters
    ----------
    params : mapping
        A flat legacy dict (from a bundle's ``params.json`` or an upstream export).
    kind : {"training", "inference"}, optional
        Which config to build; by default ``inference`` when ``model_path`` is present.

    Raises
    ------
    SettingsError
        For a key that is neither a setting nor a known legacy-only key, or invalid values.
    """
    kind = kind or ("inference" if params.get("model_path") is not None else "training")
    run_class = InferenceConfig if kind == "inference" else TrainingConfig
    model_fields, run_fields = own_fields("model"), own_fields(kind)
    model_values: dict[str, Any] = {}
    run_values: dict[str, Any] = {}
    model_aliases, run_aliases = deprecated_keys("model"), deprecated_keys(kind)
    for key, value in params.items():
        name = FROM_LEGACY_KEY.get(key, key)
        if name in model_fields or name in model_aliases:
            model_values[name] = value
        elif name in run_fields or name in run_aliases:
            run_values[name] = value
        elif key not in LEGACY_ONLY_KEYS and name not in _OTHER_RUN_FIELDS[kind]:
            hints = closest_field_names(name)
            hint = f"; did you mean `{hints[0]}`?" if hints else ""
            raise SettingsError(f"legacy key `{key}` is not a setting of {kind}{hint}")
    try:
        model = ModelConfig(**model_values)
    except ValidationError as error:
        raise format_validation_error(error, section="model") from error
    try:
        return run_class(model=model, **run_values)
    except ValidationError as error:
        raise format_validation_error(error, section=kind) from error


# Fields of the other run kind that a legacy dict may carry (a training dict updated with
# inference values holds both): read as known, not as errors.
_OTHER_RUN_FIELDS = {
    "training": set(InferenceConfig.model_fields) - set(TrainingConfig.model_fields),
    "inference": set(TrainingConfig.model_fields) - set(InferenceConfig.model_fields),
}
