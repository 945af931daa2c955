"""Deprecated spellings and the upstream ``ptycho_torch`` vocabulary, mapped onto canonical names.

Every mapping here warns with ``DeprecationWarning``. One field given under two spellings with
different values is an error: silently preferring one would hide a mistake in the user's file.
The canonical models call :func:`normalise_section` before validation, so old spellings work the
same in Python keyword arguments, config files, legacy dicts and CLI flags.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

_DROP = object()  # a translation that sets nothing (e.g. ``disable_mlflow=False``)


def _grid_size(value: Any) -> Any:
    if isinstance(value, int | str) and not isinstance(value, bool):
        return value
    if not isinstance(value, list | tuple):
        raise ValueError(f"grid_size={value!r} is not a grid; use gridsize=g for a g×g group")
    sides = list(value)
    if len(sides) != 2 or sides[0] != sides[1]:
        raise ValueError(
            f"grid_size={tuple(sides)!r} is not a square grid; only square groups are supported: "
            "use gridsize=g for a g×g group"
        )
    return sides[0]


_MODES = {"unsupervised": "pinn", "supervised": "supervised"}


def _mode(value: Any) -> Any:
    mapped = _MODES.get(str(value).lower())
    if mapped is None:
        raise ValueError(f"mode={value!r} is not a known mode; use 'Unsupervised' or 'Supervised'")
    return mapped


def _nll(value: Any) -> Any:
    flag = _as_bool(value, "nll")
    return 1.0 if flag else 0.0


def _device(value: Any) -> Any:
    text = str(value).lower()
    return {"cuda": "gpu"}.get(text, text)


def _disable_mlflow(value: Any) -> Any:
    return "none" if _as_bool(value, "disable_mlflow") else _DROP


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean; use true or false")


def _same(value: Any) -> Any:
    return value


Translation = tuple[str, Callable[[Any], Any]]

MODEL_KEY_ALIASES: dict[str, Translation] = {
    "grid_size": ("gridsize", _grid_size),
    "mode": ("model_type", _mode),
}
_SAMPLING_KEY_ALIASES: dict[str, Translation] = {
    "n_images": ("n_groups", _same),
    "K": ("neighbor_count", _same),
}
TRAINING_KEY_ALIASES: dict[str, Translation] = {
    **_SAMPLING_KEY_ALIASES,
    "max_epochs": ("nepochs", _same),
    "epochs": ("nepochs", _same),
    "nll": ("nll_weight", _nll),
}
INFERENCE_KEY_ALIASES: dict[str, Translation] = dict(_SAMPLING_KEY_ALIASES)
EXECUTION_KEY_ALIASES: dict[str, Translation] = {
    "device": ("accelerator", _device),
    "disable_mlflow": ("logger", _disable_mlflow),
    "accum_steps": ("accumulate_grad_batches", _same),
    "logger_backend": ("logger", _same),
    "checkpoint_monitor_metric": ("checkpoint_monitor", _same),
    "n_devices": ("devices", _same),
}

# Old *values* of canonical fields: (field, old value) -> canonical value.
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "amp_activation": {"silu": "swish", "SiLU": "swish"},
    "model_type": {"Unsupervised": "pinn", "Supervised": "supervised"},
    "scheduler": {
        "Default": "none",
        "Exponential": "exponential",
        "WarmupCosine": "warmup-cosine",
        "ReduceLROnPlateau": "plateau",
    },
}

SECTION_KEY_ALIASES: dict[str, dict[str, Translation]] = {
    "model": MODEL_KEY_ALIASES,
    "training": TRAINING_KEY_ALIASES,
    "inference": INFERENCE_KEY_ALIASES,
    "reconstruction": {},
    "execution": EXECUTION_KEY_ALIASES,
}


def deprecated_keys(section: str) -> dict[str, str]:
    """Return ``{old spelling: canonical field}`` for one settings section."""
    return {old: new for old, (new, _) in SECTION_KEY_ALIASES[section].items()}


def normalise_section(section: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``data`` with deprecated keys and values replaced by canonical ones.

    Parameters
    ----------
    section : {"model", "training", "inference", "execution"}
        Which settings class the keys belong to.
    data : mapping
        Raw keys and values, possibly in the upstream vocabulary.

    Raises
    ------
    ValueError
        When one field is given under two spellings with different values, or an old value
        (a non-square ``grid_size``, an unknown ``mode``) has no canonical meaning.
    """
    result = dict(data)
    spelled_as: dict[str, str] = {}
    for old, (new, translate) in SECTION_KEY_ALIASES[section].items():
        if old not in result:
            continue
        raw = result.pop(old)
        value = translate(raw)
        if value is not _DROP and new in result and result[new] != value:
            earlier = spelled_as.get(new, new)
            raise ValueError(
                f"{new} is given twice with different values: {earlier}={result[new]!r} and "
                f"{old}={raw!r}; keep only `{new}`"
            )
        # Warned only once the spelling is accepted: a refused file gets the error line alone.
        warnings.warn(
            f"`{old}` is deprecated; use `{new}`", DeprecationWarning, stacklevel=_stacklevel()
        )
        if value is _DROP:
            continue
        result[new] = value
        spelled_as[new] = old
    for field, table in VALUE_ALIASES.items():
        value = result.get(field)
        if isinstance(value, str) and value in table:
            warnings.warn(
                f"{field}={value!r} is an old spelling; use {field}={table[value]!r}",
                DeprecationWarning,
                stacklevel=_stacklevel(),
            )
            result[field] = table[value]
    return result


def _stacklevel() -> int:
    # Point the warning past pydantic's validator frames at the caller's line.
    return 6
