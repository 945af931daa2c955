"""Registry of generator architectures, keyed by ``ModelConfig.architecture``.

The settings validate ``architecture`` against the same names, so an unknown generator fails
when the configuration is built, not halfway into a run.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from ptycho_engine.network.cnn import CnnGenerator
from ptycho_settings import ModelConfig

GENERATORS: dict[str, Callable[..., nn.Module]] = {
    "cnn": CnnGenerator.from_config,
}


def build_generator(model: ModelConfig, probe: Tensor | None = None) -> nn.Module:
    """Return a freshly initialised generator for ``model.architecture``.

    ``probe`` (the normalised probe) lets a generator derive physics-informed inputs from it
    (the CNN's per-pattern estimate); a generator of ``GENERATORS`` takes
    ``(model, probe=None)``. It is called as ``generator(amplitudes)``; a generator with an
    ``estimate`` module (a fixed per-pattern function of the amplitudes) is, in training, also
    given its output cached per pattern: ``generator(amplitudes, estimate)``
    (``ptycho_engine.training.batches``).
    """
    return GENERATORS[model.architecture](model, probe=probe)


def pattern_estimate(generator: nn.Module | None) -> nn.Module | None:
    """The generator's per-pattern estimate module (amplitudes (B, C, N, N) → complex
    estimates), or None for a generator without one (or no generator).
    """
    return getattr(generator, "estimate", None)
