"""Fourier ring correlation (FRC) between two images and the resolution it implies.

Both images are multiplied by the same separable Tukey window before the FFT, so the jump
between opposite edges (an FFT treats the image as periodic) does not add a spurious cross of
high-frequency power. Each image first loses its window-weighted mean: otherwise the mean,
spread by the window's own spectrum, is common to both images and dominates the rings of a
smooth object, so even a featureless image would correlate well with the truth. Ring 0 then
holds nothing but round-off, and its correlation is set to 1 so the curve starts at 1.

Rings are annuli of width ``1 / min(h, w)`` cycles per pixel around zero frequency, ring ``k``
holding the frequencies that round to ``k / min(h, w)``, up to the Nyquist frequency of the
shorter axis; corners beyond it are left out. The correlation of a ring is
``Re(sum F1 conj(F2)) / sqrt(sum |F1|**2 sum |F2|**2)``. The real part (not the modulus) is
used: for complex images the ring sum is complex, and its modulus would make independent
images look correlated (its mean is about ``1 / sqrt(n)``, not 0). A ring where either image
has no power above round-off gets correlation 0 (no information).

A resolution is where the curve first falls below a threshold, skipping ring 0, found by
linear interpolation of ``correlation - threshold`` between the ring before and the ring at
the crossing; a curve already below at ring 1 is reported at ring 1's frequency. It is
reported as a spatial frequency (cycles/pixel) and as a period in pixels, ``1 / frequency``.
A curve that never falls below is reported at the last ring (the Nyquist frequency of the
shorter axis, a period of about 2 px) with ``crossed=False``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ONE_SEVENTH",
    "FrcCrossing",
    "frc_curve",
    "frc_resolution",
    "half_bit_threshold",
    "tukey_window",
]

ONE_SEVENTH = 1.0 / 7.0
"""The fixed 1/7 threshold (Rosenthal & Henderson 2003)."""

# Ring power below this fraction of an image's total power is float64 round-off.
_ROUND_OFF = 1e-20


@dataclass(frozen=True)
class FrcCrossing:
    """Where an FRC curve first falls below a threshold.

    ``frequency`` is in cycles/pixel, ``resolution_px = 1 / frequency``; ``crossed`` is false
    when the curve stays above the threshold up to Nyquist (then the Nyquist values are given).
    """

    frequency: float
    resolution_px: float
    crossed: bool

    def to_dict(self) -> dict[str, float | bool]:
        """Return ``{"frequency", "resolution_px", "crossed"}`` as plain Python values."""
        return {
            "frequency": float(self.frequency),
            "resolution_px": float(self.resolution_px),
            "crossed": bool(self.crossed),
        }


def half_bit_threshold(n_pixels: np.ndarray | float) -> np.ndarray:
    """Half-bit threshold of van Heel & Schatz (2005) for rings of ``n_pixels`` pixels.

    ``T(n) = (0.2071 + 1.9102 / sqrt(n)) / (1.2071 + 0.9102 / sqrt(n))``; it tends to
    0.2071 / 1.2071 ≈ 0.1716 for large rings and exceeds 1 for rings of fewer than 4 pixels.

    Parameters
    ----------
    n_pixels : ndarray of shape (K,) or float
        Number of Fourier pixels in each ring (positive).

    Returns
    -------
    ndarray of shape (K,)
    """
    root = np.sqrt(np.asarray(n_pixels, dtype=np.float64))
    return (0.2071 + 1.9102 / root) / (1.2071 + 0.9102 / root)


def tukey_window(shape: tuple[int, int], alpha: float) -> np.ndarray:
    """Separable Tukey window of shape (h, w); ``alpha`` is the tapered fraction of each axis."""
    return _tukey(shape[0], alpha)[:, None] * _tukey(shape[1], alpha)[None, :]


def _tukey(m: int, alpha: float) -> np.ndarray:
    # scipy.signal.windows.tukey (symmetric), written out: importing scipy.signal costs a
    # `ptycho infer` process about 1.1 s
    if m <= 1 or alpha <= 0:
        return np.ones(m)
    alpha = min(alpha, 1.0)
    n = np.arange(m)
    width = int(np.floor(alpha * (m - 1) / 2.0))
    window = np.ones(m)
    rising, falling = n[: width + 1], n[m - width - 1 :]
    window[: width + 1] = 0.5 * (1 + np.cos(np.pi * (-1 + 2.0 * rising / alpha / (m - 1))))
    window[m - width - 1 :] = 0.5 * (
        1 + np.cos(np.pi * (-2.0 / alpha + 1 + 2.0 * falling / alpha / (m - 1)))
    )
    return window


def _taper(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Remove the window-weighted mean, then apply the window (zero DC after tapering)."""
    return (image - np.sum(image * window) / np.sum(window)) * window


