"""Score a reconstructed complex object against the ground truth over the scanned region.

Alignment (placement by ``origin``, the scanned region, phase offset and ramp, amplitude
scale) is done by :func:`ptycho_engine.metrics.align.align_to_truth`; see its module docstring.

Amplitude and phase are scored separately with SSIM, PSNR and MAE.

- Amplitude: ``|aligned recon|`` against ``|truth|`` with ``data_range`` = the truth
  amplitude's range (max - min) over the region.
- Phase: the truth phase against the truth phase plus the wrapped phase difference, so a
  difference of 2π is no error. The truth phase is referred to its circular mean ``c =
  angle(sum(truth))`` and mapped to (0, 2π] as ``π + angle(truth exp(-i c))`` (the reference
  maps ``φ + π`` likewise). Referring to ``c`` keeps a truth whose phase sits near ±π from
  wrapping and inflating the range, and makes the scores independent of the global phase;
  the shift by π keeps local means away from zero, where SSIM's luminance term
  ``(2 μx μy + C1) / (μx² + μy² + C1)`` is unstable. ``data_range`` is the range of the truth
  phase over the region (at most 2π); MAE is the mean absolute wrapped difference in radians.
- A truth with a flat amplitude or phase has no range; then ``data_range`` falls back to the
  truth's largest amplitude (amplitude) or 2π, the full phase interval (phase).
- PSNR is infinite for identical images; it is capped at :data:`PSNR_CAP_DB` so results stay
  finite and JSON-ready. 100 dB is an RMS error of 1e-5 of the range, beyond the accuracy of
  any reconstruction (float32 round-off alone scores about 140 dB).
- FRC is computed on the aligned complex images (one curve, phase and amplitude together);
  see ``ptycho_engine.metrics.frc``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ptycho_engine.metrics.align import align_to_truth
from ptycho_engine.metrics.frc import (
    ONE_SEVENTH,
    FrcCrossing,
    frc_curve,
    frc_resolution,
    half_bit_threshold,
)

__all__ = [
    "PSNR_CAP_DB",
    "EvaluationResult",
    "ScoreSet",
    "compared_phases",
    "constant_object_baseline",
    "evaluate_reconstruction",
    "score_images",
]

PSNR_CAP_DB = 100.0
"""PSNR values above this (including the infinite PSNR of identical images) are reported as it."""


@dataclass(frozen=True)
class ScoreSet:
    """SSIM (≤ 1), PSNR in dB (capped at :data:`PSNR_CAP_DB`) and MAE of one image pair."""

    ssim: float
    psnr_db: float
    mae: float

    def to_dict(self) -> dict[str, float]:
        """Return ``{"ssim", "psnr_db", "mae"}`` as plain floats."""
        return {"ssim": float(self.ssim), "psnr_db": float(self.psnr_db), "mae": float(self.mae)}


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """Scores, alignment parameters, aligned crops and the FRC curve of one reconstruction.

    ``aligned_reconstruction`` and ``aligned_truth`` are (h, w) complex crops of ``region``
    (half-open truth pixels ``(x0, y0, x1, y1)``); ``frc_frequencies`` (cycles/pixel),
    ``frc_correlation`` and ``frc_half_bit_threshold`` are (K,) curves. Arrays are read-only.
    Pairs ``phase_ramp_rad_per_px`` and ``registration_shift_px`` are ordered ``(x, y)``.
    """

    amplitude: ScoreSet
    phase: ScoreSet
    frc_1_7: FrcCrossing
    frc_half_bit: FrcCrossing
    amplitude_scale: float
    phase_offset_rad: float
    phase_ramp_rad_per_px: tuple[float, float]
    region: tuple[int, int, int, int]
    registration_shift_px: tuple[float, float] | None
    aligned_reconstruction: np.ndarray
    aligned_truth: np.ndarray
    frc_frequencies: np.ndarray
    frc_correlation: np.ndarray
    frc_half_bit_threshold: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """Return the scores and alignment as a JSON-ready dict (no arrays)."""
        shift = self.registration_shift_px
        return {
            "amplitude": self.amplitude.to_dict(),
            "phase": self.phase.to_dict(),
            "frc": {
                "threshold_1_7": self.frc_1_7.to_dict(),
                "half_bit": self.frc_half_bit.to_dict(),
            },
            "alignment": {
                "amplitude_scale": float(self.amplitude_scale),
                "phase_offset_rad": float(self.phase_offset_rad),
                "phase_ramp_rad_per_px": [float(v) for v in self.phase_ramp_rad_per_px],
                "region": [int(v) for v in self.region],
                "registration_shift_px": None if shift is None else [float(v) for v in shift],
            },
        }


def _win_size(shape: tuple[int, ...]) -> int:
    """SSIM window: skimage's default 7, or the largest odd size that fits a smaller image."""
    side = min(shape)
    return min(7, side if side % 2 else side - 1)


def score_images(truth: np.ndarray, test: np.ndarray, *, data_range: float) -> ScoreSet:
    """SSIM, capped PSNR and MAE of two real images (h, w) over ``data_range``."""
    ssim = structural_similarity(
        truth, test, data_range=data_range, win_size=_win_size(truth.shape)
    )
    mse = float(np.mean((truth - test) ** 2))
    psnr = PSNR_CAP_DB
    if mse > 0:
        psnr = min(peak_signal_noise_ratio(truth, test, data_range=data_range), PSNR_CAP_DB)
    return ScoreSet(ssim=float(ssim), psnr_db=float(psnr), mae=float(np.mean(np.abs(truth - test))))


