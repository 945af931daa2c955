"""Where each resolved value came from: default, file, environment, flag, data or Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SourceKind = Literal["default", "file", "env", "cli", "inferred", "explicit"]


@dataclass(frozen=True)
class ValueSource:
    """The origin of one setting.

    Attributes
    ----------
    kind : {"default", "file", "env", "cli", "inferred", "explicit"}
        The precedence layer; ``explicit`` is a Python keyword argument.
    detail : str
        The file and key, the variable name, the flag, or the data file and array.
    """

    kind: SourceKind
    detail: str = ""

    def describe(self) -> str:
        """Return a short human description, e.g. ``run.json: training.nepochs``."""
        if self.kind == "default":
            return "default"
        if self.kind == "explicit":
            return f"argument {self.detail}" if self.detail else "argument"
        return self.detail or self.kind


DEFAULT = ValueSource("default")
