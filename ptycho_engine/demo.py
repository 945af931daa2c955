"""The demo: simulate a small scan, train on it, reconstruct it, score it against the truth.

As with any ptychographic reconstruction, the network is fitted (self-supervised, through the
physics) to the very scan it then reconstructs; no ground truth is used until the scoring.

Everything goes through the public API (``simulate_to_files``, ``train``, ``load_bundle``,
``reconstruct``, ``write_outputs``), so the demo is also an end-to-end check of the product.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.data.simulate import simulate_to_files
from ptycho_engine.errors import EngineError
from ptycho_engine.inference import reconstruct
from ptycho_engine.metrics import constant_object_baseline
from ptycho_engine.outputs import check_output_dir, write_outputs
from ptycho_engine.pinn import load_bundle
from ptycho_engine.training import train
from ptycho_settings import ModelConfig, PyTorchExecutionConfig, TrainingConfig

DEMO_SIMULATION = dict(
    n=64,
    n_positions=256,
    nphotons=1e6,
    seed=0,
    object_source="lines",
    probe_source="disk",
    scan="grid-jitter",
)
DEMO_EPOCHS = 16
DEMO_GROUPS = 256


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote things, its timings, and the scores of the reconstructed scan (the
    one it trained on, as in any ptychographic reconstruction) beside a constant object.
    """

    output_dir: Path
    timings: dict[str, float]
    metrics: dict | None
    baseline: dict
    files: dict[str, Path]


def demo_settings(output_dir: Path) -> dict:
    """Return the demo's training settings by section: gridsize 2 (neighbouring patches tied
    through their overlap), a narrow network and 256 steps, so that it learns within a minute
    on two CPU cores (about 35 s, amplitude / phase SSIM 0.869 / 0.925 on 2026-11-30).

    ``ptycho demo`` resolves them as defaults below the environment, so ``PTYCHO_NEPOCHS`` (a
    container's variables) shortens the demo like any other run.
    """
    return {
        "model": {"N": 64, "gridsize": 2, "n_filters_scale": 1},
        "training": {
            "train_data_file": output_dir / "simulated.npz",
            "output_dir": output_dir / "model",
            "nphotons": DEMO_SIMULATION["nphotons"],
            "nepochs": DEMO_EPOCHS,
            "batch_size": 16,
            "n_groups": DEMO_GROUPS,
        },
    }


def demo_training_config(output_dir: Path) -> TrainingConfig:
    """The demo's training settings alone (:func:`demo_settings`, no other source)."""
    settings = demo_settings(output_dir)
    return TrainingConfig(model=ModelConfig(**settings["model"]), **settings["training"])


def run_demo(
    output_dir: Path,
    *,
    overwrite: bool = False,
    execution: PyTorchExecutionConfig | None = None,
    training: TrainingConfig | None = None,
) -> DemoResult:
    """Run the whole demo under ``output_dir`` and return its result.

    ``training`` defaults to :func:`demo_training_config`; its data file and output folder
    must be the demo's own (``output_dir/simulated.npz``, ``output_dir/model``).
    """
    reconstruction_dir = output_dir / "reconstruction"
    check_output_dir(reconstruction_dir, overwrite=overwrite)
    output_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    data_file = output_dir / "simulated.npz"
    simulate_to_files(data_file, overwrite=overwrite, **DEMO_SIMULATION)
    timings["simulate_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    config = training or demo_training_config(output_dir)
    if Path(config.train_data_file) != data_file or Path(config.output_dir) != output_dir / "model":
        raise EngineError(
            "the demo trains on its own simulated.npz into its own model folder; leave "
            "train_data_file and output_dir unset and choose the folder with --output-dir"
        )
    execution = execution or PyTorchExecutionConfig.defaults()
    trained = train(config, execution, overwrite=overwrite)
    timings["train_s"] = time.perf_counter() - tick
    if trained.bundle_path is None:
        raise EngineError("the demo runs in one process; unset PTYCHO_DEVICES/PTYCHO_STRATEGY")

    tick = time.perf_counter()
    scan = load_diffraction(data_file)
    reconstruction = reconstruct(load_bundle(trained.bundle_path), scan, execution)
    written = write_outputs(reconstruction, scan, reconstruction_dir, overwrite=overwrite)
    timings["reconstruct_s"] = time.perf_counter() - tick
    baseline = constant_object_baseline(
        scan.object, origin=reconstruction.origin, positions_xy=scan.positions_xy, patch_size=scan.N
    ).to_dict()
    files = {
        "data": data_file,
        "model bundle": trained.bundle_path,
        "loss curve": trained.loss_curve_path,
        **written.files,
    }
    return DemoResult(
        output_dir,
        timings,
        written.metrics,
        baseline,
        {k: v for k, v in files.items() if v is not None},
    )


def summary_table(result: DemoResult) -> str:
    """Return the demo's summary: scores beside the constant-object baseline, and timings."""
    lines = [f"{'':<22}{'PtychoPINN':>12}{'constant object':>18}"]
    metrics = result.metrics or {}
    for part in ("amplitude", "phase"):
        for score, label in (("ssim", "SSIM"), ("psnr_db", "PSNR (dB)")):
            ours = metrics.get(part, {}).get(score)
            base = result.baseline.get(part, {}).get(score)
            lines.append(f"{part + ' ' + label:<22}{_number(ours):>12}{_number(base):>18}")
    frc = metrics.get("frc", {}).get("half_bit", {})
    if frc:
        lines.append(f"{'FRC half-bit (px)':<22}{_number(frc.get('resolution_px')):>12}")
    lines.append("")
    lines += [
        f"{name.replace('_s', '') + ' time (s)':<22}{seconds:>12.1f}"
        for name, seconds in result.timings.items()
    ]
    return "\n".join(lines)


def _number(value) -> str:
    return "—" if value is None else f"{value:.3f}"