def frc_curve(
    a: np.ndarray, b: np.ndarray, *, tukey_alpha: float = 0.25
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ring-averaged Fourier correlation of two images.

    Parameters
    ----------
    a, b : ndarray of shape (h, w)
        Real or complex images on the same grid, already aligned.
    tukey_alpha : float
        Tapered fraction of the apodisation window along each axis (0: none, 1: Hann).

    Returns
    -------
    frequencies : ndarray of shape (K,)
        Ring centres in cycles/pixel, ``k / min(h, w)`` for ``k = 0 .. min(h, w) // 2``.
    correlation : ndarray of shape (K,)
        FRC of each ring, in [-1, 1]; ring 0 is 1 by definition (means are removed).
    n_pixels : ndarray of shape (K,)
        Number of Fourier pixels in each ring.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"FRC needs two 2-D images of one shape, got {a.shape} and {b.shape}")
    if min(a.shape) < 2:
        raise ValueError(f"FRC needs images of at least 2x2 pixels, got {a.shape}")
    window = tukey_window(a.shape, tukey_alpha)
    fa, fb = np.fft.fft2(_taper(a, window)), np.fft.fft2(_taper(b, window))  # (h, w) each
    step = 1.0 / min(a.shape)
    radius = np.hypot(np.fft.fftfreq(a.shape[0])[:, None], np.fft.fftfreq(a.shape[1])[None, :])
    ring = np.rint(radius / step).astype(np.int64).ravel()  # (h*w,)
    n_rings = min(a.shape) // 2 + 1
    inside = ring < n_rings

    def ring_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(ring[inside], weights=values.ravel()[inside], minlength=n_rings)

    cross = ring_sum(np.real(fa * np.conj(fb)))
    power_a, power_b = ring_sum(np.abs(fa) ** 2), ring_sum(np.abs(fb) ** 2)
    # A ring with only round-off power (a constant image after mean removal) carries nothing.
    signal = power_a > _ROUND_OFF * a.size * np.sum(np.abs(a * window) ** 2)
    signal &= power_b > _ROUND_OFF * b.size * np.sum(np.abs(b * window) ** 2)
    correlation = np.zeros(n_rings)
    np.divide(cross, np.sqrt(power_a * power_b), out=correlation, where=signal)
    correlation[0] = 1.0  # ring 0 holds only the removed means: round-off, not data
    n_pixels = np.bincount(ring[inside], minlength=n_rings)
    return np.arange(n_rings) * step, correlation, n_pixels


def frc_resolution(
    frequencies: np.ndarray, correlation: np.ndarray, threshold: np.ndarray | float
) -> FrcCrossing:
    """Find where ``correlation`` first falls below ``threshold`` after ring 0.

    Parameters
    ----------
    frequencies : ndarray of shape (K,)
        Ring frequencies in cycles/pixel, increasing, from :func:`frc_curve`.
    correlation : ndarray of shape (K,)
        FRC of each ring.
    threshold : float or ndarray of shape (K,)
        A fixed threshold such as :data:`ONE_SEVENTH` or a curve such as
        ``half_bit_threshold(n_pixels)``.

    Returns
    -------
    FrcCrossing
        The linearly interpolated crossing, or the last ring with ``crossed=False``.
    """
    freq = np.asarray(frequencies, dtype=np.float64)
    excess = np.asarray(correlation, dtype=np.float64) - np.broadcast_to(threshold, freq.shape)
    below = np.flatnonzero(excess[1:] < 0) + 1  # ring indices after ring 0
    if below.size == 0:
        return FrcCrossing(frequency=freq[-1], resolution_px=1.0 / freq[-1], crossed=False)
    k = int(below[0])
    if k == 1:
        # Ring 0 is not data (and the half-bit curve is 1 there), so there is no bracket.
        crossing = freq[1]
    else:
        fraction = excess[k - 1] / (excess[k - 1] - excess[k])
        crossing = freq[k - 1] + fraction * (freq[k] - freq[k - 1])
    return FrcCrossing(frequency=float(crossing), resolution_px=1.0 / crossing, crossed=True)
