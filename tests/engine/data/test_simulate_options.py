"""The simulator's probe, mode, object and dose options (the defaults: test_simulate.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ptycho_engine.data.simulate import simulate
from ptycho_engine.errors import EngineError
from ptycho_engine.physics.shift import extract_patches

RICH = dict(
    n=32,
    n_positions=25,
    nphotons=1e4,
    probe_source="zoneplate",
    probe_modes=3,
    object_source="image",
    image_amplitude="camera",
    image_phase="moon",
    overlap=0.6,
)


def _patches(data: dict) -> np.ndarray:
    """The stored object's patches at the stored positions, (M, N, N) complex128."""
    xy = torch.from_numpy(np.stack([data["xcoords"], data["ycoords"]], axis=1))
    n = data["diff3d"].shape[-1]
    obj = torch.from_numpy(data["objectGuess"].astype(np.complex128))
    return extract_patches(obj, xy, n).numpy()


def _z(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return (counts - expected) / np.sqrt(expected + 1)


def _far_field(wave: np.ndarray) -> np.ndarray:
    return np.fft.fftshift(np.fft.fft2(wave, norm="ortho"), axes=(-2, -1))


def test_modes_add_incoherently_against_a_numpy_oracle():
    """Counts scatter around sum_k |F(P_k O)|², not |F(sum_k P_k O)|² nor mode 0 alone."""
    options = {key: value for key, value in RICH.items() if not key.startswith("image")}
    data = simulate(**{**options, "nphotons": 1e6, "object_source": "grf"}, seed=3)
    data.pop("_metadata")
    probe = data["probeGuess"].astype(np.complex128)  # (K, N, N), photon scale included
    assert probe.shape == (3, 32, 32) and data["probeGuess"].dtype == np.complex64
    patches = _patches(data)[:, None]  # (M, 1, N, N)
    incoherent = (np.abs(_far_field(probe[None] * patches)) ** 2).sum(axis=1)  # (M, N, N)
    coherent = np.abs(_far_field((probe[None] * patches).sum(axis=1))) ** 2
    first = np.abs(_far_field(probe[0] * patches[:, 0])) ** 2
    counts = data["diff3d"].astype(np.float64) ** 2
    bright = incoherent > 10  # where (counts - rate) / sqrt(rate) has unit variance
    z = _z(counts, incoherent)[bright]
    assert bright.sum() > 1000 and abs(z.mean()) < 0.05 and 0.9 < z.std() < 1.1
    assert _z(counts, coherent)[bright].std() > 3 and _z(counts, first)[bright].std() > 3


def test_the_total_intensity_of_the_modes_is_that_of_one_mode(tmp_path):
    """Under a flat object, K modes carry exactly the single mode's energy at the same dose."""
    np.save(tmp_path / "flat.npy", np.ones((120, 120), np.complex64))
    flat = dict(RICH, object_source=str(tmp_path / "flat.npy"), overlap=None, step_px=4.0)
    for key in ("image_amplitude", "image_phase"):
        flat.pop(key)
    one, three = (simulate(**{**flat, "probe_modes": k}, seed=2) for k in (1, 3))
    assert one["probeGuess"].shape == (32, 32) and three["probeGuess"].shape == (3, 32, 32)
    energy = [(np.abs(d["probeGuess"].astype(np.complex128)) ** 2).sum() for d in (one, three)]
    # Parseval: under a flat object a pattern's expected total is the probe energy, nphotons
    assert energy[0] == pytest.approx(1e4, rel=1e-5) and energy[1] == pytest.approx(1e4, rel=1e-5)
    metadata = [json.loads(str(d["_metadata"])) for d in (one, three)]
    assert metadata[1]["counts_per_intensity"] == pytest.approx(
        metadata[0]["counts_per_intensity"], rel=1e-5
    )  # the unscaled modes hold the unscaled probe's energy
    for data in (one, three):
        counts = data["diff3d"].astype(np.float64) ** 2
        assert counts.sum(axis=(1, 2)).mean() == pytest.approx(1e4, rel=0.01)


def test_a_thousand_photons_give_whole_poisson_counts_with_the_right_mean():
    """At 1e3 photons per pattern the counts are integers, Poisson about the expectation."""
    data = simulate(n=32, n_positions=64, nphotons=1e3, probe_source="zoneplate", seed=9)
    counts = data["diff3d"].astype(np.float64) ** 2
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-3)
    assert counts.sum(axis=(1, 2)).mean() == pytest.approx(1e3, rel=0.02)
    assert (counts == 0).mean() > 0.5  # most pixels see no photon at this dose
    probe = data["probeGuess"].astype(np.complex128)
    expected = np.abs(_far_field(probe * _patches(data))) ** 2
    assert counts.sum() == pytest.approx(expected.sum(), rel=0.01)
    bright = expected > 2  # Poisson: variance equals the mean
    ratio = ((counts - expected) ** 2)[bright].mean() / expected[bright].mean()
    assert 0.85 < ratio < 1.15


