"""What the iterative solver writes: ``solver.json``, its curve, then the reconstruction's files.

``solver.json`` records the settings it ran with, the likelihood before and after (and that
of a perfect fit, ``nll_floor``), the iterations run and what stopped them (``stopped_by``:
``iterations``, ``tolerance`` or ``time limit``), the time, and the NLL of every iteration; ``solver_nll.png`` plots that history. Both are written
atomically, before ``reconstruction.npz`` (whose presence marks a complete output), by
:func:`write_solver_outputs`, the one sequence ``ptycho infer --refine-iterations`` and
``ptycho reconstruct`` share.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ptycho_engine.atomic import atomic_output, atomic_write_bytes
from ptycho_engine.data.npz import DiffractionData
from ptycho_engine.outputs import (
    SOLVER_CURVE_NAME,
    SOLVER_REPORT_NAME,
    WrittenOutputs,
    write_outputs,
)
from ptycho_engine.reconstruction import Reconstruction
from ptycho_engine.solver.solve import SolverResult
from ptycho_settings import SolverConfig


def write_solver_outputs(
    reconstruction: Reconstruction,
    result: SolverResult,
    data: DiffractionData,
    solver: SolverConfig,
    output_dir: Path,
    *,
    start: str,
    phase_vmin: float | None = None,
    phase_vmax: float | None = None,
    overwrite: bool = False,
    extra_metrics: dict[str, Any] | None = None,
) -> WrittenOutputs:
    """Write the solver's report, then the reconstruction's files with the solver's record in
    ``metrics.json``; the returned files include the report's.

    ``start`` names where the solver began (``flat``, ``network``, an initial file);
    ``extra_metrics`` are further entries of ``metrics.json`` (the network-only scores).
    """
    summary = solver_summary(result, solver, start=start)
    report = write_solver_report(output_dir, summary)
    written = write_outputs(
        reconstruction,
        data,
        output_dir,
        phase_vmin=phase_vmin,
        phase_vmax=phase_vmax,
        overwrite=overwrite,
        extra_metrics={**(extra_metrics or {}), "solver": solver_metrics(summary)},
        also_written=report.values(),
    )
    return WrittenOutputs({**written.files, **report}, written.metrics)


def solver_summary(result: SolverResult, solver: SolverConfig, *, start: str) -> dict[str, Any]:
    """Return the JSON-ready record of one solver run."""
    return {
        "start": start,
        "method": result.method,
        "iterations": result.iterations,
        "stopped_by": result.stopped_by,
        "tolerance": solver.refine_tolerance,
        "patience": solver.refine_patience,
        "lr": solver.refine_lr,
        "batch_size": result.batch_size,
        "refine_probe": solver.refine_probe,
        "seconds": round(result.seconds, 3),
        "nll_before": result.nll_before,
        "nll_after": result.nll_after,
        "nll_floor": result.nll_floor,
        "nll_per_iteration": result.history,
    }


def solver_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The solver's entry of ``metrics.json``: the summary without the per-iteration history."""
    return {key: value for key, value in summary.items() if key != "nll_per_iteration"}


def write_solver_report(output_dir: Path, summary: dict[str, Any]) -> dict[str, Path]:
    """Write ``solver.json`` and, with at least one iteration, ``solver_nll.png``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    files = {"solver report": output_dir / SOLVER_REPORT_NAME}
    text = json.dumps(summary, indent=2) + "\n"
    atomic_write_bytes(files["solver report"], text.encode(), overwrite=True)
    history = summary["nll_per_iteration"]
    if history:
        files["solver curve"] = _plot(output_dir / SOLVER_CURVE_NAME, history, summary["start"])
    return files


def _plot(path: Path, history: list[float], start: str) -> Path:
    from matplotlib.figure import Figure  # matplotlib only when a curve is drawn

    figure = Figure(figsize=(6, 4), dpi=100)
    axes = figure.add_subplot()
    axes.plot(range(1, len(history) + 1), history, marker="o", markersize=3)
    axes.set_xlabel("iteration (one pass over every position)")
    axes.set_ylabel("Poisson NLL, mean per pixel (no log k! term)")
    axes.set_title(f"iterative solver from {start}")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_output(path, overwrite=True) as temporary:
        figure.savefig(temporary, format="png")
    return path
