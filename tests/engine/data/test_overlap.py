"""The probe footprint, the scan step and the overlap a simulated scan obtains."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ptycho_engine.data.overlap import (
    footprint_diameter_px,
    linear_overlap,
    mean_nearest_step_px,
    measure_overlap,
    rescale_to_mean_step,
    step_for_overlap,
)
from ptycho_engine.data.simulate import simulate
from ptycho_engine.errors import EngineError

SMALL = dict(n=32, n_positions=36, nphotons=1e4)


def _disk(n: int, radius: float) -> np.ndarray:
    coord = np.arange(n) - n // 2
    return (np.hypot(coord[:, None], coord[None, :]) <= radius).astype(complex)


def test_footprint_of_a_flat_disk_is_sqrt_point_nine_of_its_diameter():
    """90 % of a flat disk's pixels lie within sqrt(0.9) of its radius."""
    disk = _disk(128, 30)
    assert footprint_diameter_px(disk) == pytest.approx(60 * math.sqrt(0.9), rel=0.01)
    assert footprint_diameter_px(disk, energy=0.5) == pytest.approx(60 * math.sqrt(0.5), rel=0.02)
    # modes add incoherently: two copies of the same disk have the same footprint
    assert footprint_diameter_px(np.stack([disk, 0.3 * disk])) == pytest.approx(
        footprint_diameter_px(disk)
    )


def test_footprint_of_a_gaussian_follows_its_analytic_energy():
    """An intensity exp(-r²/s²) holds 1 - exp(-R²/s²) inside R: 90 % at R = s sqrt(ln 10)."""
    coord = np.arange(128) - 64
    s = 8.0
    amplitude = np.exp(-(coord[:, None] ** 2 + coord[None, :] ** 2) / (2 * s**2))
    expected = 2 * s * math.sqrt(math.log(10))
    assert footprint_diameter_px(amplitude.astype(complex)) == pytest.approx(expected, rel=0.01)


def test_footprint_is_taken_about_the_centroid_and_needs_energy():
    """A shifted probe has the same footprint; a dark probe has none."""
    disk = _disk(128, 20)
    assert footprint_diameter_px(np.roll(disk, (7, -11), axis=(0, 1))) == pytest.approx(
        footprint_diameter_px(disk)
    )
    with pytest.raises(ValueError, match="no energy"):
        footprint_diameter_px(np.zeros((8, 8), complex))


def test_step_overlap_and_mean_nearest_step_of_a_lattice():
    """A square lattice of pitch 4 has a mean nearest step of 4 and overlap 1 - 4/D."""
    y, x = np.mgrid[0:5, 0:6] * 4.0
    xy = np.stack([x.ravel(), y.ravel()], axis=1)
    assert mean_nearest_step_px(xy) == pytest.approx(4.0)
    assert mean_nearest_step_px(np.concatenate([xy, xy[:3]])) == pytest.approx(4.0)  # duplicates
    assert mean_nearest_step_px(xy[:1]) is None
    assert linear_overlap(4.0, 10.0) == pytest.approx(0.6)
    assert step_for_overlap(0.6, 10.0) == pytest.approx(4.0)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        step_for_overlap(1.0, 10.0)
    rescaled = rescale_to_mean_step(xy - xy.mean(axis=0), 2.5)
    assert mean_nearest_step_px(rescaled) == pytest.approx(2.5)
    disk = _disk(64, 10)
    measured = measure_overlap(xy, disk)
    assert measured.mean_step_px == pytest.approx(4.0)
    assert measured.overlap == pytest.approx(1 - 4.0 / footprint_diameter_px(disk))


@pytest.mark.parametrize("probe", ["disk", "zoneplate"])
@pytest.mark.parametrize("scan", ["grid-jitter", "random", "fermat"])
def test_simulated_scans_obtain_the_requested_overlap(scan, probe):
    """The overlap measured on the stored positions and probe is the requested one."""
    for wanted in (0.0, 0.3, 0.6, 0.8):
        data = simulate(**SMALL, scan=scan, probe_source=probe, overlap=wanted, seed=1)
        measured = measure_overlap(data)
        assert measured.overlap == pytest.approx(wanted, abs=0.01), (scan, probe, wanted)
        metadata = json.loads(str(data["_metadata"]))
        assert metadata["overlap"] == pytest.approx(measured.overlap, abs=1e-3)
        assert metadata["overlap_requested"] == wanted
        assert metadata["footprint_diameter_px"] == pytest.approx(
            measured.footprint_diameter_px, abs=1e-3
        )


def test_more_overlap_packs_the_same_scan_closer():
    """Overlap 0.8 is a step five times shorter than overlap 0 (same footprint)."""
    steps = [measure_overlap(simulate(**SMALL, overlap=f, seed=2)).mean_step_px for f in (0.0, 0.8)]
    assert steps[1] == pytest.approx(steps[0] / 5, rel=1e-3)


def test_an_explicit_step_reports_the_overlap_it_obtains():
    """With step_px the pattern is not rescaled and the metadata measure what it got."""
    data = simulate(**SMALL, step_px=6.0, seed=4)
    metadata = json.loads(str(data["_metadata"]))
    measured = measure_overlap(data)
    assert metadata["step_px"] == 6.0 and metadata["overlap_requested"] is None
    assert metadata["overlap"] == pytest.approx(measured.overlap, abs=1e-3)
    assert metadata["mean_step_px"] == pytest.approx(measured.mean_step_px, abs=1e-3)
    assert measured.mean_step_px < 6.0  # jitter brings the nearest neighbour closer


@pytest.mark.parametrize("overlap", [1.0, -0.1])
def test_overlap_out_of_range_or_with_a_step_is_refused(overlap):
    """Refuse an overlap outside [0, 1) and one given with step_px."""
    with pytest.raises(EngineError, match="overlap"):
        simulate(**SMALL, overlap=overlap)
    with pytest.raises(EngineError, match="not both"):
        simulate(**SMALL, overlap=0.5, step_px=3.0)
