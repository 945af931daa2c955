"""The PtychoPINN engine: data, grouping, physics, training, bundles and reconstruction.

Importing this package is cheap: the public functions below load their modules (and torch)
on first use, so ``ptycho config …`` keeps working where the engine's dependencies are missing.

Public API: ``ptycho_engine.train.train(config, execution) -> TrainingResult`` (the module
shares the function's name, so import it from there), ``load_bundle(path)``,
``reconstruct(bundle, data, execution) -> Reconstruction``, ``load_diffraction(path)``,
``simulate_to_files(out, ...)``, ``write_outputs(...)``, ``evaluate_reconstruction(...)``.
"""

from __future__ import annotations

import importlib
from typing import Any

from ptycho_engine.errors import DataError, EngineError

_LAZY = {
    "TrainingResult": "ptycho_engine.train",
    "load_bundle": "ptycho_engine.infer",
    "reconstruct": "ptycho_engine.infer",
    "LoadedBundle": "ptycho_engine.infer",
    "Reconstruction": "ptycho_engine.infer",
    "load_diffraction": "ptycho_engine.data.npz",
    "DiffractionData": "ptycho_engine.data.npz",
    "simulate_to_files": "ptycho_engine.data.simulate",
    "write_outputs": "ptycho_engine.outputs",
    "evaluate_reconstruction": "ptycho_engine.metrics",
}
__all__ = sorted(["DataError", "EngineError", *_LAZY])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ptycho_engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
