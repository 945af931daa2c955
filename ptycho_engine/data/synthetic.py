"""Synthetic ingredients of a simulation: complex objects, probes and scan patterns.

Pure numpy functions of a size and a ``np.random.Generator``; coordinates follow
``ptycho_engine.conventions``. :mod:`ptycho_engine.data.simulate` assembles them. The
zone-plate probe and probe modes live in :mod:`ptycho_engine.data.probes`, the image objects
in :mod:`ptycho_engine.data.objects`; the kinds below name them all.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import ndimage

from ptycho_engine.data.objects import image_object
from ptycho_engine.data.probes import probe_diameter_px, zoneplate_probe
from ptycho_engine.physics.probe import soft_disk_mask

__all__ = [
    "OBJECT_KINDS",
    "PROBE_KINDS",
    "SCAN_KINDS",
    "complex_object",
    "probe_diameter_px",
    "scan_offsets",
    "synthetic_probe",
]

OBJECT_KINDS = ("lines", "grf", "image")
PROBE_KINDS = ("disk", "gaussian", "zoneplate")
SCAN_KINDS = ("grid-jitter", "random", "fermat")

GRID_JITTER = 0.2
"""Jitter of ``grid-jitter`` scans, as a fraction of the step (uniform in ±0.2 step).

A perfectly periodic raster leaves a periodic ambiguity in the reconstruction (raster grid
pathology); a little jitter breaks it.
"""


def _unit_range(field: np.ndarray) -> np.ndarray:
    """Rescale a real field linearly to [0, 1]."""
    low, high = field.min(), field.max()
    return (field - low) / (high - low) if high > low else np.zeros_like(field)


def _lines(size: int, rng: np.random.Generator) -> np.ndarray:
    """Random line segments blurred at three scales, in [0, 1], shape (size, size)."""
    n_lines = max(8, size * size // 400)
    start = rng.uniform(0, size, (n_lines, 2))  # (L, 2)
    angle = rng.uniform(0, math.pi, n_lines)
    length = rng.uniform(size / 16, size / 3, n_lines)
    end = start + length[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    t = np.linspace(0, 1, 2 * size)[None, :, None]  # samples closer than a pixel
    points = np.rint(start[:, None] + t * (end - start)[:, None]).astype(int).reshape(-1, 2)
    points = points[((points >= 0) & (points < size)).all(axis=1)]
    canvas = np.zeros((size, size))
    canvas[points[:, 1], points[:, 0]] = 1.0
    blurred = sum(w * ndimage.gaussian_filter(canvas, s) for w, s in ((1, 1), (2, 3), (4, 8)))
    return _unit_range(blurred)


def _grf(size: int, rng: np.random.Generator, *, index: float = -3.0) -> np.ndarray:
    """Gaussian random field with power spectrum ``|k|**index``, in [0, 1], shape (size, size)."""
    freq = np.fft.fftfreq(size)
    k = np.hypot(freq[:, None], freq[None, :])  # (size, size) cycles/pixel
    k[0, 0] = np.inf  # no mean component
    spectrum = np.fft.fft2(rng.standard_normal((size, size))) * k ** (index / 2)
    return _unit_range(np.fft.ifft2(spectrum).real)


def complex_object(
    kind: str,
    size: int,
    rng: np.random.Generator,
    *,
    image_amplitude: str | None = None,
    image_phase: str | None = None,
) -> np.ndarray:
    """Return a (size, size) complex128 object with amplitude in [0.5, 1] and phase in [-1, 1] rad.

    ``lines`` and ``grf``: amplitude and phase are independent draws of the same kind of field
    from ``rng``. ``image``: amplitude and phase from the sample images ``image_amplitude`` and
    ``image_phase`` (:func:`ptycho_engine.data.objects.image_object`; defaults ``camera`` and
    ``astronaut``); no random draw.
    """
    if kind == "image":
        names = {"amplitude_image": image_amplitude, "phase_image": image_phase}
        return image_object(size, **{key: v for key, v in names.items() if v is not None})
    make = {"lines": _lines, "grf": _grf}[kind]
    amplitude = 0.5 + 0.5 * make(size, rng)
    phase = 2.0 * make(size, rng) - 1.0
    return amplitude * np.exp(1j * phase)


def synthetic_probe(
    kind: str, n: int, *, defocus_rad: float | None = None, **zoneplate
) -> np.ndarray:
    """Return an (N, N) complex128 probe centred on pixel ``[N//2, N//2]``, peak amplitude 1.

    ``disk``: a disk of diameter N/2 with a soft edge (σ = 1 px) and a quadratic (defocus-like)
    phase reaching ``defocus_rad`` (default 3 rad) at the rim; its support keeps the
    diffraction oversampled 2×.
    ``gaussian``: a Gaussian amplitude with σ = N/10 and phase ``defocus_rad * (r / (N/4))**2``.
    ``zoneplate``: :func:`ptycho_engine.data.probes.zoneplate_probe` with ``defocus_rad`` (its
    own default when None) and the keyword arguments ``zoneplate`` (``diameter_px``,
    ``central_stop``), which no other kind takes.
    """
    if kind == "zoneplate":
        return zoneplate_probe(n, defocus_rad=defocus_rad, **zoneplate)
    if zoneplate:
        raise ValueError(f"options {sorted(zoneplate)} apply to the zoneplate probe only")
    defocus_rad = 3.0 if defocus_rad is None else defocus_rad
    coord = np.arange(n) - n // 2
    r2 = coord[:, None] ** 2 + coord[None, :] ** 2  # (N, N)
    radius = n / 4
    if kind == "disk":
        amplitude = soft_disk_mask(n, diameter_px=2 * radius, dtype=torch.float64).numpy()
    elif kind == "gaussian":
        amplitude = np.exp(-r2 / (2 * (n / 10) ** 2))
    else:
        raise ValueError(f"unknown probe kind {kind!r}")
    phase = defocus_rad * r2 / radius**2
    return amplitude / amplitude.max() * np.exp(1j * phase)


def scan_offsets(kind: str, n_positions: int, step_px: float, rng: np.random.Generator):
    """Return (n_positions, 2) ``[x, y]`` positions with neighbour spacing about ``step_px``.

    The pattern is centred on (0, 0); callers translate it onto the object.
    ``grid-jitter``: a raster of ``ceil(sqrt(n))`` columns filled row by row, jittered by
    :data:`GRID_JITTER`; ``random``: uniform in a square of side ``sqrt(n) * step``;
    ``fermat``: the Fermat spiral ``r = c sqrt(k + 1/2)``, ``theta = k * golden angle``, with
    ``c`` giving each point the area of a hexagonal cell of side spacing ``step``.
    """
    count = np.arange(n_positions)
    if kind == "grid-jitter":
        columns = math.ceil(math.sqrt(n_positions))
        xy = np.stack([count % columns, count // columns], axis=1) * step_px
        xy = xy + rng.uniform(-GRID_JITTER, GRID_JITTER, xy.shape) * step_px
    elif kind == "random":
        xy = rng.uniform(0, math.sqrt(n_positions) * step_px, (n_positions, 2))
    elif kind == "fermat":
        c = step_px * math.sqrt(math.sqrt(3) / (2 * math.pi))
        r = c * np.sqrt(count + 0.5)
        theta = count * math.pi * (3 - math.sqrt(5))
        xy = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    else:
        raise ValueError(f"unknown scan kind {kind!r}")
    centre = (xy.max(axis=0) + xy.min(axis=0)) / 2
    return xy - centre
