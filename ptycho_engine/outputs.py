"""Write a reconstruction's results: ``reconstruction.npz``, figures and ``metrics.json``.

Every file is written atomically; an existing reconstruction is never replaced unless asked.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ptycho_engine.atomic import atomic_write_bytes
from ptycho_engine.data.npz import DiffractionData
from ptycho_engine.errors import EngineError
from ptycho_engine.reconstruction import Reconstruction

RESULT_NAME = "reconstruction.npz"
SOLVER_REPORT_NAME = "solver.json"
SOLVER_CURVE_NAME = "solver_nll.png"
COVERAGE_NAME = "coverage.png"
OPTIONAL_NAMES = (
    COVERAGE_NAME,
    "metrics.json",
    "comparison.png",
    "frc.png",
    SOLVER_REPORT_NAME,
    SOLVER_CURVE_NAME,
)
"""Outputs only some runs write (ground truth, the iterative solver). Replacing a result with
``overwrite`` removes those this run did not write, so no file describes an older result."""


@dataclass(frozen=True)
class WrittenOutputs:
    """Paths of what was written, and the metrics when ground truth existed."""

    files: dict[str, Path]
    metrics: dict[str, Any] | None = field(default=None)


def check_output_dir(output_dir: Path, *, overwrite: bool) -> None:
    """Refuse to replace an earlier reconstruction unless ``overwrite``."""
    if (output_dir / RESULT_NAME).exists() and not overwrite:
        raise EngineError(
            f"{output_dir / RESULT_NAME} exists; pass --overwrite to replace it "
            "or choose another --output-dir"
        )


def write_outputs(
    reconstruction: Reconstruction,
    data: DiffractionData,
    output_dir: Path,
    *,
    phase_vmin: float | None = None,
    phase_vmax: float | None = None,
    overwrite: bool = False,
    extra_metrics: dict[str, Any] | None = None,
    also_written: Iterable[Path] = (),
) -> WrittenOutputs:
    """Write the object, its figures and, when ``data.object`` exists, the metrics.

    ``also_written`` names files the caller wrote into ``output_dir`` for this result (the
    solver's report); other :data:`OPTIONAL_NAMES` left by an earlier result are removed.
    """
    # matplotlib only when figures are drawn
    from ptycho_engine.metrics.figures import (
        coverage_counts,
        save_amplitude_png,
        save_coverage_png,
        save_phase_png,
    )

    check_output_dir(output_dir, overwrite=overwrite)
    output_dir.mkdir(parents=True, exist_ok=True)
    obj = reconstruction.object
    files = {
        "reconstruction": output_dir / RESULT_NAME,
        "amplitude": output_dir / "amplitude.png",
        "phase": output_dir / "phase.png",
    }
    weights = reconstruction.weights
    save_amplitude_png(files["amplitude"], obj, title="reconstructed amplitude", weights=weights)
    save_phase_png(files["phase"], obj, phase_vmin, phase_vmax, title="phase", weights=weights)
    metrics = None
    if data.object is not None:
        metrics, figures = _evaluate(reconstruction, data, output_dir, extra_metrics)
        files.update(figures)
    else:  # no truth to compare with: show where the data constrain the object
        files["coverage"] = output_dir / COVERAGE_NAME
        counts = coverage_counts(obj.shape, reconstruction.origin, data.positions_xy, data.N)
        save_coverage_png(files["coverage"], counts)
    _remove_stale(output_dir, {path.name for path in (*files.values(), *also_written)})
    _write_npz(files["reconstruction"], reconstruction)  # last: its presence means "complete"
    return WrittenOutputs(files, metrics)


def _remove_stale(output_dir: Path, written: set[str]) -> None:
    for name in OPTIONAL_NAMES:
        if name not in written:
            (output_dir / name).unlink(missing_ok=True)


def _evaluate(reconstruction, data, output_dir, extra_metrics):
    # scikit-image and matplotlib only when there is ground truth to score against
    from ptycho_engine.metrics import evaluate_reconstruction
    from ptycho_engine.metrics.figures import save_comparison_figure, save_frc_figure

    result = evaluate_reconstruction(
        reconstruction.object,
        data.object,
        origin=reconstruction.origin,
        positions_xy=data.positions_xy,
        patch_size=data.N,
    )
    metrics = {**result.to_dict(), **(extra_metrics or {})}
    figures = {
        "comparison": output_dir / "comparison.png",
        "frc": output_dir / "frc.png",
        "metrics": output_dir / "metrics.json",
    }
    save_comparison_figure(figures["comparison"], result)
    save_frc_figure(figures["frc"], result)
    text = json.dumps(metrics, indent=2, default=_json_default) + "\n"
    atomic_write_bytes(figures["metrics"], text.encode(), overwrite=True)
    return metrics, figures


def _write_npz(path: Path, reconstruction: Reconstruction) -> None:
    obj = reconstruction.object.astype(np.complex64)
    arrays = dict(
        object=obj,
        amplitude=np.abs(obj).astype(np.float32),
        phase=np.angle(obj).astype(np.float32),
        xcoords=reconstruction.xcoords,
        ycoords=reconstruction.ycoords,
        origin=np.asarray(reconstruction.origin, np.float64),
        weights=reconstruction.weights.astype(np.float32),
    )
    if reconstruction.probe is not None:  # refined by the iterative solver
        arrays["probe"] = reconstruction.probe.astype(np.complex64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue(), overwrite=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
