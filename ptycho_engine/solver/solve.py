"""Iterative reconstruction on the training physics: optimise the object canvas directly.

The same forward model and Poisson likelihood that train the network
(``ptycho_engine.physics``) serve a classic gradient-based solver, as in pty-chi's autodiff
engine or cdtools: the object canvas (and optionally the probe) are parameters, every scan
position reads its patch from the canvas (bilinear, ``physics.shift.extract_patches``), and
Adam follows the likelihood gradient over mini-batches of positions. One iteration is one pass
over every position.

Memory stays bounded: the canvas (and its Adam moments) is the only full-size tensor; patterns
move to the device one batch at a time.

Units (see ``ptycho_engine.conventions``): the data are the stored amplitudes times the input
normalisation α; the predicted amplitude is ``e^δ·|F(P·O)|``; the likelihood compares their
squares times the photon scale S² (counts). Adam steps are nearly scale-free, so the learning
rate is roughly the largest change per iteration of an object value of magnitude ~1.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from ptycho_engine.physics.farfield import diffraction_amplitude
from ptycho_engine.physics.losses import poisson_nll
from ptycho_engine.physics.shift import extract_patches

PROBE_LR_FRACTION = 0.1
"""Probe step size per iteration, as a fraction of the object's times the probe's peak
amplitude: the probe is shared by every position, so it gets a gentler step than the object."""


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
    ``log k!`` constant, so only differences are meaningful), evaluated without gradients.
    ``history`` holds the mean batch NLL of each iteration, as seen while stepping.
    """

    object: Tensor
    probe: Tensor
    nll_before: float
    nll_after: float
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0
    iterations: int = 0


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


def batch_nll(problem: SolverProblem, canvas: Tensor, probe: Tensor, which: Tensor) -> Tensor:
    """Mean Poisson NLL per pixel of the positions ``which`` (0-d Tensor)."""
    measured = problem.diffraction[which.to(problem.diffraction.device)].to(
        canvas.device, non_blocking=True
    )
    measured = measured.float() * problem.input_scale  # (B, N, N)
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


def solve(
    problem: SolverProblem,
    initial: Tensor,
    *,
    iterations: int,
    lr: float,
    batch_size: int,
    refine_probe: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: Callable[[int, float], None] | None = None,
    time_limit_s: float | None = None,
) -> SolverResult:
    """Optimise the canvas (and the probe) against the measured diffraction.

    Parameters
    ----------
    problem : SolverProblem
        Data and physics; positions are in the frame of ``initial``.
    initial : complex Tensor of shape (H, W)
        Starting object canvas (a flat object, or the network's stitched object).
    iterations : int
        Passes over every position (≥ 0; 0 only evaluates the likelihood).
    lr : float
        Adam learning rate of the object.
    batch_size : int
        Positions per gradient step.
    refine_probe : bool
        Also optimise the probe (step size :data:`PROBE_LR_FRACTION` of the object's,
        relative to the probe's peak amplitude).
    seed : int
        Seed of the order in which positions are visited.
    device : str or torch.device
        Where the canvas lives and the arithmetic runs.
    progress : callable, optional
        Called as ``progress(iteration, mean_batch_nll)`` after every iteration.
    time_limit_s : float, optional
        Stop after the iteration during which this many seconds have passed (for comparisons
        at equal wall time); ``SolverResult.iterations`` says how many ran.
    """
    start = time.perf_counter()
    canvas = torch.nn.Parameter(initial.detach().to(device, torch.complex64).clone())
    probe_value = problem.probe.detach().to(device, torch.complex64).clone()
    probe = torch.nn.Parameter(probe_value) if refine_probe else probe_value
    groups = [{"params": [canvas], "lr": lr}]
    if refine_probe:
        peak = float(probe_value.abs().max())
        groups.append({"params": [probe], "lr": lr * PROBE_LR_FRACTION * peak})
    optimizer = torch.optim.Adam(groups)
    nll_before = dataset_nll(problem, canvas.detach(), probe.detach())
    generator = torch.Generator().manual_seed(seed)
    history: list[float] = []
    for iteration in range(iterations):
        if time_limit_s is not None and time.perf_counter() - start > time_limit_s:
            break
        order = torch.randperm(problem.n_positions, generator=generator)
        running = torch.zeros((), device=device)
        for which in order.split(batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss = batch_nll(problem, canvas, probe, which)
            loss.backward()
            optimizer.step()
            running += loss.detach() * len(which)
        history.append(float(running) / problem.n_positions)  # one sync per iteration
        if progress is not None:
            progress(iteration + 1, history[-1])
    nll_after = dataset_nll(problem, canvas.detach(), probe.detach())
    return SolverResult(
        canvas.detach(),
        probe.detach(),
        nll_before,
        nll_after,
        history,
        time.perf_counter() - start,
        len(history),
    )


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
