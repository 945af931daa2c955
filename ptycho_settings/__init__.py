"""Validated, frozen settings of PtychoPINN runs, with the source of every value.

Imports pydantic only (never torch), so a container can validate its configuration in
milliseconds without the engine installed.
"""

from ptycho_settings.data_summary import DataSummary
from ptycho_settings.errors import SettingsError
from ptycho_settings.execution import PyTorchExecutionConfig
from ptycho_settings.inference import InferenceConfig
from ptycho_settings.legacy import from_legacy_params, to_legacy_params, update_legacy_dict
from ptycho_settings.model import ModelConfig
from ptycho_settings.provenance import ValueSource
from ptycho_settings.resolve import HardwareDescription, ResolvedExecution, resolve_execution
from ptycho_settings.resolved import ResolvedSettings
from ptycho_settings.sources import create_inference_config, create_training_config
from ptycho_settings.training import TrainingConfig

__all__ = [
    "DataSummary",
    "HardwareDescription",
    "InferenceConfig",
    "ModelConfig",
    "PyTorchExecutionConfig",
    "ResolvedExecution",
    "ResolvedSettings",
    "SettingsError",
    "TrainingConfig",
    "ValueSource",
    "create_inference_config",
    "create_training_config",
    "from_legacy_params",
    "resolve_execution",
    "to_legacy_params",
    "update_legacy_dict",
]
