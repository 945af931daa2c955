"""Iterative reconstruction on the training physics: optimise the object canvas directly.

The same forward model and Poisson likelihood that train the network
(``ptycho_engine.physics``) serve a classic solver: the object canvas (and optionally the
probe) are the unknowns, every scan position reads its patch from the canvas (bilinear,
``physics.shift.extract_patches``), and mini-batches of positions update it. One iteration is
one pass over every position. Two methods:

``"pie"`` (the default), a mini-batch rPIE step normalised by the probe's intensity. For a
batch of positions the exit waves ``ψ_p = P_p·O_k`` go to the detector, their moduli are
replaced by the measured amplitudes (``Ψ'_p = Ψ_p·X/A`` with ``A`` the predicted amplitude of
:func:`predicted_amplitude`: e^δ, α and the smoothing as in training; the incoherent modes
share one ratio), and the object moves by::

    O += Σ_k T_k(Σ_p conj(P_p)·(ψ'_p − ψ_p)) / ((1 − a)·Σ_k T_k(Σ_p |P_p|²) + a·max Σ_p |P_p|²)

with ``T_k`` the bilinear placement at position k (the adjoint of extraction) and ``a`` the
rPIE regularisation (:data:`PIE_ALPHA`). Where the probe is bright this is a unit step (the
modulus projection averaged over the batch's overlapping patches); where it is dim the step
fades, so no step size depends on the dataset, the dose or the probe's shape. After
:data:`PIE_SEQUENTIAL_PASSES` passes the sums run over the whole pass and the object takes one
step per pass; a momentum between passes (:data:`PIE_MOMENTUM`) speeds both up. The probe, when
refined, takes the mirror step with the object's intensity in the denominator. The fixed point
is ``A = X`` wherever the data allow, the amplitude (variance-stabilised Poisson) fit; the
reported likelihood stays the Poisson NLL of training.

``"adam"``: Adam follows the gradient of the Poisson NLL (``refine_lr`` is its step), as in
pty-chi's autodiff engine or cdtools. Slower to converge with wide or structured probes
(Gaussian, defocused zone plate), kept for comparison and for likelihoods PIE has no
projection for.

Stopping: the iteration count is a maximum. With ``tolerance > 0`` the run stops when the
Poisson deviance (the NLL above that of a perfect fit, ``Σ λ − k − k·log(λ/k)``, ≥ 0) fell by
less than ``tolerance`` of itself over each of the last ``patience`` iterations, measured on the
NLL summed while stepping (no extra pass). ``SolverResult.stopped_by`` says which limit ended
the run.

Memory stays bounded: the canvas (and Adam's moments) is the only full-size tensor; patterns
move to the device one batch at a time.

Units (see ``ptycho_engine.conventions``): the data are the stored amplitudes times the input
normalisation α; the predicted amplitude is ``e^δ·|F(P·O)|``; the likelihood compares their
squares times the photon scale S² (counts).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import Tensor

from ptycho_engine.solver.problem import (
    Method,
    SolverProblem,
    SolverResult,
    StoppedBy,
    batch_nll,
    dataset_nll,
    flat_canvas,
    place_initial,
    predicted_amplitude,
    saturated_nll,
)
from ptycho_engine.solver.steps import (
    PIE_ALPHA,
    PIE_MOMENTUM,
    PIE_PROBE_WARMUP,
    PIE_SEQUENTIAL_PASSES,
    PROBE_LR_FRACTION,
    AdamStep,
    PieStep,
)

__all__ = [  # the solver's public names, wherever they live
    "BATCH_SIZE",
    "PIE_ALPHA",
    "PIE_MOMENTUM",
    "PIE_PROBE_WARMUP",
    "PIE_SEQUENTIAL_PASSES",
    "PROBE_LR_FRACTION",
    "SolverProblem",
    "SolverResult",
    "batch_nll",
    "dataset_nll",
    "default_batch_size",
    "flat_canvas",
    "place_initial",
    "predicted_amplitude",
    "saturated_nll",
    "solve",
]

BATCH_SIZE = {"pie": 256, "adam": 64}
"""Positions per step when none is given (PIE: at most a quarter of the scan, see
:func:`default_batch_size`). On 1,024 positions PIE converges about as fast per pass with
batches of 16 as of 256 (each batch averages its overlapping updates), and larger batches cost
less per pass; one batch of the whole scan is slower per pass (a 256-position zone-plate strip:
amplitude SSIM 0.84 after 10 passes against 0.89 in batches of 64). Adam's steps are worth
more when there are more of them."""


def default_batch_size(method: Method, n_positions: int) -> int:
    """Positions per step when none is given: :data:`BATCH_SIZE`, and for PIE at least four
    steps per pass (``ceil(M / 4)``, at least 1).
    """
    if method == "pie":
        return max(1, min(BATCH_SIZE["pie"], -(-n_positions // 4)))
    return BATCH_SIZE[method]


class _Stopping:
    """The relative-deviance rule of the module docstring, fed one iteration's NLL at a time."""

    def __init__(self, floor: float, tolerance: float, patience: int) -> None:
        self.floor, self.tolerance, self.patience = floor, tolerance, patience
        self.previous: float | None = None
        self.calm = 0

    def converged(self, nll: float) -> bool:
        deviance = max(nll - self.floor, 0.0)
        previous, self.previous = self.previous, deviance
        if self.tolerance <= 0 or previous is None or not math.isfinite(deviance):
            return False
        small = previous - deviance < self.tolerance * previous
        self.calm = self.calm + 1 if small else 0
        return self.calm >= self.patience


