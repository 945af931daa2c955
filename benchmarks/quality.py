"""Reconstruction quality of the default training recipe against ground truth.

Run: ``python benchmarks/quality.py [--epochs E] [--positions M]``. A simulated object
(N = 64, gridsize 2, about 1000 positions, 1e6 photons per pattern) is reconstructed the way
a user would on their own scan: train on the scan, then reconstruct the same scan. Printed
beside it, scored the same way: a constant object (the floor) and, with ``--held-out``, a
second scan of a different object reconstructed by the same trained network.
Target: amplitude and phase SSIM ≥ 0.90 within 15 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path


def _scores(reconstruction, data) -> dict:
    from ptycho_engine.metrics import evaluate_reconstruction

    return evaluate_reconstruction(reconstruction.object, data.object, origin=reconstruction.origin,
                                   positions_xy=data.positions_xy, patch_size=data.N).to_dict()


def _row(label: str, scores: dict, seconds: float | None) -> str:
    amp, phase = scores["amplitude"], scores["phase"]
    frc = scores["frc"]["half_bit"]["resolution_px"]
    time_text = f"{seconds:9.1f}" if seconds is not None else f"{'—':>9}"
    return (f"{label:<28}{amp['ssim']:>9.3f}{phase['ssim']:>9.3f}{amp['psnr_db']:>10.2f}"
            f"{phase['psnr_db']:>10.2f}{frc:>9.2f}{time_text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's nepochs")
    parser.add_argument("--gridsize", type=int, default=2, help="the issue's benchmark uses 2")
    parser.add_argument("--groups", type=int, default=None, help="n_groups (default: the recipe's)")
    parser.add_argument("--held-out", action="store_true", help="also reconstruct another object")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from ptycho_engine.data.npz import load_diffraction
    from ptycho_engine.data.simulate import simulate_to_files
    from ptycho_engine.infer import load_bundle, reconstruct
    from ptycho_engine.metrics import constant_object_baseline
    from ptycho_engine.train import train
    from ptycho_settings import ModelConfig, PyTorchExecutionConfig, TrainingConfig

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        # after importing Lightning, which sets its own level; keeps the table readable
        logging.getLogger(name).setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory() as folder:
        scan = Path(folder) / "scan.npz"
        simulate_to_files(scan, n=64, n_positions=args.positions, nphotons=1e6, seed=0)
        data = load_diffraction(scan)
        overrides = {} if args.epochs is None else {"nepochs": args.epochs}
        if args.groups is not None:
            overrides["n_groups"] = args.groups
        config = TrainingConfig(model=ModelConfig(N=64, gridsize=args.gridsize), train_data_file=scan,
                                output_dir=Path(folder) / "model", nphotons=1e6, **overrides)
        execution = PyTorchExecutionConfig.from_values({
            "accelerator": args.device, "enable_progress_bar": False, "logger": "none",
            "enable_checkpointing": False, "seed": 0})
        start = time.perf_counter()
        result = train(config, execution)
        train_s = time.perf_counter() - start
        bundle = load_bundle(result.bundle_path)
        tick = time.perf_counter()
        reconstruction = reconstruct(bundle, data, execution)
        infer_s = time.perf_counter() - tick
        print(f"training: gridsize {config.model.gridsize}, {config.nepochs} epochs × {config.n_groups} groups, batch {config.batch_size}, "
              f"lr {config.learning_rate:g}, scheduler {config.scheduler}: {train_s:.0f} s; "
              f"reconstruction {infer_s:.1f} s")
        print(f"{'':<28}{'amp SSIM':>9}{'ph SSIM':>9}{'amp PSNR':>10}{'ph PSNR':>10}{'FRC px':>9}{'time s':>9}")
        print(_row("PtychoPINN (train + infer)", _scores(reconstruction, data), train_s + infer_s))
        baseline = constant_object_baseline(data.object, origin=reconstruction.origin,
                                            positions_xy=data.positions_xy, patch_size=data.N)
        print(_row("constant object", baseline.to_dict(), None))
        if args.held_out:
            other = Path(folder) / "other.npz"
            simulate_to_files(other, n=64, n_positions=args.positions // 2, nphotons=1e6, seed=1)
            other_data = load_diffraction(other)
            print(_row("held-out object (infer only)", _scores(reconstruct(bundle, other_data, execution), other_data), None))


if __name__ == "__main__":
    main()
