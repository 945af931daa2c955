"""What the quality benchmarks share: the simulated scan, quiet Lightning, a run's execution
settings, scores against the truth and their table cells, and the untrained network. Imported
by ``quality.py`` and ``iterative.py`` (run as scripts from any directory: Python puts this
folder on the path).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

SCAN = dict(n=64, nphotons=1e6)
"""The benchmark scan: simulated lines object, N = 64, 1e6 photons per pattern."""


def quiet() -> None:
    """Silence warnings and Lightning's banner, so only the tables print (call after importing
    Lightning, which sets its own log level on import).
    """
    warnings.filterwarnings("ignore")
    import lightning  # noqa: F401

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)


def simulated_scan(folder: Path, positions: int, *, name: str = "scan.npz", seed: int = 0):
    """Write a benchmark scan to ``folder/name`` (seed 0: the benchmarks' scan; another seed
    draws another object); return (path, DiffractionData).
    """
    from ptycho_engine.data.npz import load_diffraction
    from ptycho_engine.data.simulate import simulate_to_files

    path = Path(folder) / name
    simulate_to_files(path, n_positions=positions, seed=seed, **SCAN)
    return path, load_diffraction(path)


def benchmark_execution(device: str, precision: str = "32-true"):
    """Execution settings of a benchmark run: no progress bar, logger or checkpoints; seed 0."""
    from ptycho_settings import PyTorchExecutionConfig

    return PyTorchExecutionConfig.from_values(
        {
            "accelerator": device,
            "enable_progress_bar": False,
            "logger": "none",
            "enable_checkpointing": False,
            "seed": 0,
            "precision": precision,
        }
    )


def scores(reconstruction, data) -> dict:
    """``metrics.json``-style scores of a reconstruction against the scan's truth."""
    from ptycho_engine.metrics import evaluate_reconstruction

    return evaluate_reconstruction(
        reconstruction.object,
        data.object,
        origin=reconstruction.origin,
        positions_xy=data.positions_xy,
        patch_size=data.N,
    ).to_dict()


SCORE_HEADER = f"{'amp SSIM':>9}{'ph SSIM':>9}{'amp PSNR':>10}{'ph PSNR':>10}"
"""Column titles of :func:`score_cells`."""


def score_cells(scores: dict) -> str:
    """Amplitude and phase SSIM and PSNR of a ``scores`` dict, as table cells."""
    amp, phase = scores["amplitude"], scores["phase"]
    return (
        f"{amp['ssim']:>9.3f}{phase['ssim']:>9.3f}{amp['psnr_db']:>10.2f}{phase['psnr_db']:>10.2f}"
    )


def cell(value: float | None, width: int, digits: int) -> str:
    """A right-aligned number, or a dash where there is none."""
    return f"{value:{width}.{digits}f}" if value is not None else f"{'—':>{width}}"


def untrained(bundle_path):
    """The bundle's network before training: it returns each pattern's own physics estimate
    (what the network starts from), stitched like any reconstruction.
    """
    import torch

    from ptycho_engine.pinn import load_bundle

    bundle = load_bundle(bundle_path)
    torch.manual_seed(0)
    generator = type(bundle.module.generator).from_config(bundle.model, probe=bundle.module.probe)
    bundle.module.generator = generator.eval()
    return bundle
