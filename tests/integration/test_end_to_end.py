"""Simulate → train → save → load → infer, for gridsize 1 and 2, through the public API.

It asserts what a user relies on: the reloaded bundle predicts exactly what the trained
network predicted, and the reconstruction is clearly better than an untrained network's.
"""

from pathlib import Path

import pytest
import torch

from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.infer import load_bundle, reconstruct
from ptycho_engine.metrics import evaluate_reconstruction
from ptycho_engine.train import train
from ptycho_settings import ModelConfig, PyTorchExecutionConfig, TrainingConfig
from tests.engine.simdata import simulated_files

EXECUTION = PyTorchExecutionConfig.from_values({
    "accelerator": "cpu", "enable_progress_bar": False, "logger": "csv", "seed": 0})


def _ssim(bundle, data) -> tuple[float, float]:
    reconstruction = reconstruct(bundle, data, EXECUTION)
    scores = evaluate_reconstruction(reconstruction.object, data.object, origin=reconstruction.origin,
                                     positions_xy=data.positions_xy, patch_size=data.N).to_dict()
    return scores["amplitude"]["ssim"], scores["phase"]["ssim"]


@pytest.mark.parametrize("gridsize", [1, 2])
def test_train_save_load_infer(tmp_path: Path, gridsize: int):
    train_file, _ = simulated_files()
    config = TrainingConfig(
        model=ModelConfig(gridsize=gridsize), train_data_file=train_file, output_dir=tmp_path / "model",
        nphotons=1e6, n_groups=64, nepochs=INTEGRATION_EPOCHS, batch_size=16)
    result = train(config, EXECUTION)
    assert result.bundle_path == tmp_path / "model" / "wts.h5.zip"
    assert (tmp_path / "model" / "checkpoints" / "last.ckpt").is_file()

    bundle = load_bundle(result.bundle_path)
    data = load_diffraction(train_file)
    x = torch.from_numpy(data.diffraction[: gridsize**2 * 4]).reshape(4, gridsize**2, 64, 64) * 0.03
    with torch.no_grad():
        trained = result.module.eval()(x)
        reloaded = bundle.module(x)
    assert torch.equal(trained, reloaded)

    untrained = load_bundle(result.bundle_path)
    torch.manual_seed(123)
    untrained.module.generator = type(untrained.module.generator).from_config(untrained.model).eval()
    ours, baseline = _ssim(bundle, data), _ssim(untrained, data)
    assert ours[0] > baseline[0] + MARGIN and ours[1] > baseline[1] + MARGIN, (ours, baseline)


INTEGRATION_EPOCHS = 6
MARGIN = 0.1
