"""Bring a reconstruction onto the ground truth's pixel grid and remove its ambiguities.

Frames follow ``ptycho_engine.conventions``. The reconstruction carries ``origin = (x, y)``,
the truth-frame coordinate of its pixel ``[0, 0]``, so reconstruction pixel ``[r, c]`` sits at
truth pixel ``[r + origin_y, c + origin_x]``.

Placement
    A fractional origin is honoured by resampling the reconstruction onto the truth grid with
    a cubic spline (``scipy.ndimage.shift``, order 3, on the real and imaginary parts). Unlike
    a Fourier shift, a spline does not wrap one edge onto the other; it is exact for integer
    shifts and accurate for the smooth objects ptychography recovers. Truth pixels whose
    sample point falls outside the reconstruction are not part of its footprint. The spline's
    prefilter is not strictly local: at a fractional origin a pixel's influence decays by a
    factor of about 0.27 per pixel, so values just outside the scanned region leak in a
    little. Integer origins are placed by plain indexing, with no resampling at all.

Region
    Only the scanned region is scored: the bounding box of the scan positions expanded by
    ``margin_px`` (default :data:`DEFAULT_MARGIN_FRACTION` × ``patch_size``), intersected with
    the truth and with the reconstruction's footprint. Unscanned canvas never counts. The
    margin is half the radius of the usual probe support (a disk of diameter N/2): a margin of
    the full radius N/4 would reach the probe's faint rim, which the data barely constrain and
    which reconstructions leave empty, so the scores would measure the rim, not the object. Regions are half-open pixel bounds ``(x0, y0, x1, y1)``.

Ambiguities
    Ptychography recovers the object only up to a global phase, a linear phase ramp (a shift
    of the diffraction patterns) and, for amplitude-scaled data, an amplitude factor. The ramp
    is the mean phase gradient of ``recon * conj(truth)``: the angle of the sum of products of
    neighbouring pixels along each axis. Angles of sums never need unwrapping, and the products
    weight each pixel by its amplitudes, so dark, noisy pixels count little. The offset is then
    the angle of the sum of the de-ramped product. The phase model is
    ``offset + ramp_x * x + ramp_y * y`` with ``x, y`` in truth-frame pixels. The amplitude
    scale is the least-squares factor ``s`` minimising ``||s |recon| - |truth|||**2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.registration import phase_cross_correlation

from ptycho_engine.metrics.frc import tukey_window

__all__ = [
    "Alignment",
    "align_to_truth",
    "fit_amplitude_scale",
    "fit_phase_ramp",
    "place_on_truth_grid",
    "register_shift",
    "remove_phase_ramp",
    "scanned_region",
]

Region = tuple[int, int, int, int]

# Origins this close to a whole pixel are placed without resampling (float noise, not intent).
_SNAP_PX = 1e-6
# Sub-pixel precision of the registration: 1/50 px, as the reference evaluation uses.
_REGISTRATION_UPSAMPLE = 50
# Registration stops once a step is below its precision, or after this many steps.
_REGISTRATION_MAX_STEPS = 10
# Tukey fraction tapered before correlating: edges of the crop are not periodic.
_REGISTRATION_TAPER = 0.5

DEFAULT_MARGIN_FRACTION = 1 / 8
"""Default margin of the scored region around the scan positions, as a fraction of N."""


@dataclass(frozen=True, eq=False)
class Alignment:
    """The reconstruction and truth over the scored region, with the ambiguities removed.

    ``reconstruction`` and ``truth`` are (h, w) complex crops of ``region``;
    ``registration_shift_px`` is ``(x, y)``, or ``None`` when no registration was run.
    """

    reconstruction: np.ndarray
    truth: np.ndarray
    region: Region
    amplitude_scale: float
    phase_offset_rad: float
    phase_ramp_rad_per_px: tuple[float, float]
    registration_shift_px: tuple[float, float] | None


def _split(value: float) -> tuple[int, float]:
    """Split a coordinate into a whole pixel and a fraction in [0, 1), snapping near-integers."""
    nearest = round(value)
    if abs(value - nearest) < _SNAP_PX:
        return int(nearest), 0.0
    whole = math.floor(value)
    return whole, value - whole


def place_on_truth_grid(
    reconstruction: np.ndarray, *, origin: tuple[float, float], truth_shape: tuple[int, int]
) -> tuple[np.ndarray, Region]:
    """Resample a reconstruction onto the truth grid.

    Parameters
    ----------
    reconstruction : ndarray of shape (H, W)
        Complex object; pixel ``[0, 0]`` sits at truth coordinate ``origin``.
    origin : (float, float)
        ``(x, y)`` of the reconstruction's pixel ``[0, 0]`` in the truth frame.
    truth_shape : (int, int)
        ``(Ht, Wt)`` of the truth.

    Returns
    -------
    canvas : ndarray of shape (Ht, Wt), complex128
        The reconstruction on the truth grid; zero outside its footprint.
    footprint : (x0, y0, x1, y1)
        Half-open truth-pixel bounds covered by the reconstruction (empty if ``x1 <= x0``).
    """
    rec = np.asarray(reconstruction, dtype=np.complex128)
    if rec.ndim != 2:
        raise ValueError(f"reconstruction must be 2-D (H, W), got shape {rec.shape}")
    (ix, fx), (iy, fy) = _split(float(origin[0])), _split(float(origin[1]))
    if fx or fy:
        # shifted[r] = rec[r - fy], which lies on truth row r + iy (see module docstring).
        shift = (fy, fx)
        rec = ndimage.shift(rec.real, shift, order=3, mode="nearest") + 1j * ndimage.shift(
            rec.imag, shift, order=3, mode="nearest"
        )
    height, width = rec.shape
    # Row 0 of a fractionally shifted image would sample before the reconstruction's start.
    y0, x0 = max(iy + (fy > 0), 0), max(ix + (fx > 0), 0)
    y1, x1 = min(iy + height, truth_shape[0]), min(ix + width, truth_shape[1])
    canvas = np.zeros(truth_shape, dtype=np.complex128)
    if y1 > y0 and x1 > x0:
        canvas[y0:y1, x0:x1] = rec[y0 - iy : y1 - iy, x0 - ix : x1 - ix]
    return canvas, (x0, y0, x1, y1)


def scanned_region(
    positions_xy: np.ndarray, *, patch_size: int, margin_px: float | None = None, bounds: Region
) -> Region:
    """Return the scan bounding box expanded by ``margin_px`` and clipped to ``bounds``.

    Parameters
    ----------
    positions_xy : ndarray of shape (M, 2)
        ``[x, y]`` patch centres in the truth frame.
    patch_size : int
        N; the default margin is ``N / 8``.
    margin_px : float, optional
        Expansion of the bounding box on every side, in pixels.
    bounds : (x0, y0, x1, y1)
        Half-open pixel bounds the region must stay inside (truth ∩ reconstruction).

    Returns
    -------
    (x0, y0, x1, y1)
        Half-open bounds of the pixels whose centres lie inside the expanded box.
    """
    pos = np.asarray(positions_xy, dtype=np.float64).reshape(-1, 2)
    if pos.shape[0] == 0:
        raise ValueError("positions_xy is empty; the scanned region is undefined")
    margin = DEFAULT_MARGIN_FRACTION * patch_size if margin_px is None else float(margin_px)
    low, high = pos.min(axis=0) - margin, pos.max(axis=0) + margin  # [x, y] each
    x0 = max(math.ceil(low[0] - 1e-9), bounds[0])
    y0 = max(math.ceil(low[1] - 1e-9), bounds[1])
    x1 = min(math.floor(high[0] + 1e-9) + 1, bounds[2])
    y1 = min(math.floor(high[1] + 1e-9) + 1, bounds[3])
    if x1 <= x0 or y1 <= y0:
        raise ValueError(
            f"the scanned region {low.tolist()}..{high.tolist()} (x, y) does not overlap both "
            f"the truth and the placed reconstruction {bounds} (x0, y0, x1, y1); check origin"
        )
    return x0, y0, x1, y1


def fit_phase_ramp(
    reconstruction: np.ndarray, truth: np.ndarray, *, x0: int = 0, y0: int = 0
) -> tuple[float, float, float]:
    """Fit ``offset + ramp_x * x + ramp_y * y`` to the phase of ``reconstruction / truth``.

    Parameters
    ----------
    reconstruction, truth : ndarray of shape (h, w)
        Complex images on the same grid; pixel ``[0, 0]`` sits at truth pixel ``(x0, y0)``.

    Returns
    -------
    (offset_rad, ramp_x_rad_per_px, ramp_y_rad_per_px)
    """
    product = reconstruction * np.conj(truth)  # (h, w), amplitude-weighted phase difference
    ramp_x = float(np.angle(np.sum(product[:, 1:] * np.conj(product[:, :-1]))))
    ramp_y = float(np.angle(np.sum(product[1:, :] * np.conj(product[:-1, :]))))
    deramped = remove_phase_ramp(product, offset=0.0, ramp=(ramp_x, ramp_y), x0=x0, y0=y0)
    return float(np.angle(np.sum(deramped))), ramp_x, ramp_y


def remove_phase_ramp(
    image: np.ndarray, *, offset: float, ramp: tuple[float, float], x0: int = 0, y0: int = 0
) -> np.ndarray:
    """Return ``image * exp(-i (offset + ramp[0] x + ramp[1] y))``, x and y in truth pixels.

    ``image`` is (h, w) with pixel ``[0, 0]`` at truth pixel ``(x0, y0)``.
    """
    rows = y0 + np.arange(image.shape[0])[:, None]  # (h, 1)
    cols = x0 + np.arange(image.shape[1])[None, :]  # (1, w)
    return image * np.exp(-1j * (offset + ramp[0] * cols + ramp[1] * rows))


def fit_amplitude_scale(reconstruction: np.ndarray, truth: np.ndarray) -> float:
    """Return ``s`` minimising ``||s |reconstruction| - |truth|||**2`` (1 for a zero recon)."""
    rec_amp, truth_amp = np.abs(reconstruction), np.abs(truth)
    power = float(np.sum(rec_amp**2))
    return float(np.sum(rec_amp * truth_amp)) / power if power > 0 else 1.0


def register_shift(reconstruction: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """One estimate of the ``(x, y)`` shift that moves ``reconstruction`` (h, w) onto ``truth``.

    The phase ramp is removed first (a ramp moves the spectrum and would bias the peak), then
    each image loses its mean and is tapered by a Tukey window: a windowed mean correlates
    best at zero shift and would swamp the object's own peak. The cross-correlation is plain,
    not phase-normalised, which locates the broad peaks of smooth objects far more reliably.
    Over a small region part of the content leaves the window, which biases the estimate
    towards zero; :func:`align_to_truth` therefore iterates to convergence.
    """
    offset, ramp_x, ramp_y = fit_phase_ramp(reconstruction, truth)
    flat = remove_phase_ramp(reconstruction, offset=offset, ramp=(ramp_x, ramp_y))
    window = tukey_window(truth.shape, _REGISTRATION_TAPER)
    shift, _, _ = phase_cross_correlation(
        (truth - truth.mean()) * window,
        (flat - flat.mean()) * window,
        upsample_factor=_REGISTRATION_UPSAMPLE,
        normalization=None,
    )
    return float(shift[1]), float(shift[0])


def _crop(image: np.ndarray, region: Region) -> np.ndarray:
    x0, y0, x1, y1 = region
    return image[y0:y1, x0:x1]


def align_to_truth(
    reconstruction: np.ndarray,
    truth: np.ndarray,
    *,
    origin: tuple[float, float],
    positions_xy: np.ndarray,
    patch_size: int,
    margin_px: float | None = None,
    register: bool = False,
) -> Alignment:
    """Place, optionally register, crop to the scanned region and remove the ambiguities.

    Parameters
    ----------
    reconstruction : ndarray of shape (H, W)
        Complex reconstruction whose pixel ``[0, 0]`` sits at truth coordinate ``origin``.
    truth : ndarray of shape (Ht, Wt)
        Complex ground truth.
    origin, positions_xy, patch_size, margin_px
        See :func:`place_on_truth_grid` and :func:`scanned_region`.
    register : bool
        If true, correct ``origin`` by sub-pixel cross-correlation over the scanned region
        before cropping (:func:`register_shift`, repeated until a step is below 1/50 px).

    Returns
    -------
    Alignment
        Crops of the scanned region, the aligned reconstruction ``s * recon * exp(-i phase)``.
    """
    truth = np.asarray(truth, dtype=np.complex128)
    if truth.ndim != 2:
        raise ValueError(f"truth must be 2-D (Ht, Wt), got shape {truth.shape}")
    origin = (float(origin[0]), float(origin[1]))

    def place(at: tuple[float, float]) -> tuple[np.ndarray, Region]:
        canvas, footprint = place_on_truth_grid(reconstruction, origin=at, truth_shape=truth.shape)
        return canvas, scanned_region(
            positions_xy, patch_size=patch_size, margin_px=margin_px, bounds=footprint
        )

    canvas, region = place(origin)
    start, shift = origin, None
    for _ in range(_REGISTRATION_MAX_STEPS if register else 0):
        step = register_shift(_crop(canvas, region), _crop(truth, region))
        origin = (origin[0] + step[0], origin[1] + step[1])
        shift = (round(origin[0] - start[0], 6), round(origin[1] - start[1], 6))  # sum of k/50
        canvas, region = place(origin)
        if max(abs(step[0]), abs(step[1])) < 1.0 / _REGISTRATION_UPSAMPLE:
            break
    x0, y0 = region[0], region[1]
    rec_crop, truth_crop = _crop(canvas, region), _crop(truth, region)  # (h, w) each
    offset, ramp_x, ramp_y = fit_phase_ramp(rec_crop, truth_crop, x0=x0, y0=y0)
    flat = remove_phase_ramp(rec_crop, offset=offset, ramp=(ramp_x, ramp_y), x0=x0, y0=y0)
    scale = fit_amplitude_scale(flat, truth_crop)
    return Alignment(
        reconstruction=scale * flat,
        truth=truth_crop.copy(),
        region=region,
        amplitude_scale=scale,
        phase_offset_rad=offset,
        phase_ramp_rad_per_px=(ramp_x, ramp_y),
        registration_shift_px=shift,
    )
