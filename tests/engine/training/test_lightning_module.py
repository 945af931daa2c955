"""PinnModule: composition only, learnable scale and probe, losses and their weights."""

import math

import numpy as np
import pytest
import torch

from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.physics.probe import prepare_probe
from ptycho_engine.training.lightning_module import PinnModule
from ptycho_engine.training.optim import build_optimizer
from ptycho_engine.training.workflow import group_for_training
from ptycho_settings import ModelConfig, PyTorchExecutionConfig, TrainingConfig
from tests.engine.probes import probe_settings
from tests.engine.simdata import simulated_files

EXECUTION = PyTorchExecutionConfig.from_values({"accelerator": "cpu", "seed": 0})


def _setup(estimate_iterations: int = ModelConfig().estimate_iterations, **training):
    train_file, _ = simulated_files()
    model = ModelConfig(
        gridsize=training.pop("gridsize", 1),
        n_filters_scale=1,
        estimate_iterations=estimate_iterations,
    )
    config = TrainingConfig(
        model=model, train_data_file=train_file, nphotons=1e6, n_groups=32, **training
    )
    data = load_diffraction(train_file)
    scan = group_for_training(data, config, EXECUTION)
    probe, _ = prepare_probe(data.probe, **probe_settings(config.model))
    torch.manual_seed(0)
    return PinnModule(config.model, config, probe, photon_scale=math.sqrt(1e6) / 32), scan


def test_same_seed_same_weights():
    first, _ = _setup()
    second, _ = _setup()
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_trainable_log_scale_is_optimised():
    module, scan = _setup(intensity_scale_trainable=True)
    assert isinstance(module.log_scale, torch.nn.Parameter)
    optimizer = build_optimizer(module.parameters(), module.training_config)
    assert any(p is module.log_scale for group in optimizer.param_groups for p in group["params"])
    loss = module.compute_losses(
        {"diffraction": scan.diffraction[:4], "offsets": scan.offsets[:4]}
    )["loss"]
    loss.backward()
    assert module.log_scale.grad is not None and module.log_scale.grad.abs() > 0


def test_fixed_log_scale_is_a_buffer():
    module, _ = _setup(intensity_scale_trainable=False)
    assert "log_scale" not in dict(module.named_parameters())


@pytest.mark.parametrize("trainable", [True, False])
def test_probe_trainable(trainable):
    module, _ = _setup(probe_trainable=trainable)
    assert ("probe" in dict(module.named_parameters())) is trainable


def test_log_scale_ties_input_and_output():
    module, scan = _setup()
    x, offsets = scan.diffraction[:2], scan.offsets[:2]
    with torch.no_grad():
        module.log_scale.fill_(0.0)
        reference = module.predict_amplitude(module(x), offsets)
        module.log_scale.fill_(math.log(2.0))
        doubled_input = module.predict_amplitude(module(2 * x), offsets)
    assert torch.allclose(doubled_input, 2 * reference, rtol=1e-4, atol=1e-6)


def test_log_scale_starts_where_a_half_amplitude_object_explains_the_data():
    from ptycho_engine.pinn import initial_log_scale

    module, _ = _setup()
    energy = float((module.probe.abs() ** 2).sum())
    delta = initial_log_scale(module.probe, 64)
    assert math.exp(2 * delta) * 0.25 * energy == pytest.approx(32**2, rel=1e-6)
    assert float(module.log_scale) == pytest.approx(delta)


def test_loss_weights():
    module, scan = _setup(nll_weight=0.0, mae_weight=1.0)
    losses = module.compute_losses(
        {"diffraction": scan.diffraction[:4], "offsets": scan.offsets[:4]}
    )
    assert set(losses) == {"mae", "loss"} and torch.equal(losses["loss"], losses["mae"])
    module, _ = _setup(nll_weight=0.5, mae_weight=0.5)
    losses = module.compute_losses(
        {"diffraction": scan.diffraction[:4], "offsets": scan.offsets[:4]}
    )
    assert torch.allclose(losses["loss"], 0.5 * losses["nll"] + 0.5 * losses["mae"])


def test_the_realspace_branch_is_the_product_of_its_two_weights():
    from ptycho_engine.physics.losses import realspace_mae

    module, scan = _setup(nll_weight=0.5, realspace_weight=0.4, realspace_mae_weight=0.25)
    batch = {
        "diffraction": scan.diffraction[:4],
        "offsets": scan.offsets[:4],
        "truth": scan.truth[:4],
    }
    losses = module.compute_losses(batch)
    mae = realspace_mae(module(batch["diffraction"]), batch["truth"])
    assert float(mae) > 0.01
    torch.testing.assert_close(losses["realspace"], 0.25 * mae)
    torch.testing.assert_close(losses["loss"], 0.5 * losses["nll"] + 0.4 * 0.25 * mae)


