"""Poisson NLL and the MAE losses."""

from __future__ import annotations

import math

import pytest
import torch

from ptycho_engine.physics.losses import RATE_FLOOR, amplitude_mae, poisson_nll, realspace_mae


def _amplitudes(seed=0, shape=(2, 3, 4, 4)):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=gen, dtype=torch.float64) + 0.1


def test_nll_is_rate_minus_counts_log_rate_averaged_over_all_elements():
    pred, meas = _amplitudes(0), _amplitudes(1)
    scale = 3.0
    rate, counts = (scale * pred) ** 2, (scale * meas) ** 2
    expected = (rate - counts * torch.log(rate)).mean()
    torch.testing.assert_close(poisson_nll(pred, meas, scale), expected)


def test_full_nll_equals_the_poisson_log_probability():
    pred = _amplitudes(0)
    counts = torch.poisson((2 * pred) ** 2, generator=torch.Generator().manual_seed(4))
    nll = poisson_nll(pred, counts.sqrt() / 2, 2.0, full=True, reduction="sum")  # k = (2 X)^2
    expected = -torch.distributions.Poisson((2 * pred) ** 2).log_prob(counts).sum()
    torch.testing.assert_close(nll, expected)


def test_reductions_sum_mean_and_none_agree():
    pred, meas = _amplitudes(0), _amplitudes(1)
    per_element = poisson_nll(pred, meas, 2.0, reduction="none")
    assert per_element.shape == pred.shape
    torch.testing.assert_close(poisson_nll(pred, meas, 2.0, reduction="sum"), per_element.sum())
    torch.testing.assert_close(poisson_nll(pred, meas, 2.0), per_element.mean())
    with pytest.raises(ValueError, match="reduction"):
        poisson_nll(pred, meas, 2.0, reduction="batchmean")


def test_nll_is_minimal_where_the_prediction_equals_the_measurement():
    meas = _amplitudes(1)
    best = poisson_nll(meas, meas, 5.0)
    for factor in (0.9, 0.99, 1.01, 1.1):
        assert poisson_nll(meas * factor, meas, 5.0) > best
    pred = meas.clone().requires_grad_()
    poisson_nll(pred, meas, 5.0).backward()
    assert pred.grad.abs().max() < 1e-12


def test_dark_prediction_stays_finite_through_the_rate_floor():
    pred = torch.zeros(1, 1, 4, 4, requires_grad=True)
    meas = torch.ones(1, 1, 4, 4)
    loss = poisson_nll(pred, meas, 1.0, reduction="none")
    torch.testing.assert_close(loss, torch.full_like(loss, RATE_FLOOR - math.log(RATE_FLOOR)))
    loss.sum().backward()
    assert torch.isfinite(pred.grad).all()


def test_learnable_scale_receives_a_gradient():
    log_scale = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    poisson_nll(_amplitudes(0), _amplitudes(1), log_scale.exp()).backward()
    assert log_scale.grad is not None and log_scale.grad != 0


def test_nll_gradcheck():
    pred = _amplitudes(0).requires_grad_()
    meas = _amplitudes(1)
    assert torch.autograd.gradcheck(lambda p: poisson_nll(p, meas, 2.5), (pred,))


def test_amplitude_mae():
    pred = torch.tensor([1.0, 2.0, 3.0])
    assert amplitude_mae(pred, torch.tensor([1.5, 2.0, 2.0])).item() == pytest.approx(0.5)
    assert amplitude_mae(pred, pred * 2, reduction="sum").item() == pytest.approx(6.0)


def test_realspace_mae_adds_amplitude_and_wrapped_phase_errors():
    pred = torch.polar(torch.tensor([1.0, 0.5]), torch.tensor([math.pi - 0.1, 0.3]))
    true = torch.polar(torch.tensor([0.8, 0.5]), torch.tensor([-math.pi + 0.1, 0.0]))
    errors = realspace_mae(pred, true, reduction="none")
    torch.testing.assert_close(errors, torch.tensor([0.2 + 0.2, 0.3]))


def test_realspace_mae_has_a_finite_gradient_where_an_object_is_dark():
    # a dark predicted pixel (exactly 0 or tiny, as a sigmoid head or an estimate that is dark
    # outside the probe gives) made angle's gradient NaN and stopped supervised training at once
    amplitude = torch.tensor([0.0, 1e-25, 1e-30, 0.7], requires_grad=True)
    phase = torch.tensor([0.3, 0.3, 0.3, 0.3], requires_grad=True)
    true = torch.polar(torch.full((4,), 0.8), torch.full((4,), 0.1))
    loss = realspace_mae(torch.polar(amplitude, phase), true)
    loss.backward()
    assert torch.isfinite(amplitude.grad).all() and torch.isfinite(phase.grad).all()
    assert float(phase.grad[3]) == pytest.approx(0.25)  # d|0.3 - 0.1|/dphase / 4 elements
    errors = realspace_mae(torch.polar(amplitude, phase), true, reduction="none")
    torch.testing.assert_close(errors[0], torch.tensor(0.8))  # no phase where undefined
