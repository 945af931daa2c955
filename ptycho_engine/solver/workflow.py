"""The iterative solver as a workflow: refine a network's reconstruction, or start flat.

``refine_reconstruction`` is the Python twin of ``ptycho infer --refine-iterations K``;
``reconstruct_iteratively`` of ``ptycho reconstruct``. Both set up a
:class:`~ptycho_engine.solver.SolverProblem` in the units of the training physics and hand it
to :func:`~ptycho_engine.solver.solve`; see that module for the method.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from ptycho_engine.data.npz import DiffractionData, read_npz
from ptycho_engine.errors import EngineError
from ptycho_engine.physics.canvas import RELATIVE_WEIGHT_FLOOR, Stitcher, canvas_frame
from ptycho_engine.physics.probe import probe_weight
from ptycho_engine.physics.scaling import (
    flat_log_scale,
    input_normalisation,
    nphotons_from_amplitude,
    photon_scale,
)
from ptycho_engine.pinn import LoadedBundle, model_probe
from ptycho_engine.reconstruction import Reconstruction
from ptycho_engine.solver.solve import (
    PIE_SEQUENTIAL_PASSES,
    SolverProblem,
    SolverResult,
    flat_canvas,
    place_initial,
    solve,
)
from ptycho_settings import ReconstructionConfig, SolverConfig


def refine_reconstruction(
    bundle: LoadedBundle,
    data: DiffractionData,
    reconstruction: Reconstruction,
    solver: SolverConfig,
    *,
    iterations: int,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
    time_limit_s: float | None = None,
    probe: torch.Tensor | None = None,
) -> tuple[Reconstruction, SolverResult]:
    """Optimise the network's stitched object against every measured pattern of ``data``.

    The physics is the bundle's own: its probe, photon scale S and log-scale δ, with the data
    normalised by the α the network saw (``reconstruction.input_scale``). ``solver`` is the
    run's ``InferenceConfig`` (a ``SolverConfig``: method, batch, probe, stopping rule),
    ``iterations`` its ``refine_iterations``, the most that run (see
    :func:`~ptycho_engine.solver.solve` for when fewer do). ``probe`` replaces the bundle's
    probe in the physics: the data's own, normalised as training normalises it
    (``ptycho infer --probe data``, :func:`ptycho_engine.inference.choose_probe`).
    """
    module = bundle.module
    origin, shape = canvas_frame(data.positions_xy, data.N)
    initial = place_initial(reconstruction.object, reconstruction.origin, shape, origin, fill=0.0)
    problem = _problem(
        data,
        origin,
        (module.probe if probe is None else probe).detach().cpu(),
        reconstruction.input_scale,
        module.photon_scale,
        float(module.log_scale.detach()),
        bundle.model.gaussian_smoothing_sigma,
    )
    q = float(bundle.scaling.get("probe_normalisation") or 1.0)
    run = _Run(solver, iterations, seed, time_limit_s, device, progress, good_start=True)
    refined, result = _run(problem, initial, data, origin, run, "refining", q)
    timings = dict(reconstruction.timings)
    timings["refine_s"] = refined.timings["total_s"]  # "total_s" stays the network's
    return replace(refined, timings=timings, n_groups=reconstruction.n_groups), result


def reconstruct_iteratively(
    data: DiffractionData,
    config: ReconstructionConfig,
    *,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
    time_limit_s: float | None = None,
) -> tuple[Reconstruction, SolverResult]:
    """Reconstruct ``data`` with the solver alone, from a flat object or ``config.init``.

    The probe is the data's ``probeGuess``, normalised as for training; δ is chosen so that a
    flat object of amplitude 1 reproduces the mean measured energy. ``config.iterations`` is a
    maximum: ``config.refine_tolerance`` and ``time_limit_s`` stop earlier (see
    :func:`ptycho_engine.solver.solve`; ``SolverResult.stopped_by`` says which did).
    """
    if data.N != config.model.N:
        raise EngineError(
            f"{data.source}: patterns are {data.N}×{data.N} but model.N is {config.model.N}"
        )
    probe, q = model_probe(data.probe, config.model)
    nphotons = config.nphotons or nphotons_from_amplitude(data.diffraction)
    origin, shape = canvas_frame(data.positions_xy, data.N)
    if config.init == "flat":
        initial = flat_canvas(shape)
    else:
        obj, init_origin = load_initial_object(config.init)
        initial = place_initial(obj, init_origin, shape, origin, fill=1.0)
    problem = _problem(
        data,
        origin,
        probe,
        input_normalisation(data.diffraction),
        photon_scale(nphotons, data.N),
        flat_log_scale(probe, data.N),
        config.model.gaussian_smoothing_sigma,
    )
    run = _Run(config, config.iterations, seed, time_limit_s, device, progress,
               good_start=config.init != "flat")  # fmt: skip
    return _run(problem, initial, data, origin, run, "solving", q)


def load_initial_object(path) -> tuple[np.ndarray, tuple[float, float]]:
    """Read ``object`` and ``origin`` from a ``reconstruction.npz`` (never unpickling)."""
    arrays = read_npz(path)
    missing = [key for key in ("object", "origin") if key not in arrays]
    if missing:
        raise EngineError(
            f"{path}: an initial object needs the keys object and origin of a "
            f"reconstruction.npz; missing {', '.join(missing)}"
        )
    obj, origin = np.asarray(arrays["object"]), np.asarray(arrays["origin"], dtype=np.float64)
    if obj.ndim != 2 or origin.shape != (2,) or not np.all(np.isfinite(origin)):
        raise EngineError(
            f"{path}: `object` must be 2-D and `origin` two finite numbers; got "
            f"shapes {obj.shape} and {origin.shape}"
        )
    if not np.all(np.isfinite(obj)):
        raise EngineError(f"{path}: `object` holds NaN or infinite values")
    return obj.astype(np.complex64), (float(origin[0]), float(origin[1]))


def _problem(data, origin, probe, input_scale, scale, log_scale, sigma) -> SolverProblem:
    local = data.positions_xy - np.asarray(origin)  # (M, 2) canvas pixels
    return SolverProblem(
        diffraction=torch.from_numpy(data.diffraction),  # scaled batch by batch below
        positions=torch.from_numpy(local).float(),
        probe=probe.to(torch.complex64),
        photon_scale=float(scale),
        log_scale=float(log_scale),
        smoothing_sigma_px=float(sigma),
        input_scale=float(input_scale),
    )


@dataclass(frozen=True)
class _Run:
    """One call's solver settings and the values that are not settings (passes, seed, where)."""

    solver: SolverConfig
    iterations: int
    seed: int
    time_limit_s: float | None
    device: str
    progress: bool
    good_start: bool = False
    """The start is already a reconstruction (a network's, or ``--init``): PIE then steps
    deterministically from the first pass instead of batch by batch (``solve``'s
    ``sequential_passes``), which would jitter it with the batches' noise."""


