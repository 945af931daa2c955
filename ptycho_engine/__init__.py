"""The PtychoPINN engine: data, grouping, physics, training, bundles and reconstruction.

Importing this package is cheap: the public functions below load their modules (and torch)
on first use, so ``ptycho config …`` keeps working where the engine's dependencies are missing.

Public API: ``train(config, execution) -> TrainingResult``, ``load_bundle(path)``,
``reconstruct(bundle, data, execution) -> Reconstruction``, ``write_outputs(...)``,
``refine_reconstruction(bundle, data, reconstruction, solver, iterations=...)``,
``reconstruct_iteratively(data, config)``, ``load_diffraction(path)``,
``simulate_to_files(out, ...)``, ``evaluate_reconstruction(...)``.
"""

from __future__ import annotations

import importlib
from typing import Any

from ptycho_engine.errors import DataError, EngineError

_LAZY = {
    "train": "ptycho_engine.training",
    "TrainingResult": "ptycho_engine.training",
    "load_bundle": "ptycho_engine.pinn",
    "LoadedBundle": "ptycho_engine.pinn",
    "reconstruct": "ptycho_engine.inference",
    "Reconstruction": "ptycho_engine.reconstruction",
    "write_outputs": "ptycho_engine.outputs",
    "refine_reconstruction": "ptycho_engine.solver",
    "reconstruct_iteratively": "ptycho_engine.solver",
    "load_diffraction": "ptycho_engine.data.npz",
    "DiffractionData": "ptycho_engine.data.npz",
    "simulate_to_files": "ptycho_engine.data.simulate",
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
