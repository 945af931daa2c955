"""The zone-plate probe and the incoherent probe modes."""

from __future__ import annotations

import numpy as np
import pytest

from ptycho_engine.data.overlap import footprint_diameter_px
from ptycho_engine.data.probes import probe_modes, zoneplate_probe
from ptycho_engine.data.synthetic import synthetic_probe


def _radial_profile(intensity: np.ndarray) -> np.ndarray:
    """Mean intensity in 1-px rings about pixel [N//2, N//2]."""
    n = intensity.shape[0]
    coord = np.arange(n) - n // 2
    ring = np.rint(np.hypot(coord[:, None], coord[None, :])).astype(int)
    return np.bincount(ring.ravel(), intensity.ravel()) / np.bincount(ring.ravel())


def _far_field(probe: np.ndarray) -> np.ndarray:
    """``fftshift(fft2(probe, norm="ortho"))``, as ``ptycho_engine.conventions``."""
    return np.fft.fftshift(np.fft.fft2(probe, norm="ortho"))


@pytest.mark.parametrize("n", [32, 64])
def test_zoneplate_is_centred_with_unit_peak(n):
    """Centred on [N//2, N//2], peak amplitude 1, the kind synthetic_probe names."""
    probe = zoneplate_probe(n)
    assert probe.shape == (n, n) and probe.dtype == np.complex128
    assert np.abs(probe).max() == pytest.approx(1.0)
    intensity = np.abs(probe) ** 2
    rows, cols = np.indices(intensity.shape)
    centroid = [(intensity * axis).sum() / intensity.sum() for axis in (rows, cols)]
    # point-symmetric about [N//2, N//2] (row and column 0 have no mirror pixel; the faint
    # halo wrapping onto them moves the centroid by a tenth of a pixel at most)
    inner = np.abs(probe[1:, 1:])
    np.testing.assert_allclose(inner, inner[::-1, ::-1], atol=1e-12)
    np.testing.assert_allclose(centroid, [n // 2, n // 2], atol=0.15)
    np.testing.assert_array_equal(probe, synthetic_probe("zoneplate", n))


def test_zoneplate_has_rings_and_side_lobes_unlike_the_disk():
    """The radial profile rises again (rings) and a tenth of the energy is in a wide halo."""
    n = 64
    zone = _radial_profile(np.abs(zoneplate_probe(n)) ** 2)[: n // 2]
    disk = _radial_profile(np.abs(synthetic_probe("disk", n)) ** 2)[: n // 2]
    # rings: the profile falls and rises again (local minima) well inside the beam
    rises = np.flatnonzero(np.diff(zone) > 0.02 * zone.max())
    assert len(rises) >= 2 and rises.min() < n // 4
    assert not (np.diff(disk) > 0.02 * disk.max()).any()  # the disk's profile only falls
    # side lobes: a tenth of the energy is outside the 90 % circle, spread over a wide halo
    probe = zoneplate_probe(n)
    intensity = np.abs(probe) ** 2
    radius = footprint_diameter_px(probe) / 2
    coord = np.arange(n) - n // 2
    r = np.hypot(coord[:, None], coord[None, :])
    outside = intensity[r > radius].sum() / intensity.sum()
    assert outside == pytest.approx(0.1, abs=0.01)
    assert intensity[r > radius + 4].sum() / intensity.sum() > 0.02  # not a sharp cut-off


def test_zoneplate_has_no_hard_edge_and_an_annular_far_field():
    """Energy fades out beyond the footprint; the far field is the annular pupil."""
    n = 64
    probe = zoneplate_probe(n)
    disk = synthetic_probe("disk", n)
    coord = np.arange(n) - n // 2
    r = np.hypot(coord[:, None], coord[None, :])

    def beyond(p, margin):  # energy share further than `margin` px outside the 90 % circle
        intensity = np.abs(p) ** 2
        return intensity[r > footprint_diameter_px(p) / 2 + margin].sum() / intensity.sum()

    # the disk's edge cuts its energy off within a few pixels; the zone-plate beam fades out
    assert beyond(disk, 6) < 1e-4 and beyond(probe, 6) > 0.03
    # its far field is the annular pupil: dark inside the central stop and outside the rim
    spectrum = np.abs(_far_field(probe)) ** 2
    freq = (np.arange(n) - n // 2) / n
    u = np.hypot(freq[:, None], freq[None, :])
    u_max = 0.25  # the default pupil
    inside = (u <= u_max) & (u >= 0.4 * u_max)
    assert spectrum[~inside].sum() < 1e-12 * spectrum.sum()
    assert spectrum[u < 0.3 * u_max].max() < 1e-12 * spectrum.max()


def test_zoneplate_options_change_its_size_and_rings():
    """A wider beam has a wider footprint, more defocus more rings, the stop matters."""
    n = 64
    small, large = zoneplate_probe(n, diameter_px=16), zoneplate_probe(n, diameter_px=32)
    assert footprint_diameter_px(large) > 1.4 * footprint_diameter_px(small)
    few, many = (zoneplate_probe(n, defocus_rad=d) for d in (4.0, 20.0))

    # more defocus over the same beam: more Fresnel zones, so more ups and downs
    def turns(p):  # maxima and minima of the radial profile inside the beam
        slope = np.sign(np.diff(_radial_profile(np.abs(p) ** 2)[:24]))
        return int((np.diff(slope) != 0).sum())

    assert turns(many) > turns(few)
    no_stop = zoneplate_probe(n, central_stop=0.0)
    assert not np.allclose(np.abs(no_stop), np.abs(zoneplate_probe(n)))


@pytest.mark.parametrize(
    "options,match",
    [
        (dict(defocus_rad=40.0, diameter_px=16), "aliased"),
        (dict(central_stop=1.0), "central stop"),
        (dict(diameter_px=0), "diameter"),
        (dict(defocus_rad=-1.0), "defocus"),
    ],
)
def test_zoneplate_refuses_impossible_options(options, match):
    """Aliased pupils and out-of-range options are errors."""
    with pytest.raises(ValueError, match=match):
        zoneplate_probe(32, **options)


@pytest.mark.parametrize("kind", ["disk", "gaussian", "zoneplate"])
def test_modes_are_orthogonal_with_decaying_power_and_the_probe_energy(kind):
    """Orthogonal modes, power ratio ``decay``, total energy of the probe, similar footprint."""
    probe = synthetic_probe(kind, 32)
    modes = probe_modes(probe, 4, decay=0.5)
    assert modes.shape == (4, 32, 32) and modes.dtype == np.complex128
    gram = np.einsum("kij,lij->kl", modes.conj(), modes)  # (K, K)
    power = np.real(np.diag(gram))
    np.testing.assert_allclose(gram - np.diag(power), 0, atol=1e-9 * power.sum())
    np.testing.assert_allclose(power[1:] / power[:-1], 0.5, rtol=1e-9)
    assert power.sum() == pytest.approx((np.abs(probe) ** 2).sum(), rel=1e-12)
    # mode 0 is the probe itself; the modal footprint stays close to the probe's
    np.testing.assert_allclose(modes[0] / np.sqrt(power[0]), probe / np.linalg.norm(probe))
    ratio = footprint_diameter_px(modes) / footprint_diameter_px(probe)
    assert 0.85 < ratio < 1.1


def test_one_mode_is_the_probe_and_bad_counts_are_refused():
    """K = 1 is the probe; K < 1, a zero decay or several input modes are refused."""
    probe = synthetic_probe("gaussian", 16)
    np.testing.assert_array_equal(probe_modes(probe, 1)[0], probe)
    with pytest.raises(ValueError, match=">= 1"):
        probe_modes(probe, 0)
    with pytest.raises(ValueError, match="decay"):
        probe_modes(probe, 2, decay=0.0)
    with pytest.raises(ValueError, match="one"):
        probe_modes(np.stack([probe, probe]), 2)