def test_same_seed_same_data_and_different_seed_different_with_every_option():
    """Reproducible by seed; a new seed moves the positions and the noise (images stay)."""
    first, again, other = (simulate(**RICH, seed=s) for s in (4, 4, 5))
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["diff3d"], other["diff3d"])
    assert not np.array_equal(first["xcoords"], other["xcoords"])  # the jitter
    np.testing.assert_allclose(  # the same probe up to its photon scale
        first["probeGuess"] / np.abs(first["probeGuess"]).max(),
        other["probeGuess"] / np.abs(other["probeGuess"]).max(),
        atol=1e-6,
    )


def test_n64_zoneplate_scan_follows_the_data_contract():
    """Shapes, dtypes and metadata of a small N = 64 zone-plate scan with modes."""
    data = simulate(
        n=64,
        n_positions=9,
        nphotons=1e4,
        probe_source="zoneplate",
        probe_modes=2,
        zoneplate_diameter_px=24,
        zoneplate_defocus_rad=12.0,
    )
    assert data["diff3d"].shape == (9, 64, 64) and data["diff3d"].dtype == np.float32
    assert data["probeGuess"].shape == (2, 64, 64) and data["probeGuess"].dtype == np.complex64
    assert data["xcoords"].dtype == np.float64 and data["scan_index"].dtype == np.int64
    metadata = json.loads(str(data["_metadata"]))
    assert metadata["probe_modes"] == 2 and metadata["probe_mode_decay"] == 0.5
    assert metadata["zoneplate"] == {"diameter_px": 24, "defocus_rad": 12.0}


def test_options_of_another_kind_or_impossible_ones_are_refused(tmp_path):
    """Zone-plate options need the zone-plate probe; modes need a single-mode probe."""
    base = dict(n=16, n_positions=4)
    with pytest.raises(EngineError, match="zoneplate_diameter_px|diameter_px"):
        simulate(**base, probe_source="disk", zoneplate_diameter_px=8)
    with pytest.raises(EngineError, match="aliased"):
        simulate(**base, probe_source="zoneplate", zoneplate_defocus_rad=50.0)
    with pytest.raises(EngineError, match="probe-modes"):
        simulate(**base, probe_modes=0)
    two = np.stack([np.ones((16, 16)), np.ones((16, 16))]).astype(np.complex64)
    np.save(tmp_path / "two.npy", two)
    with pytest.raises(EngineError, match="single-mode"):
        simulate(**base, probe_source=str(tmp_path / "two.npy"), probe_modes=2)
    np.save(tmp_path / "one.npy", simulate(**base)["probeGuess"])
    from_file = simulate(**base, probe_source=str(tmp_path / "one.npy"), probe_modes=2)
    assert from_file["probeGuess"].shape == (2, 16, 16)
