"""Validated, frozen settings of PtychoPINN runs, with the source of every value.

Imports pydantic only (never torch). Public names are loaded on first use (PEP 562), so
``import ptycho_settings`` costs milliseconds and a container can check its configuration
without the engine installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_PUBLIC = {
    "DataSummary": "data_summary",
    "HardwareDescription": "resolve",
    "InferenceConfig": "inference",
    "ModelConfig": "model",
    "PyTorchExecutionConfig": "execution",
    "ReconstructionConfig": "reconstruction",
    "ResolvedExecution": "resolve",
    "ResolvedSettings": "resolved",
    "SettingsError": "errors",
    "SolverConfig": "solver",
    "TrainingConfig": "training",
    "ValueSource": "provenance",
    "create_inference_config": "sources",
    "create_reconstruction_config": "sources",
    "create_training_config": "sources",
    "from_legacy_params": "legacy",
    "resolve_execution": "resolve",
    "to_legacy_params": "legacy",
    "update_legacy_dict": "legacy",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'ptycho_settings' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ptycho_settings.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from ptycho_settings.data_summary import DataSummary
    from ptycho_settings.errors import SettingsError
    from ptycho_settings.execution import PyTorchExecutionConfig
    from ptycho_settings.inference import InferenceConfig
    from ptycho_settings.legacy import from_legacy_params, to_legacy_params, update_legacy_dict
    from ptycho_settings.model import ModelConfig
    from ptycho_settings.provenance import ValueSource
    from ptycho_settings.reconstruction import ReconstructionConfig
    from ptycho_settings.resolve import HardwareDescription, ResolvedExecution, resolve_execution
    from ptycho_settings.resolved import ResolvedSettings
    from ptycho_settings.solver import SolverConfig
    from ptycho_settings.sources import (
        create_inference_config,
        create_reconstruction_config,
        create_training_config,
    )
    from ptycho_settings.training import TrainingConfig
