"""Fourier ring correlation, its thresholds and the resolution it implies (``metrics.frc``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ptycho_engine.metrics.frc import (
    ONE_SEVENTH,
    frc_curve,
    frc_resolution,
    half_bit_threshold,
)


def complex_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.parametrize("n", [1, 4, 100, 10_000])
def test_half_bit_threshold_matches_van_heel_schatz(n):
    expected = (0.2071 + 1.9102 / np.sqrt(n)) / (1.2071 + 0.9102 / np.sqrt(n))
    np.testing.assert_allclose(half_bit_threshold(n), expected, rtol=1e-15)


def test_half_bit_threshold_values_and_limit():
    np.testing.assert_allclose(half_bit_threshold([1, 4, 100]), [1.0, 0.6992, 0.3067], atol=1e-4)
    assert half_bit_threshold(1e12) == pytest.approx(0.2071 / 1.2071, rel=1e-5)


def test_rings_cover_zero_to_nyquist_of_the_shorter_axis():
    frequencies, _, n_pixels = frc_curve(np.ones((48, 64)), np.ones((48, 64)))
    np.testing.assert_allclose(frequencies, np.arange(25) / 48)
    assert n_pixels[0] == 1
    # Every ring holds pixels, and a middle ring about its circumference in pixels.
    assert (n_pixels > 0).all()
    k = 10
    assert n_pixels[k] == pytest.approx(2 * np.pi * k * 64 / 48, rel=0.15)


def test_frc_of_an_image_with_itself_is_one_and_never_crosses():
    image = complex_noise(np.random.default_rng(0), (64, 64))
    frequencies, correlation, n_pixels = frc_curve(image, image)
    np.testing.assert_allclose(correlation, 1.0, atol=1e-12)
    for threshold in (ONE_SEVENTH, half_bit_threshold(n_pixels)):
        crossing = frc_resolution(frequencies, correlation, threshold)
        assert not crossing.crossed
        assert crossing.frequency == pytest.approx(0.5)
        assert crossing.resolution_px == pytest.approx(2.0)


def test_frc_is_invariant_to_scale_but_not_to_phase_offset():
    image = complex_noise(np.random.default_rng(1), (32, 32))
    _, scaled, _ = frc_curve(image, 3.0 * image)
    np.testing.assert_allclose(scaled, 1.0, atol=1e-12)
    _, rotated, _ = frc_curve(image, image * np.exp(1j * np.pi / 3))
    np.testing.assert_allclose(rotated[1:], 0.5, atol=1e-12)  # Re(e^{-iπ/3}) = cos(π/3)


def test_ring_zero_is_one_and_a_constant_image_correlates_with_nothing():
    image = complex_noise(np.random.default_rng(4), (32, 40))
    _, correlation, n_pixels = frc_curve(np.full((32, 40), 2.0 + 1j), image)
    assert correlation[0] == 1.0
    np.testing.assert_allclose(correlation[1:], 0.0, atol=1e-12)
    crossing = frc_resolution(np.arange(17) / 32, correlation, half_bit_threshold(n_pixels))
    assert crossing.crossed and crossing.frequency == pytest.approx(1 / 32)


def test_frc_of_independent_noise_crosses_early():
    rng = np.random.default_rng(2)
    frequencies, correlation, n_pixels = frc_curve(
        complex_noise(rng, (64, 64)), complex_noise(rng, (64, 64))
    )
    assert np.abs(correlation[3:]).mean() < 0.1
    for threshold in (ONE_SEVENTH, half_bit_threshold(n_pixels)):
        crossing = frc_resolution(frequencies, correlation, threshold)
        assert crossing.crossed
        assert crossing.frequency < 0.1
        assert crossing.resolution_px == pytest.approx(1 / crossing.frequency)


def test_frc_crossing_moves_to_lower_frequency_as_blur_grows():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((96, 96))
    noise_a, noise_b = 0.1 * rng.standard_normal((2, 96, 96))
    half_bit, one_seventh = [], []
    for sigma in (1.0, 1.5, 3.0):
        blurred = ndimage.gaussian_filter(base, sigma, mode="wrap")
        frequencies, correlation, n_pixels = frc_curve(blurred + noise_a, blurred + noise_b)
        half_bit.append(frc_resolution(frequencies, correlation, half_bit_threshold(n_pixels)))
        one_seventh.append(frc_resolution(frequencies, correlation, ONE_SEVENTH))
    for crossings in (half_bit, one_seventh):
        assert all(c.crossed for c in crossings)
        found = [c.frequency for c in crossings]
        assert found[0] > found[1] > found[2], found


def test_resolution_interpolates_linearly_between_rings():
    frequencies = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    correlation = np.array([1.0, 0.9, 0.6, 0.2, 0.1, 0.0])
    crossing = frc_resolution(frequencies, correlation, 0.4)
    assert crossing.crossed
    assert crossing.frequency == pytest.approx(0.25)
    assert crossing.resolution_px == pytest.approx(4.0)
    # A threshold curve is compared ring by ring.
    curve = np.array([0.0, 0.5, 0.5, 0.5, 0.05, 0.05])
    assert frc_resolution(frequencies, correlation, curve).frequency == pytest.approx(0.225)


def test_ring_zero_is_skipped_and_an_unbracketed_crossing_takes_ring_one():
    frequencies = np.array([0.0, 0.25, 0.5])
    assert frc_resolution(frequencies, np.array([-0.5, 0.9, 0.8]), 0.5).crossed is False
    crossing = frc_resolution(frequencies, np.array([-0.5, -0.2, 0.8]), 0.5)
    assert crossing.crossed and crossing.frequency == pytest.approx(0.25)


def test_crossing_to_dict_is_plain_python():
    crossing = frc_resolution(np.array([0.0, 0.5]), np.array([1.0, 1.0]), ONE_SEVENTH)
    assert crossing.to_dict() == {"frequency": 0.5, "resolution_px": 2.0, "crossed": False}
    assert all(type(v) in (float, bool) for v in crossing.to_dict().values())


def test_frc_rejects_mismatched_or_tiny_images():
    with pytest.raises(ValueError, match="one shape"):
        frc_curve(np.ones((8, 8)), np.ones((8, 9)))
    with pytest.raises(ValueError, match="2x2"):
        frc_curve(np.ones((1, 8)), np.ones((1, 8)))


@pytest.mark.parametrize("m", [1, 2, 7, 64, 101])
@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.25, 0.5, 1.0, 1.5])
def test_the_tukey_window_is_scipys(m, alpha):
    from scipy.signal.windows import tukey

    from ptycho_engine.metrics.frc import tukey_window

    np.testing.assert_allclose(
        tukey_window((m, 3), alpha)[:, 1] / tukey(3, alpha)[1],
        tukey(m, alpha),
        rtol=1e-12,
        atol=1e-15,
    )