def test_a_few_steps_lower_the_loss():
    # from the bare back-projection (no PIE steps), where there is much to learn: about 3 units
    # lower after 8 steps. (The default estimate already fits each pattern; from it the first
    # Adam steps, which move every weight by about lr, raise the loss for some 15 steps.)
    module, scan = _setup(gridsize=2, learning_rate=1e-3, estimate_iterations=0)
    optimizer = build_optimizer(module.parameters(), module.training_config)
    batch = {"diffraction": scan.diffraction[:8], "offsets": scan.offsets[:8]}
    first = float(module.compute_losses(batch)["loss"].detach())
    for _ in range(8):
        optimizer.zero_grad()
        module.compute_losses(batch)["loss"].backward()
        optimizer.step()
    assert float(module.compute_losses(batch)["loss"].detach()) < first - 1.0


def test_one_patch_per_group_is_seen_at_each_offset():
    train_file, _ = simulated_files()
    config = TrainingConfig(
        model=ModelConfig(gridsize=2, object_big=False, n_filters_scale=1),
        train_data_file=train_file,
        n_groups=8,
    )
    data = load_diffraction(train_file)
    scan = group_for_training(data, config, EXECUTION)
    probe, _ = prepare_probe(data.probe, **probe_settings(config.model))
    module = PinnModule(config.model, config, probe, photon_scale=10.0)
    patches = module(scan.diffraction[:2])
    assert patches.shape[1] == 1
    amplitude = module.predict_amplitude(patches, scan.offsets[:2])
    assert amplitude.shape == (2, 4, 64, 64)
    assert not torch.allclose(amplitude[:, 0], amplitude[:, 1])  # shifted views differ


class _Fixed(torch.nn.Module):
    """A generator that always returns the same patches."""

    def __init__(self, patches: torch.Tensor) -> None:
        super().__init__()
        self.patches = patches

    def forward(self, *args) -> torch.Tensor:
        return self.patches


@pytest.mark.parametrize("model_type", ["pinn", "supervised"])
def test_one_patch_per_group_is_compared_with_the_truth_at_the_group_centre(model_type):
    # object_big false: the generator's one patch per group sits at the group centre (the
    # physics extracts each channel's view from it at its offset), so the real-space and
    # supervised losses compare it with the truth cut there, not with a channel's truth.
    from ptycho_engine.data.grouping import group_offsets
    from ptycho_engine.physics.shift import extract_patches

    train_file, _ = simulated_files()
    config = TrainingConfig(
        model=ModelConfig(gridsize=2, object_big=False, n_filters_scale=1, model_type=model_type),
        train_data_file=train_file,
        n_groups=8,
        realspace_weight=1.0,
        realspace_mae_weight=1.0,
    )
    data = load_diffraction(train_file)
    scan = group_for_training(data, config, EXECUTION)
    centres, offsets = group_offsets(data.positions_xy, scan.indices)
    assert np.abs(offsets).max(axis=(1, 2)).min() > 1.0  # every group is off-centre
    obj = torch.from_numpy(data.object)
    at_centre = extract_patches(obj, torch.from_numpy(centres[:, None]).float(), 64)
    assert scan.truth.shape == (8, 1, 64, 64)
    torch.testing.assert_close(scan.truth, at_centre.to(torch.complex64))
    probe, _ = prepare_probe(data.probe, **probe_settings(config.model))
    module = PinnModule(config.model, config, probe, photon_scale=10.0)
    batch = {"diffraction": scan.diffraction, "offsets": scan.offsets, "truth": scan.truth}
    module.generator = _Fixed(scan.truth)  # predicts the truth exactly: no real-space error
    term = "supervised" if model_type == "supervised" else "realspace"
    assert float(module.compute_losses(batch)[term]) < 1e-6
    channel = extract_patches(obj, torch.from_numpy(data.positions_xy[scan.indices]).float(), 64)
    module.generator = _Fixed(channel[:, :1].to(torch.complex64))  # channel 0's patch instead
    assert float(module.compute_losses(batch)[term]) > 0.05
    with pytest.raises(ValueError, match="group centre"):  # per-channel truth is refused
        module.compute_losses({**batch, "truth": channel.to(torch.complex64)})
