"""Shared pydantic configuration and small value types of the canonical settings classes."""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator, ConfigDict

CANONICAL_CONFIG = ConfigDict(
    frozen=True,
    extra="forbid",
    use_attribute_docstrings=True,
    validate_default=True,
    arbitrary_types_allowed=False,
    defer_build=True,
)


def _int_from_text(value: Any) -> Any:
    # Literal[64, 128, 256] accepts only ints; flags and variables arrive as text.
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


IntFromText = BeforeValidator(_int_from_text)


def is_power_of_two(value: int) -> bool:
    """Return True when ``value`` is a positive power of two."""
    return value > 0 and value & (value - 1) == 0
