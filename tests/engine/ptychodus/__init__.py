"""Tests of ptycho_engine.ptychodus and the Ptychodus contract, and the tiny inputs they share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ptycho_engine.data.npz import DiffractionData, validate_arrays

N = 64


def small_scan(
    n_positions: int = 24, *, seed: int = 0, metadata: dict | None = None
) -> DiffractionData:
    """A simulated N = 64 scan of a few positions, with ``metadata`` merged into ``_metadata``."""
    import json

    from ptycho_engine.data.simulate import simulate

    arrays = simulate(n=N, n_positions=n_positions, nphotons=1e5, seed=seed)
    if metadata:
        merged = {**json.loads(str(arrays["_metadata"])), **metadata}
        arrays["_metadata"] = np.array(json.dumps(merged))
    return validate_arrays(arrays, source="scan.npz")


def untrained_bundle(
    directory: Path,
    data: DiffractionData,
    *,
    gridsize: int = 1,
    probe_trainable: bool = False,
    losses=(0.5, 0.25, 0.125),
) -> Path:
    """Write a bundle of a freshly initialised (untrained) network, as training would."""
    from ptycho_engine.bundle import write_bundle
    from ptycho_engine.physics.probe import prepare_probe
    from ptycho_engine.physics.scaling import photon_scale
    from ptycho_engine.training.lightning_module import PinnModule
    from ptycho_settings import ModelConfig, TrainingConfig, to_legacy_params
    from tests.engine.probes import probe_settings

    torch.manual_seed(0)
    model = ModelConfig(N=N, gridsize=gridsize, n_filters_scale=1)
    training = TrainingConfig(
        model=model, neighbor_count=4, nphotons=1e5, probe_trainable=probe_trainable
    )
    probe, q = prepare_probe(data.probe, **probe_settings(training.model))
    module = PinnModule(model, training, probe, photon_scale(training.nphotons, N))
    weights = {key: value for key, value in module.state_dict().items() if key != "probe"}
    scaling = {
        "intensity_scale": module.intensity_scale,
        "photon_scale": module.photon_scale,
        "probe_normalisation": q,
        "nphotons": training.nphotons,
    }
    return write_bundle(
        directory,
        weights={"diffraction_to_obj": weights},
        probe=probe.numpy(),
        scaling=scaling,
        params={**to_legacy_params(training), "intensity_scale": module.intensity_scale},
        settings={
            "model": model.model_dump(mode="json"),
            "training": training.model_dump(mode="json"),
        },
        extras={"train_loss": np.asarray(losses, np.float64)},
    )