def solve(
    problem: SolverProblem,
    initial: Tensor,
    *,
    iterations: int,
    method: Method = "pie",
    lr: float = 0.01,
    batch_size: int | None = None,
    refine_probe: bool = False,
    tolerance: float = 0.0,
    patience: int = 2,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: Callable[[int, float], None] | None = None,
    time_limit_s: float | None = None,
    observer: Callable[[int, Tensor, Tensor], None] | None = None,
    sequential_passes: int = PIE_SEQUENTIAL_PASSES,
) -> SolverResult:
    """Optimise the canvas (and the probe) against the measured diffraction.

    Parameters
    ----------
    problem : SolverProblem
        Data and physics; positions are in the frame of ``initial``.
    initial : complex Tensor of shape (H, W)
        Starting object canvas (a flat object, or the network's stitched object).
    iterations : int
        The most passes over every position (≥ 0; 0 only evaluates the likelihood).
    method : {"pie", "adam"}
        The step (see the module docstring).
    lr : float
        Adam only: the learning rate of the object.
    batch_size : int, optional
        Positions per step; default :func:`default_batch_size`.
    refine_probe : bool
        Also update the probe (PIE: the mirror step after :data:`PIE_PROBE_WARMUP`
        iterations; Adam: step size :data:`PROBE_LR_FRACTION` of the object's, relative to
        the probe's peak amplitude).
    tolerance : float
        Stop when the deviance fell by less than this fraction of itself over each of the last
        ``patience`` iterations (0: run every iteration).
    patience : int
        Consecutive small decreases that stop the run (≥ 1).
    seed : int
        Seed of the order in which positions are visited.
    device : str or torch.device
        Where the canvas lives and the arithmetic runs.
    progress : callable, optional
        Called as ``progress(iteration, mean_batch_nll)`` after every iteration.
    time_limit_s : float, optional
        Stop after the iteration during which this many seconds have passed (for comparisons
        at equal wall time); ``SolverResult.iterations`` says how many ran.
    observer : callable, optional
        Called as ``observer(iteration, canvas, probe)`` after every iteration (benchmarks
        and tests; the tensors are the live state, not copies).
    sequential_passes : int
        ``pie``: passes in which every batch moves the object at once
        (:data:`PIE_SEQUENTIAL_PASSES`, fast from a flat start); 0 takes one deterministic step
        per pass from the first, which keeps a good start (a network's object) from being
        jittered by the batches' noise (at 1e4 photons it would lose most of its SSIM).
    """
    if method not in ("pie", "adam"):
        raise ValueError(f"method must be 'pie' or 'adam', got {method!r}")
    if patience < 1:
        raise ValueError(f"patience must be >= 1, got {patience}")
    batch_size = batch_size or default_batch_size(method, problem.n_positions)
    start = time.perf_counter()
    canvas = initial.detach().to(device, torch.complex64).clone()
    probe = problem.probe.detach().to(device, torch.complex64).clone()
    nll_before = dataset_nll(problem, canvas, probe)
    floor = saturated_nll(problem)
    stopping = _Stopping(floor, tolerance, patience)
    if method == "pie":
        step = PieStep(problem, canvas, probe, refine_probe, sequential_passes)
    else:
        step = AdamStep(problem, canvas, probe, refine_probe, lr)
    generator = torch.Generator().manual_seed(seed)
    history: list[float] = []
    stopped_by: StoppedBy = "iterations"
    for iteration in range(iterations):
        if time_limit_s is not None and time.perf_counter() - start > time_limit_s:
            stopped_by = "time limit"
            break
        order = torch.randperm(problem.n_positions, generator=generator)
        running = torch.zeros((), device=device)
        for which in order.split(batch_size):
            running += step(which, iteration) * len(which)
        history.append(float(running) / problem.n_positions)  # one sync per iteration
        step.end_of_pass(rising=len(history) > 1 and history[-1] > history[-2])
        if progress is not None:
            progress(iteration + 1, history[-1])
        if observer is not None:
            observer(iteration + 1, step.canvas, step.probe)
        if stopping.converged(history[-1]):
            stopped_by = "tolerance"
            break
    canvas, probe = step.canvas.detach(), step.probe.detach()
    nll_after = dataset_nll(problem, canvas, probe)
    return SolverResult(
        canvas,
        probe,
        nll_before,
        nll_after,
        history,
        time.perf_counter() - start,
        len(history),
        stopped_by,
        method,
        floor,
        batch_size,
    )
