"""Placement by origin, the scanned region and the removal of ambiguities (``metrics.align``)."""

from __future__ import annotations

import numpy as np
import pytest

from ptycho_engine.metrics.align import (
    align_to_truth,
    fit_amplitude_scale,
    fit_phase_ramp,
    place_on_truth_grid,
    remove_phase_ramp,
    scanned_region,
)
from tests.engine.metrics import POSITIONS, REGION, TRUTH, analytic_object


def test_single_bright_pixel_lands_at_origin_plus_index():
    recon = np.zeros((5, 6), complex)
    recon[2, 3] = 1.0
    canvas, footprint = place_on_truth_grid(recon, origin=(10, 20), truth_shape=(40, 40))
    assert np.argwhere(canvas != 0).tolist() == [[22, 13]]
    assert footprint == (10, 20, 16, 25)


def test_negative_origin_is_clipped_to_the_truth():
    canvas, footprint = place_on_truth_grid(np.ones((10, 10)), origin=(-3, -4), truth_shape=(8, 8))
    assert footprint == (0, 0, 7, 6)
    assert canvas[:6, :7].all() and not canvas[6:, :].any() and not canvas[:, 7:].any()


def test_half_pixel_origin_resamples_onto_truth_grid():
    recon = analytic_object(np.arange(40) + 10.5, np.arange(50) + 20.5)
    canvas, (x0, y0, x1, y1) = place_on_truth_grid(recon, origin=(20.5, 10.5), truth_shape=(80, 96))
    # The first row and column would sample before the reconstruction starts.
    assert (x0, y0, x1, y1) == (21, 11, 70, 50)
    inner = (slice(y0 + 3, y1 - 3), slice(x0 + 3, x1 - 3))  # spline edges are less exact
    np.testing.assert_allclose(canvas[inner], TRUTH[inner], atol=3e-3)


def test_near_integer_origin_is_not_resampled():
    recon = TRUTH[10:40, 20:60]
    origin = (20 + 1e-9, 10 - 1e-9)
    canvas, footprint = place_on_truth_grid(recon, origin=origin, truth_shape=(80, 96))
    assert footprint == (20, 10, 60, 40)
    np.testing.assert_array_equal(canvas[10:40, 20:60], recon)


def test_scanned_region_is_the_bounding_box_plus_an_eighth_of_the_patch():
    positions = np.array([[20.0, 30.0], [40.0, 35.0], [30.0, 50.0]])
    region = scanned_region(positions, patch_size=16, bounds=(0, 0, 100, 100))
    assert region == (18, 28, 43, 53)  # x 18..42, y 28..52 inclusive: margin N/8 = 2
    assert scanned_region(positions, patch_size=16, margin_px=0, bounds=(0, 0, 100, 100)) == (
        20,
        30,
        41,
        51,
    )


def test_scanned_region_is_clipped_and_empty_overlap_raises():
    positions = np.array([[5.0, 5.0], [60.0, 60.0]])
    assert scanned_region(positions, patch_size=16, bounds=(10, 0, 50, 40)) == (10, 3, 50, 40)
    with pytest.raises(ValueError, match="does not overlap"):
        scanned_region(positions, patch_size=8, bounds=(70, 70, 90, 90))


def test_phase_ramp_and_offset_are_recovered_in_truth_coordinates():
    y, x = np.mgrid[10:40, 20:60]
    truth = TRUTH[10:40, 20:60]
    recon = truth * np.exp(1j * (0.3 + 0.01 * x - 0.02 * y))
    offset, ramp_x, ramp_y = fit_phase_ramp(recon, truth, x0=20, y0=10)
    np.testing.assert_allclose([offset, ramp_x, ramp_y], [0.3, 0.01, -0.02], atol=1e-12)
    flat = remove_phase_ramp(recon, offset=offset, ramp=(ramp_x, ramp_y), x0=20, y0=10)
    np.testing.assert_allclose(flat, truth, atol=1e-12)


def test_phase_ramp_fit_needs_no_unwrapping():
    # The total phase excursion is many times 2π; only neighbour differences matter.
    y, x = np.mgrid[0:30, 0:40]
    recon = TRUTH[:30, :40] * np.exp(1j * (2.9 + 0.9 * x + 0.7 * y))
    offset, ramp_x, ramp_y = fit_phase_ramp(recon, TRUTH[:30, :40])
    np.testing.assert_allclose([offset, ramp_x, ramp_y], [2.9, 0.9, 0.7], atol=1e-12)


def test_amplitude_scale_is_the_least_squares_factor():
    rng = np.random.default_rng(0)
    recon, truth = rng.uniform(0.5, 1, (20, 20)), rng.uniform(0.5, 1, (20, 20))
    scale = fit_amplitude_scale(recon * np.exp(1j), truth)
    scales = np.linspace(scale - 0.05, scale + 0.05, 11)
    errors = [np.sum((s * recon - truth) ** 2) for s in scales]
    assert np.argmin(errors) == 5
    assert fit_amplitude_scale(np.zeros((3, 3)), truth[:3, :3]) == 1.0


@pytest.mark.parametrize("error_xy", [(-3.0, 0.0), (0.0, 2.0), (1.5, -2.25)])
def test_registration_recovers_a_wrong_origin(error_xy):
    recon = TRUTH[15:75, 20:84]
    aligned = align_to_truth(
        recon,
        TRUTH,
        origin=(20 + error_xy[0], 15 + error_xy[1]),
        positions_xy=POSITIONS,
        patch_size=16,
        register=True,
    )
    np.testing.assert_allclose(aligned.registration_shift_px, [-e for e in error_xy], atol=0.03)


def test_align_without_registration_reports_no_shift_and_crops_the_region():
    aligned = align_to_truth(
        TRUTH[15:75, 20:84], TRUTH, origin=(20, 15), positions_xy=POSITIONS, patch_size=16
    )
    assert aligned.registration_shift_px is None
    assert aligned.region == REGION
    assert aligned.reconstruction.shape == aligned.truth.shape == (21, 29)
    np.testing.assert_allclose(aligned.reconstruction, TRUTH[28:49, 33:62], atol=1e-12)
