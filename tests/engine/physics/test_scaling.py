"""The scaling contract: input normalisation, photon scale, dose from amplitudes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ptycho_engine.physics.losses import poisson_nll
from ptycho_engine.physics.scaling import (
    input_normalisation,
    mean_pattern_energy,
    nphotons_from_amplitude,
    photon_scale,
)


def test_normalised_input_has_mean_pattern_energy_n_half_squared(rng):
    amplitude = torch.from_numpy(rng.gamma(2.0, 3.0, (5, 2, 16, 16)))
    alpha = input_normalisation(amplitude)
    assert mean_pattern_energy(alpha * amplitude) == pytest.approx(8.0**2, rel=1e-12)


def test_statistics_are_taken_in_float64_even_for_uint16_counts():
    counts = np.full((3, 64, 64), 60000, dtype=np.uint16)  # squares overflow uint16 and int32 sums
    assert mean_pattern_energy(counts) == 64 * 64 * 60000.0**2
    amplitude32 = torch.full((2, 64, 64), 4097.0, dtype=torch.float32)
    assert mean_pattern_energy(amplitude32) == 64 * 64 * 4097.0**2  # exact in float64 only


def test_statistics_span_more_patterns_than_one_chunk():
    amplitude = torch.ones(2500, 4, 4)
    amplitude[-1] = 3.0
    assert mean_pattern_energy(amplitude) == pytest.approx((2499 * 16 + 16 * 9) / 2500)


def test_photon_scale_is_sqrt_nphotons_over_n_half():
    assert photon_scale(1e6, 64) == pytest.approx(1000 / 32)
    with pytest.raises(ValueError, match="nphotons"):
        photon_scale(0.0, 64)


def test_nphotons_from_sqrt_counts_is_the_mean_total_count(rng):
    counts = rng.poisson(3.0, (10, 16, 16))
    assert nphotons_from_amplitude(np.sqrt(counts)) == pytest.approx(counts.sum(axis=(1, 2)).mean())


def test_counts_data_give_unit_photon_scale_times_alpha(rng):
    counts = rng.poisson(5.0, (8, 1, 16, 16)).astype(np.float64)
    amplitude = torch.from_numpy(np.sqrt(counts))
    alpha = input_normalisation(amplitude)
    scale = photon_scale(nphotons_from_amplitude(amplitude), 16)
    assert alpha * scale == pytest.approx(1.0)
    prediction = amplitude * 0.9 + 0.1
    torch.testing.assert_close(
        poisson_nll(alpha * prediction, alpha * amplitude, scale),
        poisson_nll(prediction, amplitude, 1.0),
    )


def test_all_zero_data_cannot_be_normalised():
    with pytest.raises(ValueError, match="zero"):
        input_normalisation(torch.zeros(2, 8, 8))
    assert math.isfinite(photon_scale(1.0, 8))