def _range_or(values: np.ndarray, fallback: float) -> float:
    spread = float(np.ptp(values))
    return spread if spread > 1e-12 else fallback


def _score_amplitude(recon: np.ndarray, truth: np.ndarray) -> ScoreSet:
    truth_amp = np.abs(truth)
    fallback = float(truth_amp.max()) or 1.0
    return score_images(truth_amp, np.abs(recon), data_range=_range_or(truth_amp, fallback))


def compared_phases(reconstruction: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the truth and reconstruction phases (h, w) as the phase scores compare them.

    The truth phase lies within ±π of its amplitude-weighted circular mean
    ``angle(sum(truth))``; the reconstruction phase is it plus the wrapped difference.
    """
    centre = np.angle(np.sum(truth))
    truth_phase = centre + np.angle(truth * np.exp(-1j * centre))
    return truth_phase, truth_phase + np.angle(reconstruction * np.conj(truth))


def _score_phase(recon: np.ndarray, truth: np.ndarray) -> ScoreSet:
    truth_phase, recon_phase = compared_phases(recon, truth)
    lift = np.pi - np.angle(np.sum(truth))  # moves the truth phase into (0, 2π], mean near π
    data_range = _range_or(truth_phase, 2 * math.pi)
    return score_images(truth_phase + lift, recon_phase + lift, data_range=data_range)


def evaluate_reconstruction(
    reconstruction: np.ndarray,
    truth: np.ndarray,
    *,
    origin: tuple[float, float],
    positions_xy: np.ndarray,
    patch_size: int,
    margin_px: float | None = None,
    register: bool = False,
) -> EvaluationResult:
    """Align a reconstruction to the truth over the scanned region and score it.

    Parameters
    ----------
    reconstruction : ndarray of shape (H, W)
        Complex reconstruction; pixel ``[r, c]`` sits at truth pixel
        ``[r + origin[1], c + origin[0]]`` (frames as in ``ptycho_engine.conventions``).
    truth : ndarray of shape (Ht, Wt)
        Complex ground truth (``objectGuess``).
    origin : (float, float)
        ``(x, y)`` of the reconstruction's pixel ``[0, 0]`` in the truth frame; may be
        fractional (cubic-spline resampling, see ``ptycho_engine.metrics.align``).
    positions_xy : ndarray of shape (M, 2)
        ``[x, y]`` scan positions (patch centres) in the truth frame.
    patch_size : int
        Patch size N.
    margin_px : float, optional
        Margin around the scan bounding box; default ``patch_size / 8`` (see
        ``ptycho_engine.metrics.align``).
    register : bool
        Refine ``origin`` by sub-pixel phase cross-correlation before cropping.

    Returns
    -------
    EvaluationResult
    """
    aligned = align_to_truth(
        reconstruction,
        truth,
        origin=origin,
        positions_xy=positions_xy,
        patch_size=patch_size,
        margin_px=margin_px,
        register=register,
    )
    recon, truth_crop = aligned.reconstruction, aligned.truth
    if min(recon.shape) < 3:
        raise ValueError(
            f"the scanned region {aligned.region} (x0, y0, x1, y1) is too small to score; SSIM "
            "needs at least 3x3 pixels. Widen margin_px or check positions_xy"
        )
    frequencies, correlation, n_pixels = frc_curve(recon, truth_crop)
    half_bit = half_bit_threshold(n_pixels)
    arrays = [recon, truth_crop, frequencies, correlation, half_bit]
    for array in arrays:
        array.flags.writeable = False
    return EvaluationResult(
        amplitude=_score_amplitude(recon, truth_crop),
        phase=_score_phase(recon, truth_crop),
        frc_1_7=frc_resolution(frequencies, correlation, ONE_SEVENTH),
        frc_half_bit=frc_resolution(frequencies, correlation, half_bit),
        amplitude_scale=aligned.amplitude_scale,
        phase_offset_rad=aligned.phase_offset_rad,
        phase_ramp_rad_per_px=aligned.phase_ramp_rad_per_px,
        region=aligned.region,
        registration_shift_px=aligned.registration_shift_px,
        aligned_reconstruction=recon,
        aligned_truth=truth_crop,
        frc_frequencies=frequencies,
        frc_correlation=correlation,
        frc_half_bit_threshold=half_bit,
    )


def constant_object_baseline(
    truth: np.ndarray,
    *,
    origin: tuple[float, float],
    positions_xy: np.ndarray,
    patch_size: int,
    margin_px: float | None = None,
) -> EvaluationResult:
    """Score the best constant object through the same alignment: the floor to beat.

    The constant (1, zero phase) covers the truth from ``origin`` on, so the scored region is
    the one a reconstruction with this origin gets. The alignment then fits the best
    amplitude (the least-squares mean amplitude) and the best phase plane, so this is the
    score of an object with no structure at all.

    Parameters
    ----------
    truth : ndarray of shape (Ht, Wt)
        Complex ground truth.
    origin, positions_xy, patch_size, margin_px
        As for :func:`evaluate_reconstruction`.

    Returns
    -------
    EvaluationResult
    """
    truth = np.asarray(truth)
    height = max(1, math.ceil(truth.shape[0] - float(origin[1])))
    width = max(1, math.ceil(truth.shape[1] - float(origin[0])))
    return evaluate_reconstruction(
        np.ones((height, width), dtype=np.complex128),
        truth,
        origin=origin,
        positions_xy=positions_xy,
        patch_size=patch_size,
        margin_px=margin_px,
    )
