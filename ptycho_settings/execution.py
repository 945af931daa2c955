"""``PyTorchExecutionConfig``: the execution settings read from keyword arguments and ``PTYCHO_*``.

A pydantic-settings class: ``PyTorchExecutionConfig()`` reads ``PTYCHO_*`` variables
(``PTYCHO_DEVICE`` and ``PTYCHO_STRATEGY`` are the short names); keyword arguments beat the
environment. Its fields and rules are :class:`~ptycho_settings.execution_fields.ExecutionFields`.
The engine never builds one: it receives it, resolved by the CLI or a ``create_*_config``
factory, or takes :meth:`PyTorchExecutionConfig.from_values` of nothing (the defaults).
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Mapping
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ptycho_settings.environment import read_environment
from ptycho_settings.execution_fields import ExecutionFields, is_distributed

__all__ = ["PyTorchExecutionConfig", "is_distributed"]

_environment_enabled = contextvars.ContextVar("ptycho_environment_enabled", default=True)


class _PtychoEnvironment(PydanticBaseSettingsSource):
    """Reads ``PTYCHO_*`` through the project's own parser, so unknown names are errors."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every variable at once

    def __call__(self) -> dict[str, Any]:
        found = read_environment(os.environ, mode="any")
        return {field: value for field, (value, _name) in found.get("execution", {}).items()}


class PyTorchExecutionConfig(ExecutionFields, BaseSettings):
    """Execution settings of the PyTorch engine (devices, precision, data loading, logging)."""

    model_config = SettingsConfigDict(
        env_prefix="PTYCHO_",
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        validate_default=True,
        defer_build=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments first, then ``PTYCHO_*`` variables (unless resolving by hand)."""
        if not _environment_enabled.get():
            return (init_settings,)
        return (init_settings, _PtychoEnvironment(settings_cls))

    @classmethod
    def defaults(cls) -> PyTorchExecutionConfig:
        """The documented defaults, never read from ``PTYCHO_*`` (what the engine uses when a
        Python caller passes no execution settings).
        """
        return cls.from_values({})

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> PyTorchExecutionConfig:
        """Build from already-resolved values without reading the environment again."""
        token = _environment_enabled.set(False)
        try:
            return cls(**values)
        finally:
            _environment_enabled.reset(token)
