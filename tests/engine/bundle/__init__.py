"""Tests of ptycho_engine.bundle, and the tiny bundle inputs they share."""

from __future__ import annotations

import numpy as np
import torch


def make_inputs() -> dict:
    """Return keyword arguments for ``write_bundle``: a small two-model bundle of every dtype."""
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    weights = {
        "diffraction_to_obj": {
            "encoder.0.weight": torch.randn(4, 1, 3, 3, generator=gen),
            "encoder.0.bias": torch.randn(4, generator=gen, dtype=torch.float64),
            "norm.num_batches_tracked": torch.tensor(7),
            "mask": torch.rand(5, generator=gen) > 0.5,
            "log_scale": torch.tensor(0.25),
        },
        "autoencoder": {"decoder.weight": rng.standard_normal((2, 3)).astype(np.float32)},
    }
    probe = rng.standard_normal((2, 16, 16)) + 1j * rng.standard_normal((2, 16, 16))
    return {
        "weights": weights,
        "probe": probe.astype(np.complex64),
        "scaling": {"intensity_scale": 3.5, "input_scale": 0.125, "nphotons": 1e9},
        "params": {"N": 16, "gridsize": 1, "intensity_scale": 3.5, "object.big": True},
        "settings": {"model": {"N": 16}, "provenance": {"model.N": "run.json"}},
        "extras": {
            "groups": np.arange(12, dtype=np.int64).reshape(6, 2),
            "loss": np.linspace(1.0, 0.1, 5),
        },
    }
