"""Probe models beyond the simple disk and Gaussian: the defocused zone-plate beam and modes.

Pure numpy; every probe is centred on pixel ``[N//2, N//2]`` and the Fourier conventions are
those of ``ptycho_engine.conventions`` (zero frequency at the centre, ``norm="ortho"``).
Nothing here draws random numbers: a probe is a function of its arguments.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import hermite

from ptycho_engine.data.overlap import footprint_diameter_px

__all__ = [
    "MAX_PUPIL_FREQUENCY",
    "ZONEPLATE_CENTRAL_STOP",
    "ZONEPLATE_DIAMETER_FRACTION",
    "probe_diameter_px",
    "probe_modes",
    "zoneplate_probe",
]

ZONEPLATE_DIAMETER_FRACTION = 0.4
"""Default geometric diameter of the defocused zone-plate beam, as a fraction of N."""

ZONEPLATE_CENTRAL_STOP = 0.4
"""Default radius of the central stop, as a fraction of the pupil radius."""

DEFAULT_PUPIL_FREQUENCY = 0.25
"""Pupil radius (cycles/pixel) that sets the default defocus: half the detector half-width."""

MAX_PUPIL_FREQUENCY = 0.5
"""The Nyquist frequency: a pupil wider than this would alias on the detector."""


def zoneplate_probe(
    n: int,
    *,
    diameter_px: float | None = None,
    defocus_rad: float | None = None,
    central_stop: float = ZONEPLATE_CENTRAL_STOP,
) -> np.ndarray:
    """Return the (N, N) probe of a focused beam seen out of focus (a zone plate's), peak 1.

    The beam is defined in the detector plane by its pupil: an annulus (outer radius
    ``u_max`` cycles/pixel, a central stop of radius ``central_stop * u_max``) carrying the
    defocus phase ``defocus_rad * (u / u_max)**2``. The probe at the sample is its inverse
    Fourier transform, so ``|far_field(probe)|`` is the annulus (the bright ring of zone-plate
    data with a dark centre) and the probe itself is smooth, band-limited, with Fresnel rings,
    a bright central (Arago) spot and side lobes, and no sharp edge.

    By stationary phase a pupil frequency ``u`` lands at radius ``defocus_rad * u /
    (pi * u_max**2)`` px, so the defocused cone has the geometric diameter
    ``diameter_px = 2 defocus_rad / (pi u_max)``; given the diameter and the defocus, the
    pupil radius is ``u_max = 2 defocus_rad / (pi diameter_px)``.

    Parameters
    ----------
    n : int
        Probe size N (pixels).
    diameter_px : float, optional
        Geometric diameter of the out-of-focus beam at the sample, in pixels; default
        ``0.4 N`` (:data:`ZONEPLATE_DIAMETER_FRACTION`). Diffraction makes the energy
        footprint somewhat wider (its 90 % circle is about 0.46 N at the defaults).
    defocus_rad : float, optional
        Defocus phase at the pupil rim, in radians; about ``defocus_rad / pi`` Fresnel zones
        (rings) cross the beam. Default ``pi * diameter_px / 8``, the defocus at which the
        pupil fills half the detector half-width (``u_max = 0.25`` cycles/pixel). Must give
        ``u_max <= 0.5`` (no aliasing).
    central_stop : float
        Radius of the central stop as a fraction of the pupil radius, in [0, 1); default 0.4.

    Returns
    -------
    complex128 ndarray of shape (N, N)
        Peak amplitude 1.
    """
    diameter_px = ZONEPLATE_DIAMETER_FRACTION * n if diameter_px is None else float(diameter_px)
    if not 0 < diameter_px <= n:
        raise ValueError(f"zoneplate diameter must be in (0, N={n}] px, got {diameter_px}")
    if defocus_rad is None:
        defocus_rad = math.pi * DEFAULT_PUPIL_FREQUENCY * diameter_px / 2
    if not defocus_rad > 0:
        raise ValueError(f"zoneplate defocus must be > 0 rad, got {defocus_rad}")
    if not 0 <= central_stop < 1:
        raise ValueError(f"zoneplate central stop must be in [0, 1), got {central_stop}")
    u_max = 2 * defocus_rad / (math.pi * diameter_px)  # cycles/pixel
    if u_max > MAX_PUPIL_FREQUENCY:
        raise ValueError(
            f"zoneplate defocus {defocus_rad:.3g} rad over a {diameter_px:.3g} px beam needs a "
            f"pupil of {u_max:.3g} cycles/px (> {MAX_PUPIL_FREQUENCY}, aliased); lower the "
            f"defocus below {math.pi * MAX_PUPIL_FREQUENCY * diameter_px / 2:.3g} rad or "
            "widen the beam"
        )
    freq = (np.arange(n) - n // 2) / n  # cycles/pixel, zero frequency at N//2
    u = np.hypot(freq[:, None], freq[None, :])  # (N, N)
    annulus = (u <= u_max) & (u >= central_stop * u_max)
    pupil = annulus * np.exp(1j * defocus_rad * (u / u_max) ** 2)
    if not pupil.any():
        raise ValueError(f"the zoneplate pupil ({u_max:.3g} cycles/px) is below one pixel")
    probe = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(pupil), norm="ortho"))
    return probe / np.abs(probe).max()


def probe_diameter_px(probe: np.ndarray) -> float:
    """Return ``2 sqrt(2 <r^2>)``, with ``<r^2>`` the intensity-weighted mean squared radius.

    It equals the diameter of a flat disk, and is the scale of the default scan step
    (``simulate``). ``probe`` is (N, N) or (P, N, N) (modes add incoherently). The overlap
    uses the 90 % energy footprint instead (``ptycho_engine.data.overlap``).
    """
    intensity = (np.abs(probe) ** 2).reshape(-1, *probe.shape[-2:]).sum(axis=0)  # (N, N)
    rows, cols = np.indices(intensity.shape)
    total = intensity.sum()
    cy, cx = (intensity * rows).sum() / total, (intensity * cols).sum() / total
    mean_r2 = (intensity * ((rows - cy) ** 2 + (cols - cx) ** 2)).sum() / total
    return 2 * math.sqrt(2 * mean_r2)


def _hermite_orders(count: int) -> list[tuple[int, int]]:
    """Return the first ``count`` (m, n) orders, by total order m + n, then by decreasing m."""
    orders: list[tuple[int, int]] = []
    total = 0
    while len(orders) < count:
        orders.extend((m, total - m) for m in range(total, -1, -1))
        total += 1
    return orders[:count]


def probe_modes(probe: np.ndarray, n_modes: int, *, decay: float = 0.5) -> np.ndarray:
    """Return ``n_modes`` incoherent modes built on one probe, (K, N, N) complex128.

    Mode 0 is the probe itself. Mode ``k >= 1`` starts as the probe times the Hermite–Gauss
    function ``H_m(sqrt(2) x / w) H_n(sqrt(2) y / w) exp(-(x**2 + y**2) / w**2)``, with ``H``
    the Hermite polynomials, ``(m, n)`` the k-th order by total order (0,0), (1,0), (0,1),
    (2,0), (1,1) …, ``x, y`` measured from the intensity centroid and ``w`` the radius of the
    probe's 90 % footprint (``ptycho_engine.data.overlap.footprint_diameter_px``). The
    Gaussian envelope keeps the modes' energy on the probe (a bare polynomial would lift the
    side lobes of a zone-plate probe to the window's edge), so the modal footprint stays
    within a few per cent of the probe's. The modes are then made orthonormal (Gram–Schmidt)
    and weighted so mode k carries the power share ``decay**k / sum_j decay**j`` of the probe's
    energy: the total intensity ``sum_k |mode_k|**2`` sums to ``sum |probe|**2``, and the
    diffraction of the modes is the incoherent sum of their intensities
    (``ptycho_engine.conventions``).

    Parameters
    ----------
    probe : complex ndarray of shape (N, N)
    n_modes : int
        Number of modes K >= 1; K = 1 returns ``probe[None]``.
    decay : float
        Power ratio of consecutive modes, in (0, 1]; default 0.5.

    Returns
    -------
    complex128 ndarray of shape (K, N, N)
    """
    probe = np.asarray(probe, dtype=np.complex128)
    if probe.ndim != 2:
        raise ValueError(f"probe_modes needs one (N, N) probe, got shape {probe.shape}")
    if n_modes < 1:
        raise ValueError(f"the number of probe modes must be >= 1, got {n_modes}")
    if not 0 < decay <= 1:
        raise ValueError(f"the probe mode decay must be in (0, 1], got {decay}")
    if n_modes == 1:
        return probe[None].copy()
    intensity = np.abs(probe) ** 2
    energy = float(intensity.sum())
    rows, cols = np.indices(probe.shape)
    x = cols - (intensity * cols).sum() / energy  # from the centroid, pixels
    y = rows - (intensity * rows).sum() / energy
    waist = footprint_diameter_px(probe) / 2
    envelope = np.exp(-(x**2 + y**2) / waist**2)
    modes: list[np.ndarray] = []
    for k, (m, j) in enumerate(_hermite_orders(n_modes)):
        hx = hermite.hermval(math.sqrt(2) * x / waist, [0] * m + [1])
        hy = hermite.hermval(math.sqrt(2) * y / waist, [0] * j + [1])
        mode = probe if k == 0 else probe * hx * hy * envelope
        for previous in modes:  # Gram–Schmidt, twice against round-off
            mode = mode - np.vdot(previous, mode) * previous
            mode = mode - np.vdot(previous, mode) * previous
        norm = math.sqrt(float((np.abs(mode) ** 2).sum()))
        if not norm > 1e-6 * math.sqrt(energy):
            raise ValueError(f"the probe supports fewer than {n_modes} independent modes")
        modes.append(mode / norm)
    power = decay ** np.arange(n_modes, dtype=np.float64)
    power *= energy / power.sum()  # (K,) energies summing to the probe's
    return np.stack(modes) * np.sqrt(power)[:, None, None]