def _run(problem, initial, data, origin, run: _Run, label, probe_normalisation):
    start = time.perf_counter()
    bar = _progress_bar(run.iterations, label) if run.progress else None

    def report(iteration: int, nll: float) -> None:
        bar.update(1)
        bar.set_postfix(nll=f"{nll:.4g}")

    solver = run.solver
    result = solve(
        problem,
        initial,
        iterations=run.iterations,
        method=solver.refine_method,
        lr=solver.refine_lr,
        batch_size=solver.refine_batch_size,
        refine_probe=solver.refine_probe,
        tolerance=solver.refine_tolerance,
        patience=solver.refine_patience,
        seed=run.seed,
        device=run.device,
        progress=report if bar else None,
        time_limit_s=run.time_limit_s,
        sequential_passes=0 if run.good_start else PIE_SEQUENTIAL_PASSES,
    )
    if bar is not None:
        bar.close()  # stopping early leaves the bar short of its maximum: that is the news
    weights = illumination(problem, result.probe, initial.shape, run.device)
    covered = weights > RELATIVE_WEIGHT_FLOOR * float(weights.max())
    obj = torch.where(covered, result.object, torch.zeros_like(result.object))
    # the refined probe on the data's scale (as probeGuess), undoing the physics' normalisation
    probe = result.probe.cpu().numpy() / probe_normalisation if solver.refine_probe else None
    reconstruction = Reconstruction(
        obj.cpu().numpy(),
        origin,
        data.xcoords.copy(),
        data.ycoords.copy(),
        weights.cpu().numpy(),
        {"solve_s": result.seconds, "total_s": time.perf_counter() - start},
        input_scale=problem.input_scale,
        probe=probe,
    )
    return reconstruction, result


def illumination(problem: SolverProblem, probe: torch.Tensor, shape, device, batch: int = 1024):
    """Summed probe intensity (normalised to peak 1) at every canvas pixel, (H, W)."""
    stitcher = Stitcher(tuple(shape), (0.0, 0.0), probe_weight(probe.to(device)))
    ones = torch.ones(1, problem.n, problem.n, dtype=torch.complex64, device=device)
    for which in torch.arange(problem.n_positions).split(batch):
        stitcher.add(ones.expand(len(which), -1, -1), problem.positions[which].to(device))
    return stitcher.weights


def _progress_bar(total: int, label: str):
    from tqdm.auto import tqdm  # tqdm only when a bar is shown

    return tqdm(total=total, desc=label, unit="it", leave=False)
