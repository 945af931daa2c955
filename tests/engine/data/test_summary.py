"""The statistics and warnings behind ``ptycho data check``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ptycho_engine.data.npz import validate_arrays
from ptycho_engine.data.summary import LOW_OVERLAP, check_file, probe_diameter_px, summarize

from .conftest import GRID, STEP_PX, N


def test_sizes_photons_and_extent_are_reported(arrays):
    summary = summarize(validate_arrays(arrays))
    photons = np.sum(arrays["diff3d"].astype(np.float64) ** 2, axis=(1, 2))
    assert (summary.n_positions, summary.N, summary.n_modes) == (GRID[0] * GRID[1], N, 1)
    assert summary.photons_mean == pytest.approx(photons.mean())
    assert summary.photons_min == pytest.approx(photons.min())
    assert summary.photons_max == pytest.approx(photons.max())
    assert summary.x_range_px == (12.0, 12.0 + STEP_PX * (GRID[1] - 1))
    assert summary.y_range_px == (12.0, 12.0 + STEP_PX * (GRID[0] - 1))
    assert summary.object_shape == arrays["objectGuess"].shape
    assert summary.nphotons_metadata is None


def test_raster_step_and_overlap(arrays):
    summary = summarize(validate_arrays(arrays))
    assert summary.mean_step_px == pytest.approx(STEP_PX)
    expected = 1 - STEP_PX / summary.probe_diameter_px
    assert summary.linear_overlap == pytest.approx(expected)
    assert summary.warnings == []


def test_flat_disc_probe_diameter_is_its_diameter():
    axis = np.arange(64) - 32
    radius = np.hypot(axis[None, :], axis[:, None])
    disc = (radius <= 10).astype(np.complex64)[None]
    assert probe_diameter_px(disc) == pytest.approx(20.0, abs=0.5)


def test_gaussian_probe_diameter_is_the_one_over_e_squared_width():
    # Amplitude exp(-r²/(2σ²)) has intensity exp(-r²/σ²), which falls to 1/e² at r = √2 σ.
    axis = np.arange(128) - 64
    r2 = axis[None, :] ** 2 + axis[:, None] ** 2
    sigma = 8.0
    probe = np.exp(-r2 / (2 * sigma**2)).astype(np.complex64)[None]
    assert probe_diameter_px(probe) == pytest.approx(2 * np.sqrt(2) * sigma, rel=0.03)


def test_probe_modes_add_incoherently_in_the_diameter():
    axis = np.arange(64) - 32
    radius = np.hypot(axis[None, :], axis[:, None])
    small = (radius <= 5).astype(np.complex64)
    large = 0.8 * (radius <= 12).astype(np.complex64)
    summed = np.sqrt(np.abs(small) ** 2 + np.abs(large) ** 2)  # one mode with the total intensity
    assert probe_diameter_px(np.stack([small, large])) == pytest.approx(
        probe_diameter_px(summed[None])
    )
    assert probe_diameter_px(small[None]) < probe_diameter_px(np.stack([small, large])) < 24.5


def test_sparse_scan_warns_about_low_overlap(arrays):
    arrays["xcoords"] = arrays["xcoords"] * 10
    arrays["ycoords"] = arrays["ycoords"] * 10
    arrays.pop("objectGuess")
    summary = summarize(validate_arrays(arrays))
    assert summary.linear_overlap < LOW_OVERLAP
    assert any("low probe overlap" in note for note in summary.warnings)


def test_positions_off_the_object_are_counted_and_warned(arrays):
    arrays["xcoords"] = arrays["xcoords"].copy()
    arrays["xcoords"][:3] = 50.0  # patch reaches past column 52
    summary = summarize(validate_arrays(arrays))
    assert summary.n_positions_outside_object == 3
    assert any("3 of 20 positions" in note for note in summary.warnings)


def test_duplicate_positions_are_counted_and_warned(arrays):
    arrays["xcoords"] = arrays["xcoords"].copy()
    arrays["ycoords"] = arrays["ycoords"].copy()
    arrays["xcoords"][1], arrays["ycoords"][1] = arrays["xcoords"][0], arrays["ycoords"][0]
    summary = summarize(validate_arrays(arrays))
    assert summary.n_duplicate_positions == 2
    assert summary.mean_step_px == pytest.approx(STEP_PX)  # the step is between distinct positions
    assert any("2 positions share" in note for note in summary.warnings)


def test_a_single_position_has_no_step(arrays):
    single = {k: v[:1] if k in ("diff3d", "xcoords", "ycoords") else v for k, v in arrays.items()}
    summary = summarize(validate_arrays(single))
    assert summary.mean_step_px is None and summary.linear_overlap is None
    assert any("cannot be estimated" in note for note in summary.warnings)


def test_nphotons_from_metadata(arrays):
    arrays["_metadata"] = np.array(json.dumps({"nphotons": 1e9}))
    assert summarize(validate_arrays(arrays)).nphotons_metadata == 1e9


def test_check_file_collects_loader_warnings(write_npz, arrays):
    arrays["_metadata"] = np.array({"nphotons": 1e9}, dtype=object)
    summary = check_file(write_npz(arrays))
    assert any("skipped key '_metadata'" in note for note in summary.warnings)


def test_summary_is_json_serialisable(arrays):
    text = json.dumps(summarize(validate_arrays(arrays)).as_dict())
    assert json.loads(text)["n_positions"] == 20


def test_patterns_peaking_at_a_corner_get_a_dc_corner_hint(arrays):
    arrays["diff3d"] = np.fft.ifftshift(arrays["diff3d"], axes=(-2, -1))
    summary = summarize(validate_arrays(arrays))
    assert any("near a corner" in note and "--dc-corner" in note for note in summary.warnings)
    assert not any(
        "near a corner" in note
        for note in summarize(validate_arrays(arrays, dc_corner=True)).warnings
    )


def test_whole_number_patterns_get_a_counts_hint(arrays):
    arrays["diff3d"] = np.round(np.square(arrays["diff3d"]))
    notes = summarize(validate_arrays(arrays)).warnings
    assert any("--counts" in note for note in notes)
    assert not any(
        "--counts" in note for note in summarize(validate_arrays(arrays, counts=True)).warnings
    )
