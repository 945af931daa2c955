"""Conversion of an upstream ``ptycho_torch`` JSON config into a canonical settings file."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from ptycho_settings.bridge import normalise_section
from ptycho_settings.errors import SettingsError

# (upstream section, key) -> (canonical section, canonical key, translate or None)
_SAME = None
_MAP: dict[tuple[str, str], tuple[str, str]] = {
    ("data_config", "N"): ("model", "N"),
    ("data_config", "grid_size"): ("model", "grid_size"),
    ("data_config", "K"): ("training", "K"),
    ("data_config", "nphotons"): ("training", "nphotons"),
    ("data_config", "probe_scale"): ("model", "probe_scale"),
    ("data_config", "subsample_seed"): ("training", "subsample_seed"),
    ("model_config", "mode"): ("model", "mode"),
    ("model_config", "amp_activation"): ("model", "amp_activation"),
    ("model_config", "n_filters_scale"): ("model", "n_filters_scale"),
    ("model_config", "object_big"): ("model", "object_big"),
    ("model_config", "probe_big"): ("model", "probe_big"),
    ("model_config", "probe_mask"): ("model", "probe_mask"),
    ("model_config", "pad_object"): ("model", "pad_object"),
    ("model_config", "gaussian_smoothing_sigma"): ("model", "gaussian_smoothing_sigma"),
    ("model_config", "intensity_scale_trainable"): ("training", "intensity_scale_trainable"),
    ("training_config", "epochs"): ("training", "epochs"),
    ("training_config", "batch_size"): ("training", "batch_size"),
    ("training_config", "nll"): ("training", "nll"),
    ("training_config", "learning_rate"): ("training", "learning_rate"),
    ("training_config", "n_groups"): ("training", "n_groups"),
    ("training_config", "train_data_file"): ("training", "train_data_file"),
    ("training_config", "test_data_file"): ("training", "test_data_file"),
    ("training_config", "output_dir"): ("training", "output_dir"),
    ("training_config", "device"): ("execution", "device"),
    ("training_config", "strategy"): ("execution", "strategy"),
    ("training_config", "n_devices"): ("execution", "devices"),
    ("training_config", "num_workers"): ("execution", "num_workers"),
    ("training_config", "accum_steps"): ("execution", "accumulate_grad_batches"),
    ("training_config", "gradient_clip_val"): ("execution", "gradient_clip_val"),
    ("training_config", "gradient_clip_algorithm"): ("execution", "gradient_clip_algorithm"),
    ("inference_config", "batch_size"): ("execution", "inference_batch_size"),
}
for _key in ("optimizer", "momentum", "weight_decay", "adam_beta1", "adam_beta2", "scheduler",
             "lr_warmup_epochs", "lr_min_ratio", "plateau_factor", "plateau_patience",
             "plateau_min_lr", "plateau_threshold"):  # fmt: skip
    _MAP[("training_config", _key)] = ("training", _key)
# Derived upstream values that say nothing new once gridsize is known.
_DERIVED = {("data_config", "C"), ("model_config", "C_model"), ("model_config", "C_forward")}


def migrate_upstream(data: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Return ``(canonical sections, unmapped keys)`` for an upstream ptycho_torch config.

    Values pass through the same deprecation bridge as everywhere else (``epochs`` →
    ``nepochs``, ``mode`` → ``model_type``, ``silu`` → ``swish`` …), so a non-square grid or an
    unknown mode is refused here too. ``data_config.n_subsample`` is a *factor* upstream and
    a *count* here, so it is listed as unmapped rather than converted.
    """
    sections: dict[str, dict[str, Any]] = {}
    unmapped: list[str] = []
    for upstream_section, values in data.items():
        if not isinstance(values, Mapping):
            unmapped.append(upstream_section)
            continue
        for key, value in values.items():
            target = _MAP.get((upstream_section, key))
            if target is None:
                if (upstream_section, key) not in _DERIVED:
                    unmapped.append(f"{upstream_section}.{key}")
                continue
            sections.setdefault(target[0], {})[target[1]] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # migrating is the point
        try:
            canonical = {name: normalise_section(name, values) for name, values in sections.items()}
        except ValueError as error:
            raise SettingsError(f"cannot migrate: {error}") from error
    return canonical, unmapped
