"""``ResolvedSettings``: the frozen result of the factories, with the source of every value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from ptycho_settings.execution import PyTorchExecutionConfig
from ptycho_settings.inference import InferenceConfig
from ptycho_settings.legacy import to_legacy_params
from ptycho_settings.reconstruction import ReconstructionConfig
from ptycho_settings.training import TrainingConfig

if TYPE_CHECKING:
    from ptycho_settings.data_summary import DataSummary
    from ptycho_settings.provenance import ValueSource


@dataclass(frozen=True)
class ResolvedSettings:
    """Canonical config, execution config and provenance of one run.

    Attributes
    ----------
    mode : {"training", "inference", "reconstruction"}
    config : TrainingConfig, InferenceConfig or ReconstructionConfig
    execution : PyTorchExecutionConfig
    provenance : mapping
        ``{"model.N": ValueSource, "training.nepochs": …, "execution.seed": …}`` for every field.
    data : DataSummary or None
        What was read from the data file, when one was given and checked.
    """

    mode: Literal["training", "inference", "reconstruction"]
    config: TrainingConfig | InferenceConfig | ReconstructionConfig
    execution: PyTorchExecutionConfig
    provenance: Mapping[str, ValueSource]
    data: DataSummary | None = field(default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

    def source(self, path: str) -> ValueSource:
        """Return the source of one value, e.g. ``source("model.N")``."""
        return self.provenance[path]

    def sections(self) -> dict[str, Any]:
        """Return ``{"model": ModelConfig, mode: run config, "execution": …}``."""
        return {"model": self.config.model, self.mode: self.config, "execution": self.execution}

    def to_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Return ``{section: {field: {"value": V, "source": S, "detail": D}}}`` (JSON-ready)."""
        result: dict[str, dict[str, dict[str, Any]]] = {}
        for section, settings in self.sections().items():
            entries = {}
            for name in type(settings).model_fields:
                if name == "model" and section != "model":
                    continue
                source = self.provenance[f"{section}.{name}"]
                entries[name] = {
                    "value": _jsonable(getattr(settings, name)),
                    "source": "cli" if source.kind == "explicit" else source.kind,
                    "detail": source.describe(),
                }
            result[section] = entries
        return result

    def legacy_params(self) -> dict[str, Any]:
        """Return the flat legacy params dict of the canonical config (no execution keys)."""
        return to_legacy_params(self.config)


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value
