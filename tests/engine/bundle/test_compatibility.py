"""A bundle of another network (an earlier version's) is refused in one line, never a traceback."""

from pathlib import Path

import pytest
import torch

from ptycho_engine.bundle import write_bundle
from ptycho_engine.cli import main
from ptycho_engine.errors import EngineError
from ptycho_engine.network.cnn import CnnGenerator
from ptycho_engine.pinn import load_bundle
from ptycho_engine.training.lightning_module import PinnModule
from ptycho_settings import ModelConfig, TrainingConfig
from tests.engine.simdata import simulated_files

N = 64


def _write(folder: Path, generator: CnnGenerator) -> Path:
    model = ModelConfig(N=N)
    training = TrainingConfig(model=model)
    module = PinnModule(model, training, torch.ones(1, N, N, dtype=torch.complex64), 1.0)
    module.generator = generator
    weights = {key: value for key, value in module.state_dict().items() if key != "probe"}
    return write_bundle(
        folder,
        weights={"diffraction_to_obj": weights},
        probe=module.probe.detach().numpy(),
        scaling={"intensity_scale": 1.0, "photon_scale": 1.0, "input_scale": 1.0},
        params={"N": N, "intensity_scale": 1.0},
        settings={
            "model": model.model_dump(mode="json"),
            "training": training.model_dump(mode="json", exclude={"model"}),
        },
    )


@pytest.mark.parametrize(
    "generator",
    [
        # the network before the back-projection channels and BatchNorm: other shapes and layers
        CnnGenerator(n=N, channels=1, n_filters_scale=1),
        # the same input channels but no normalisation layers: missing keys only
        CnnGenerator(
            n=N, channels=1, n_filters_scale=1, probe=torch.ones(1, N, N, dtype=torch.complex64)
        ),
        # the same layers predicting the object outright instead of correcting the estimate
        CnnGenerator(
            n=N,
            channels=1,
            n_filters_scale=1,
            probe=torch.ones(1, N, N, dtype=torch.complex64),
            norm="batch",
            estimate_skip=True,
        ),
    ],
    ids=["earlier-input-layer", "no-batchnorm", "object-outright"],
)
def test_a_bundle_of_another_network_is_one_clear_error(tmp_path, generator, capsys):
    bundle = _write(tmp_path / "old", generator)
    with pytest.raises(
        EngineError, match=r"do not fit this network .*written by version .*train it again"
    ):
        load_bundle(bundle)
    _, test_file = simulated_files()
    status = main(
        [
            "infer",
            "--model-path",
            str(bundle),
            "--test-data-file",
            str(test_file),
            "--output-dir",
            str(tmp_path / "out"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out" / "reconstruction.npz").exists()
