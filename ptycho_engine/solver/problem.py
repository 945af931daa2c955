"""The solver's problem: a scan's data and fixed physics, its likelihood, and its canvas.

The same forward model and Poisson likelihood that train the network
(``ptycho_engine.physics``): every scan position reads its patch from the object canvas
(bilinear, ``physics.shift.extract_patches``). Units (see ``ptycho_engine.conventions``): the
data are the stored amplitudes times the input normalisation α; the predicted amplitude is
``e^δ·|F(P·O)|``; the likelihood compares their squares times the photon scale S² (counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from ptycho_engine.physics.farfield import diffraction_amplitude
from ptycho_engine.physics.losses import poisson_nll
from ptycho_engine.physics.shift import extract_patches

Method = Literal["pie", "adam"]
StoppedBy = Literal["iterations", "tolerance", "time limit"]


@dataclass(frozen=True, eq=False)
class SolverProblem:
    """Measured data and fixed physics of one scan, in the units of the training physics.

    Attributes
    ----------
    diffraction : float32 Tensor of shape (M, N, N)
        Measured amplitudes as stored (on any device; scaled by ``input_scale`` and moved to
        the solver's device one batch at a time, so the data are never copied whole).
    positions : float32 Tensor of shape (M, 2)
        ``[x, y]`` scan positions in canvas pixels (input position minus the canvas origin).
    probe : complex64 Tensor of shape (P, N, N)
        The normalised probe modes.
    photon_scale : float
        S: the likelihood sees counts ``(S·amplitude)²``.
    log_scale : float
        δ: the predicted amplitude is ``e^δ·|F(P·O)|``.
    smoothing_sigma_px : float
        Gaussian blur of the exit wave, as in the model settings (0: off).
    input_scale : float
        α: the likelihood compares the prediction with ``α·diffraction``.
    """

    diffraction: Tensor
    positions: Tensor
    probe: Tensor
    photon_scale: float
    log_scale: float
    smoothing_sigma_px: float = 0.0
    input_scale: float = 1.0

    @property
    def n_positions(self) -> int:
        """Number of scan positions M."""
        return int(self.diffraction.shape[0])

    @property
    def n(self) -> int:
        """Pattern size N."""
        return int(self.diffraction.shape[-1])


@dataclass(frozen=True, eq=False)
class SolverResult:
    """The optimised canvas and probe, with the likelihood before, during and after.

    ``nll_*`` are the mean Poisson NLL per detector pixel over every position (without the
    ``log k!`` constant, so only differences are meaningful), evaluated without gradients;
    ``nll_floor`` is that of a perfect fit (rate = counts), so ``nll − nll_floor`` is the
    deviance the stopping rule watches. ``history`` holds the mean batch NLL of each
    iteration, as seen while stepping. ``stopped_by`` is ``"iterations"`` (the maximum ran),
    ``"tolerance"`` (the deviance stopped falling) or ``"time limit"``. ``method`` and ``batch_size`` are those that ran.
    """

    object: Tensor
    probe: Tensor
    nll_before: float
    nll_after: float
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0
    iterations: int = 0
    stopped_by: StoppedBy = "iterations"
    method: Method = "pie"
    nll_floor: float = 0.0
    batch_size: int = 0


def predicted_amplitude(
    problem: SolverProblem, canvas: Tensor, probe: Tensor, which: Tensor
) -> Tensor:
    """Predicted amplitudes (B, N, N) of the positions ``which`` (B,) from a canvas (H, W)."""
    positions = problem.positions[which].to(canvas.device)  # (B, 2)
    patches = extract_patches(canvas, positions, problem.n)  # (B, N, N)
    amplitude = diffraction_amplitude(
        patches[:, None], probe, smoothing_sigma_px=problem.smoothing_sigma_px
    )  # (B, 1, N, N)
    return amplitude[:, 0] * math.exp(problem.log_scale)


def measured_amplitudes(problem: SolverProblem, which: Tensor, device) -> Tensor:
    """The scaled measured amplitudes ``α·X`` (B, N, N) of ``which``, on ``device``."""
    measured = problem.diffraction[which.to(problem.diffraction.device)].to(
        device, non_blocking=True
    )
    return measured.float() * problem.input_scale


def batch_nll(problem: SolverProblem, canvas: Tensor, probe: Tensor, which: Tensor) -> Tensor:
    """Mean Poisson NLL per pixel of the positions ``which`` (0-d Tensor)."""
    measured = measured_amplitudes(problem, which, canvas.device)  # (B, N, N)
    return poisson_nll(
        predicted_amplitude(problem, canvas, probe, which), measured, problem.photon_scale
    )


@torch.no_grad()
def dataset_nll(
    problem: SolverProblem, canvas: Tensor, probe: Tensor, *, batch_size: int = 256
) -> float:
    """Mean Poisson NLL per pixel over every position (no gradients, in batches)."""
    total = 0.0
    for which in torch.arange(problem.n_positions).split(batch_size):
        total += float(batch_nll(problem, canvas, probe, which)) * len(which)
    return total / problem.n_positions


@torch.no_grad()
def saturated_nll(problem: SolverProblem, *, batch_size: int = 1024) -> float:
    """Mean NLL per pixel of a perfect fit (rate = counts k): ``mean(k − k·log k)``, 0·log 0 = 0.

    The lower bound of :func:`dataset_nll` on these data; ``dataset_nll − saturated_nll`` is
    the Poisson deviance per pixel (halved), which is ≥ 0 and near ½ per well-lit pixel at the
    noise level.
    """
    total, count = 0.0, 0
    for which in torch.arange(problem.n_positions).split(batch_size):
        counts = (
            (measured_amplitudes(problem, which, "cpu") * problem.photon_scale).square().double()
        )
        total += float((counts - torch.xlogy(counts, counts)).sum())
        count += counts.numel()
    return total / max(count, 1)


def flat_canvas(shape: tuple[int, int], amplitude: float = 1.0) -> Tensor:
    """A flat object canvas of the given amplitude and zero phase, complex64 (H, W)."""
    return torch.full(shape, complex(amplitude, 0.0), dtype=torch.complex64)


def place_initial(
    obj: np.ndarray,
    origin: tuple[float, float],
    shape: tuple[int, int],
    canvas_origin: tuple[float, float],
    fill: complex = 1.0,
) -> Tensor:
    """Copy an object given at ``origin`` onto a canvas at ``canvas_origin`` (both whole pixels).

    Canvas pixels the object does not cover keep ``fill``.
    """
    canvas = np.full(shape, fill, dtype=np.complex64)
    dx, dy = int(round(origin[0] - canvas_origin[0])), int(round(origin[1] - canvas_origin[1]))
    height, width = obj.shape
    top, left = max(dy, 0), max(dx, 0)
    bottom, right = min(dy + height, shape[0]), min(dx + width, shape[1])
    if bottom > top and right > left:
        canvas[top:bottom, left:right] = obj[top - dy : bottom - dy, left - dx : right - dx]
    return torch.from_numpy(canvas)
