"""Scores of a reconstruction against the truth, and the constant-object baseline."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ptycho_engine.metrics.scores import (
    PSNR_CAP_DB,
    constant_object_baseline,
    evaluate_reconstruction,
)
from tests.engine.metrics import POSITIONS, REGION, TRUTH, N, analytic_object, structured_object


def evaluate(recon, truth=TRUTH, origin=(0, 0), **options):
    return evaluate_reconstruction(
        recon, truth, origin=origin, positions_xy=POSITIONS, patch_size=N, **options
    )


def test_identical_images_score_perfectly():
    result = evaluate(TRUTH)
    for scores in (result.amplitude, result.phase):
        assert scores.ssim == pytest.approx(1.0, abs=1e-12)
        assert scores.psnr_db == PSNR_CAP_DB
        assert scores.mae == pytest.approx(0.0, abs=1e-12)
    assert result.amplitude_scale == pytest.approx(1.0)
    assert not result.frc_1_7.crossed and not result.frc_half_bit.crossed
    np.testing.assert_allclose(result.frc_correlation, 1.0, atol=1e-12)


def test_alignment_removes_amplitude_scale_phase_offset_and_ramp():
    y, x = np.mgrid[0:80, 0:96]
    distorted = 0.5 * TRUTH * np.exp(1j * (0.3 + 0.01 * x - 0.02 * y))
    # The same distortion seen through a crop at a non-zero origin: x, y stay truth pixels.
    for recon, origin in [(distorted, (0, 0)), (distorted[15:75, 20:84], (20, 15))]:
        result = evaluate(recon, origin=origin)
        assert result.amplitude.ssim == pytest.approx(1.0, abs=1e-9)
        assert result.phase.ssim == pytest.approx(1.0, abs=1e-9)
        assert result.amplitude_scale == pytest.approx(2.0, rel=1e-9)
        assert result.phase_offset_rad == pytest.approx(0.3, abs=1e-9)
        np.testing.assert_allclose(result.phase_ramp_rad_per_px, [0.01, -0.02], atol=1e-12)
        np.testing.assert_allclose(result.aligned_reconstruction, result.aligned_truth, atol=1e-9)


@pytest.mark.parametrize("origin", [(20, 15), (20.5, 15.5), (20.25, 14.5)])
def test_origin_is_honoured(origin):
    recon = analytic_object(np.arange(60) + origin[1], np.arange(64) + origin[0])
    right = evaluate(recon, origin=origin)
    assert right.region == REGION
    assert right.amplitude.ssim > 0.999 and right.phase.ssim > 0.999
    wrong = evaluate(recon, origin=(origin[0] + 3, origin[1]))
    assert wrong.amplitude.ssim < 0.8 and wrong.phase.ssim < 0.8


def test_only_the_scanned_region_counts():
    recon = TRUTH[15:75, 20:84] * (1 + 0.05j)  # a decent reconstruction at origin (20, 15)
    clean = evaluate(recon, origin=(20, 15))
    garbage_recon, garbage_truth = recon.copy(), TRUTH.copy()
    rng = np.random.default_rng(0)
    outside = np.ones(TRUTH.shape, bool)
    outside[28:49, 33:62] = False
    garbage_truth[outside] = 5 * rng.standard_normal(outside.sum())
    outside_recon = outside[15:75, 20:84]
    garbage_recon[outside_recon] = rng.standard_normal(outside_recon.sum()) * 1j
    dirty = evaluate(garbage_recon, garbage_truth, origin=(20, 15))
    assert dirty.to_dict() == clean.to_dict()
    np.testing.assert_array_equal(dirty.frc_correlation, clean.frc_correlation)


def test_noise_lowers_ssim_monotonically():
    truth = structured_object()
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(truth.shape) + 1j * rng.standard_normal(truth.shape)
    results = [evaluate(truth + level * noise, truth) for level in (0.0, 0.01, 0.03, 0.1, 0.3)]
    for part in ("amplitude", "phase"):
        ssim = [getattr(r, part).ssim for r in results]
        psnr = [getattr(r, part).psnr_db for r in results]
        mae = [getattr(r, part).mae for r in results]
        assert all(a > b for a, b in zip(ssim, ssim[1:], strict=False)), ssim
        assert all(a > b for a, b in zip(psnr, psnr[1:], strict=False)), psnr
        assert all(a < b for a, b in zip(mae, mae[1:], strict=False)), mae
    frequencies = [r.frc_half_bit.frequency for r in results]
    assert frequencies[-1] < frequencies[1]


def test_constant_baseline_scores_well_below_a_good_reconstruction():
    truth = structured_object(seed=2)
    rng = np.random.default_rng(2)
    good = evaluate(truth + 0.02 * rng.standard_normal(truth.shape), truth)
    baseline = constant_object_baseline(truth, origin=(0, 0), positions_xy=POSITIONS, patch_size=N)
    assert baseline.region == good.region == REGION
    assert good.amplitude.ssim > 0.9 and good.phase.ssim > 0.9
    assert baseline.amplitude.ssim < good.amplitude.ssim - 0.5
    assert baseline.phase.ssim < good.phase.ssim - 0.5
    assert baseline.amplitude.mae > 3 * good.amplitude.mae
    # The best constant amplitude is the least-squares one, about the mean truth amplitude.
    crop = np.abs(truth[28:49, 33:62])
    assert baseline.amplitude_scale == pytest.approx(np.sum(crop) / crop.size, rel=1e-9)


def test_constant_baseline_with_an_origin_scores_the_same_region():
    baseline = constant_object_baseline(
        TRUTH, origin=(20.5, 15), positions_xy=POSITIONS, patch_size=N
    )
    assert baseline.region == REGION


def test_phase_scores_do_not_depend_on_where_the_phase_sits_on_the_circle():
    truth = structured_object(seed=3)
    rng = np.random.default_rng(3)
    recon = truth * np.exp(0.05j * rng.standard_normal(truth.shape))
    near_zero = evaluate(recon, truth)
    near_pi = evaluate(recon * np.exp(1j * np.pi), truth * np.exp(1j * np.pi))  # wraps at ±π
    assert near_pi.phase.ssim == pytest.approx(near_zero.phase.ssim, abs=1e-9)
    assert near_pi.phase.mae == pytest.approx(near_zero.phase.mae, abs=1e-9)
    assert near_pi.phase.psnr_db == pytest.approx(near_zero.phase.psnr_db, abs=1e-6)


def test_to_dict_is_json_ready_with_the_documented_layout():
    recon = TRUTH[15:75, 20:84]
    result = evaluate(recon, origin=(21, 15), register=True)
    report = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert set(report) == {"amplitude", "phase", "frc", "alignment"}
    assert set(report["amplitude"]) == set(report["phase"]) == {"ssim", "psnr_db", "mae"}
    assert set(report["frc"]) == {"threshold_1_7", "half_bit"}
    assert set(report["frc"]["half_bit"]) == {"frequency", "resolution_px", "crossed"}
    alignment = report["alignment"]
    assert alignment["region"] == list(REGION)
    np.testing.assert_allclose(alignment["registration_shift_px"], [-1.0, 0.0], atol=0.03)
    assert len(alignment["phase_ramp_rad_per_px"]) == 2
    assert evaluate(recon, origin=(20, 15)).to_dict()["alignment"]["registration_shift_px"] is None


def test_result_arrays_are_read_only_and_shaped_like_the_region():
    result = evaluate(TRUTH)
    assert result.aligned_reconstruction.shape == result.aligned_truth.shape == (21, 29)
    k = len(result.frc_frequencies)
    assert result.frc_correlation.shape == result.frc_half_bit_threshold.shape == (k,)
    with pytest.raises(ValueError):
        result.aligned_reconstruction[0, 0] = 0


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="2-D"):
        evaluate(TRUTH[0])
    with pytest.raises(ValueError, match="too small"):
        evaluate_reconstruction(
            TRUTH, TRUTH, origin=(0, 0), positions_xy=[[40.0, 40.0]], patch_size=4, margin_px=0.5
        )
    with pytest.raises(ValueError, match="does not overlap"):
        evaluate(TRUTH[:20, :20])
