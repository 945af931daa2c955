"""The PtychoPINN engine: data, grouping, physics, training, bundles and reconstruction.

Importing this package is cheap: submodules that need torch import it themselves, so
``ptycho config …`` keeps working where the engine's heavy dependencies are missing.
"""

from ptycho_engine.errors import DataError, EngineError

__all__ = ["DataError", "EngineError"]
