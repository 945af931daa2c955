"""Synthetic objects, probes and scans."""

from __future__ import annotations

import numpy as np
import pytest

from ptycho_engine.data.synthetic import (
    SCAN_KINDS,
    complex_object,
    probe_diameter_px,
    scan_offsets,
    synthetic_probe,
)


@pytest.mark.parametrize("kind", ["lines", "grf"])
def test_objects_span_the_documented_ranges(kind, rng):
    obj = complex_object(kind, 64, rng)
    assert obj.shape == (64, 64)
    assert np.abs(obj).min() == pytest.approx(0.5) and np.abs(obj).max() == pytest.approx(1.0)
    assert np.angle(obj).min() == pytest.approx(-1.0) and np.angle(obj).max() == pytest.approx(1.0)
    assert abs(np.corrcoef(np.abs(obj).ravel(), np.angle(obj).ravel())[0, 1]) < 0.5  # independent


@pytest.mark.parametrize("kind", ["disk", "gaussian"])
def test_probes_are_centred_and_fit_in_half_the_window(kind):
    probe = synthetic_probe(kind, 64)
    intensity = np.abs(probe) ** 2
    rows, cols = np.indices(intensity.shape)
    centroid = [(intensity * axis).sum() / intensity.sum() for axis in (rows, cols)]
    np.testing.assert_allclose(centroid, [32, 32], atol=1e-6)
    assert intensity[:, :8].sum() + intensity[:, -8:].sum() < 1e-6 * intensity.sum()
    assert np.ptp(np.angle(probe[28:36, 28:36])) > 0  # curved phase, not flat


def test_probe_diameter_of_a_flat_disk_is_its_diameter():
    coord = np.arange(128) - 64
    disk = (np.hypot(coord[:, None], coord[None, :]) <= 20).astype(complex)
    assert probe_diameter_px(disk) == pytest.approx(40, rel=0.02)
    assert probe_diameter_px(np.stack([disk, 0.5 * disk])) == pytest.approx(40, rel=0.02)


@pytest.mark.parametrize("kind", SCAN_KINDS)
def test_scans_are_centred_with_spacing_near_the_step(kind, rng):
    xy = scan_offsets(kind, 200, 6.0, rng)
    assert xy.shape == (200, 2)
    np.testing.assert_allclose((xy.max(axis=0) + xy.min(axis=0)) / 2, 0, atol=1e-9)
    distance = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(200) * 1e9
    nearest = np.median(distance.min(axis=1))
    low = 2.0 if kind == "random" else 4.0  # uniform random points crowd more
    assert low < nearest < 7.0
