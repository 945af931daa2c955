"""The per-pattern object estimate the generator refines: back-projection and PIE steps."""

import pytest
import torch

from ptycho_engine.network.estimate import PatternEstimate
from ptycho_engine.physics.farfield import far_field
from tests.engine.network import disk_probe


def _smooth(seed: int, scale: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, 1, 64, 64, generator=generator)
    return scale * torch.nn.functional.avg_pool2d(noise, 5, 1, 2)[0, 0]  # (N, N)


def _patch() -> torch.Tensor:
    """A patch with amplitude (0.5–1) and phase (about ±0.5 rad) structure."""
    amplitude = 0.75 + _smooth(1, 1.0).clamp(-0.25, 0.25)
    return torch.polar(amplitude, _smooth(2, 1.5))


def _bright(probe, fraction=0.2):
    return probe[0].abs() > fraction * probe.abs().max()


def test_backprojection_inverts_the_far_field_of_a_flat_object():
    probe = disk_probe()
    obj = torch.full((64, 64), 0.7, dtype=torch.complex64)
    measured = far_field(probe[0] * obj).abs()[None, None]  # (1, 1, N, N)
    estimate = PatternEstimate(probe, iterations=0, floor=1e-6)(measured)[0, 0]
    assert torch.allclose(estimate[_bright(probe)], obj[_bright(probe)], atol=1e-3)


def test_the_true_patch_is_a_fixed_point_of_the_steps():
    probe = disk_probe()
    patch = _patch()
    estimator = PatternEstimate(probe, iterations=5)
    measured = far_field(probe[0] * patch).abs()[None, None]
    after = estimator.steps(patch[None, None].clone(), measured)[0, 0]
    bright = _bright(probe, 1e-3)
    assert torch.allclose(after[bright], patch[bright], atol=1e-4)


def test_steps_bring_the_estimate_closer_to_the_patch():
    probe = disk_probe()
    patch = _patch()
    measured = far_field(probe[0] * patch).abs()[None, None]
    bright = _bright(probe)

    def error(iterations):
        estimate = PatternEstimate(probe, iterations=iterations)(measured)[0, 0]
        return float((estimate - patch)[bright].abs().mean())

    errors = [error(k) for k in (0, 1, 5, 20, 50)]
    assert errors == sorted(errors, reverse=True)  # every further step helps on exact data
    assert errors[-1] < 0.8 * errors[0]  # measured: 0.223 → 0.167


def test_the_estimate_is_homogeneous_and_carries_the_scale_gradient():
    probe = disk_probe()
    measured = far_field(probe[0] * _patch()).abs()[None, None]
    estimator = PatternEstimate(probe, iterations=10)
    base = estimator(measured)
    assert torch.allclose(estimator(2.5 * measured), 2.5 * base, rtol=1e-4, atol=1e-5)
    scale = torch.tensor(1.3, requires_grad=True)
    weights = torch.randn(base.shape)
    (estimator(scale * measured).real * weights).sum().backward()
    # d/ds E(s·X) = E(X)
    assert torch.allclose(scale.grad, (base.real * weights).sum(), rtol=1e-4)


def test_estimates_of_a_batch_are_independent():
    probe = disk_probe()
    measured = far_field(probe[0] * _patch()).abs()[None, None]
    estimator = PatternEstimate(probe, iterations=3)
    batch = torch.cat([measured, 0.5 * measured, measured.flip(-1)], dim=1)  # (1, 3, N, N)
    together = estimator(batch)
    alone = torch.cat([estimator(batch[:, c : c + 1]) for c in range(3)], dim=1)
    assert torch.allclose(together, alone, atol=1e-6)


def test_negative_iterations_are_refused():
    with pytest.raises(ValueError, match="iterations"):
        PatternEstimate(disk_probe(), iterations=-1)


def test_the_estimate_keeps_its_own_copy_of_the_probe():
    # a trained probe changes in place; the estimate must stay that of the probe it was built with
    probe = disk_probe()
    estimate = PatternEstimate(probe, iterations=3)
    amplitude = far_field(probe[0] * _patch()).abs()[None, None]
    before = estimate(amplitude)
    with torch.no_grad():
        probe.mul_(1.5)
    assert torch.equal(estimate(amplitude), before)


def test_set_probe_rebuilds_the_estimate_of_another_probe():
    first, second = disk_probe(), disk_probe() * torch.polar(torch.tensor(1.0), torch.tensor(0.4))
    amplitude = far_field(first[0] * _patch()).abs()[None, None]
    rebuilt = PatternEstimate(first, iterations=3)
    rebuilt.set_probe(second)
    assert torch.equal(rebuilt(amplitude), PatternEstimate(second, iterations=3)(amplitude))
