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

from ptycho_engine.data.npz import DiffractionData
from ptycho_engine.errors import EngineError
from ptycho_engine.infer import LoadedBundle, Reconstruction
from ptycho_engine.physics.probe import probe_weight
from ptycho_engine.physics.scaling import input_normalisation, nphotons_from_amplitude, photon_scale
from ptycho_engine.solver import (
    SolverProblem,
    SolverResult,
    flat_canvas,
    flat_log_scale,
    place_initial,
    solve,
)
from ptycho_engine.stitch import RELATIVE_WEIGHT_FLOOR, Stitcher, canvas_frame
from ptycho_settings import InferenceConfig, ReconstructionConfig


@dataclass(frozen=True)
class SolverSettings:
    """How the solver steps (the ``refine_*`` settings, and the number of passes)."""

    iterations: int
    lr: float
    batch_size: int
    refine_probe: bool = False
    seed: int = 0
    time_limit_s: float | None = None

    @classmethod
    def from_config(
        cls,
        config: InferenceConfig | ReconstructionConfig,
        *,
        seed: int,
        time_limit_s: float | None = None,
    ) -> SolverSettings:
        """The solver settings of ``ptycho infer`` (``refine_iterations``) or ``ptycho
        reconstruct`` (``iterations``).
        """
        iterations = (
            config.refine_iterations if isinstance(config, InferenceConfig) else config.iterations
        )
        return cls(
            iterations,
            config.refine_lr,
            config.refine_batch_size,
            config.refine_probe,
            seed,
            time_limit_s,
        )


def refine_reconstruction(
    bundle: LoadedBundle,
    data: DiffractionData,
    reconstruction: Reconstruction,
    settings: SolverSettings,
    *,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[Reconstruction, SolverResult]:
    """Optimise the network's stitched object against every measured pattern of ``data``.

    The physics is the bundle's own: its probe, photon scale S and log-scale δ, with the data
    normalised by the α the network saw (``reconstruction.input_scale``).
    """
    module = bundle.module
    origin, shape = canvas_frame(data.positions_xy, data.N)
    initial = place_initial(reconstruction.object, reconstruction.origin, shape, origin, fill=0.0)
    problem = _problem(
        data,
        origin,
        module.probe.detach().cpu(),
        reconstruction.input_scale,
        module.photon_scale,
        float(module.log_scale.detach()),
        bundle.model.gaussian_smoothing_sigma,
    )
    q = float(bundle.scaling.get("probe_normalisation") or 1.0)
    refined, result = _run(
        problem, initial, data, origin, settings, device, progress, "refining", q
    )
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
    flat object of amplitude 1 reproduces the mean measured energy. ``time_limit_s`` stops
    early (see :func:`ptycho_engine.solver.solve`).
    """
    from ptycho_engine.train import prepare_probe

    if data.N != config.model.N:
        raise EngineError(
            f"{data.source}: patterns are {data.N}×{data.N} but model.N is {config.model.N}"
        )
    probe, q = prepare_probe(data.probe, config)
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
    settings = SolverSettings.from_config(config, seed=seed, time_limit_s=time_limit_s)
    return _run(problem, initial, data, origin, settings, device, progress, "solving", q)


def load_initial_object(path) -> tuple[np.ndarray, tuple[float, float]]:
    """Read ``object`` and ``origin`` from a ``reconstruction.npz`` (never unpickling)."""
    from ptycho_engine.data.npz import read_npz

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


def _run(problem, initial, data, origin, settings, device, progress, label, probe_normalisation):
    start = time.perf_counter()
    bar = _progress_bar(settings.iterations, label) if progress else None

    def report(iteration: int, nll: float) -> None:
        bar.update(1)
        bar.set_postfix(nll=f"{nll:.4g}")

    result = solve(
        problem,
        initial,
        iterations=settings.iterations,
        lr=settings.lr,
        batch_size=settings.batch_size,
        refine_probe=settings.refine_probe,
        seed=settings.seed,
        device=device,
        progress=report if bar else None,
        time_limit_s=settings.time_limit_s,
    )
    if bar is not None:
        bar.close()
    weights = illumination(problem, result.probe, initial.shape, device)
    covered = weights > RELATIVE_WEIGHT_FLOOR * float(weights.max())
    obj = torch.where(covered, result.object, torch.zeros_like(result.object))
    reconstruction = Reconstruction(
        obj.cpu().numpy(),
        origin,
        data.xcoords.copy(),
        data.ycoords.copy(),
        weights.cpu().numpy(),
        {"solve_s": result.seconds, "total_s": time.perf_counter() - start},
        input_scale=problem.input_scale,
        # on the data's scale (as probeGuess), undoing the normalisation the physics uses
        probe=(result.probe.cpu().numpy() / probe_normalisation) if settings.refine_probe else None,
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
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="it", leave=False)
