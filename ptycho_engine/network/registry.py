"""Registry of generator architectures, keyed by ``ModelConfig.architecture``.

The settings validate ``architecture`` against the same names, so an unknown generator fails
when the configuration is built, not halfway into a run.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ptycho_engine.network.cnn import CnnGenerator
from ptycho_settings import ModelConfig

GENERATORS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "cnn": CnnGenerator.from_config,
}


def build_generator(model: ModelConfig) -> nn.Module:
    """Return a freshly initialised generator for ``model.architecture``."""
    return GENERATORS[model.architecture](model)
