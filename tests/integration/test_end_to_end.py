"""Simulate → train → save → load → infer, for gridsize 1 and 2, through the public API.

It asserts what a user relies on: the reloaded bundle predicts exactly what the trained
network predicted, and training made the network clearly better than an untrained one —
on the data likelihood for both gridsizes, and on SSIM against the ground truth for
gridsize 1. (Within this test's 90-second budget, about 200 steps on two CPU cores,
gridsize 2 lowers the likelihood but its SSIM has not yet moved clear of an untrained
network's; it does after about a thousand steps: see docs/performance.md.)
"""

from pathlib import Path

import pytest
import torch

import ptycho_engine.train as training
from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.infer import load_bundle, reconstruct
from ptycho_engine.metrics import evaluate_reconstruction
from ptycho_settings import ModelConfig, PyTorchExecutionConfig, TrainingConfig
from tests.engine.simdata import simulated_files

EXECUTION = PyTorchExecutionConfig.from_values({
    "accelerator": "cpu", "enable_progress_bar": False, "logger": "csv", "seed": 0})
EPOCHS = 16  # × 12 steps of 8 groups
SSIM_MARGIN = 0.15  # mean of amplitude and phase SSIM
NLL_MARGIN = 2.0  # Poisson NLL per pixel; a flat object is about 20 above the truth here


def _ssim(bundle, data) -> float:
    reconstruction = reconstruct(bundle, data, EXECUTION)
    scores = evaluate_reconstruction(reconstruction.object, data.object, origin=reconstruction.origin,
                                     positions_xy=data.positions_xy, patch_size=data.N).to_dict()
    return (scores["amplitude"]["ssim"] + scores["phase"]["ssim"]) / 2


@torch.no_grad()
def _nll(bundle, scan) -> float:
    return float(bundle.module.compute_losses((scan.diffraction, scan.offsets))["nll"])


def _untrained(bundle_path: Path):
    bundle = load_bundle(bundle_path)
    torch.manual_seed(123)
    bundle.module.generator = type(bundle.module.generator).from_config(bundle.model).eval()
    return bundle


@pytest.mark.parametrize("gridsize", [1, 2])
def test_train_save_load_infer(tmp_path: Path, gridsize: int):
    train_file, _ = simulated_files(n_positions=256)
    config = TrainingConfig(
        model=ModelConfig(gridsize=gridsize), train_data_file=train_file, output_dir=tmp_path / "model",
        nphotons=1e6, n_groups=96, nepochs=EPOCHS, batch_size=8)
    result = training.train(config, EXECUTION)
    assert result.bundle_path == tmp_path / "model" / "wts.h5.zip"
    assert (tmp_path / "model" / "checkpoints" / "last.ckpt").is_file()

    bundle, data = load_bundle(result.bundle_path), load_diffraction(train_file)
    x = torch.from_numpy(data.diffraction[: gridsize**2 * 4]).reshape(4, gridsize**2, 64, 64) * 0.03
    with torch.no_grad():
        assert torch.equal(result.module.eval()(x), bundle.module(x))

    untrained = _untrained(result.bundle_path)
    scan = training.group_for_training(data, config, EXECUTION)
    assert _nll(bundle, scan) < _nll(untrained, scan) - NLL_MARGIN
    if gridsize == 1:
        ours, baseline = _ssim(bundle, data), _ssim(untrained, data)
        assert ours > baseline + SSIM_MARGIN, (ours, baseline)
