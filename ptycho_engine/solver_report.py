"""What the iterative solver reports next to its reconstruction: ``solver.json`` and a curve.

``solver.json`` records the settings it ran with, the likelihood before and after, the time,
and the NLL of every iteration; ``solver_nll.png`` plots that history. Both are written
atomically, before ``reconstruction.npz`` (whose presence marks a complete output).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ptycho_engine.atomic import atomic_output, atomic_write_bytes
from ptycho_engine.solver import SolverResult

REPORT_NAME = "solver.json"
CURVE_NAME = "solver_nll.png"


def solver_summary(result: SolverResult, settings: Any, *, start: str) -> dict[str, Any]:
    """Return the JSON-ready record of one solver run (``settings``: ``SolverSettings``)."""
    return {
        "start": start,
        "iterations": result.iterations,
        "lr": settings.lr,
        "batch_size": settings.batch_size,
        "refine_probe": settings.refine_probe,
        "seconds": round(result.seconds, 3),
        "nll_before": result.nll_before,
        "nll_after": result.nll_after,
        "nll_per_iteration": result.history,
    }


def solver_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The solver's entry of ``metrics.json``: the summary without the per-iteration history."""
    return {key: value for key, value in summary.items() if key != "nll_per_iteration"}


def write_solver_report(output_dir: Path, summary: dict[str, Any]) -> dict[str, Path]:
    """Write ``solver.json`` and, with at least one iteration, ``solver_nll.png``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    files = {"solver report": output_dir / REPORT_NAME}
    text = json.dumps(summary, indent=2) + "\n"
    atomic_write_bytes(files["solver report"], text.encode(), overwrite=True)
    history = summary["nll_per_iteration"]
    if history:
        files["solver curve"] = _plot(output_dir / CURVE_NAME, history, summary["start"])
    return files


def _plot(path: Path, history: list[float], start: str) -> Path:
    from matplotlib.figure import Figure

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
