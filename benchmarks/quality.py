"""Reconstruction quality of the default training recipe against ground truth.

Run: ``python benchmarks/quality.py [--epochs E] [--positions M] [--precision P]``. A
simulated object (N = 64, gridsize 2, about 1000 positions, 1e6 photons per pattern) is
reconstructed the way a user would on their own scan: train on the scan, then reconstruct
the same scan. Printed beside it, scored the same way: the untrained network (each pattern's
own physics estimate, where training starts), a constant object (the floor) and, with
``--held-out``, a second scan of a different object reconstructed by the same trained network.
Target: amplitude and phase SSIM ≥ 0.90 within 15 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from scan_scores import (
    SCORE_HEADER,
    benchmark_execution,
    cell,
    quiet,
    score_cells,
    scores,
    simulated_scan,
    untrained,
)


def _row(label: str, scores: dict, seconds: float | None) -> str:
    frc = scores["frc"]["half_bit"]["resolution_px"]
    return f"{label:<28}{score_cells(scores)}{cell(frc, 9, 2)}{cell(seconds, 9, 1)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's nepochs")
    parser.add_argument("--gridsize", type=int, default=2, help="the issue's benchmark uses 2")
    parser.add_argument("--groups", type=int, default=None, help="n_groups (default: the recipe's)")
    parser.add_argument("--held-out", action="store_true", help="also reconstruct another object")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--precision", default="32-true", help="execution.precision, e.g. bf16-mixed"
    )
    args = parser.parse_args()
    from ptycho_engine.inference import reconstruct
    from ptycho_engine.metrics import constant_object_baseline
    from ptycho_engine.pinn import load_bundle
    from ptycho_engine.training import train
    from ptycho_settings import ModelConfig, TrainingConfig

    quiet()
    with tempfile.TemporaryDirectory() as folder:
        scan, data = simulated_scan(Path(folder), args.positions)
        overrides = {} if args.epochs is None else {"nepochs": args.epochs}
        if args.groups is not None:
            overrides["n_groups"] = args.groups
        config = TrainingConfig(
            model=ModelConfig(N=64, gridsize=args.gridsize),
            train_data_file=scan,
            output_dir=Path(folder) / "model",
            nphotons=1e6,
            **overrides,
        )
        execution = benchmark_execution(args.device, args.precision)
        start = time.perf_counter()
        result = train(config, execution)
        train_s = time.perf_counter() - start
        bundle = load_bundle(result.bundle_path)
        tick = time.perf_counter()
        reconstruction = reconstruct(bundle, data, execution)
        infer_s = time.perf_counter() - tick
        print(
            f"training: gridsize {config.model.gridsize}, {config.nepochs} epochs × {config.n_groups} groups, batch {config.batch_size}, "
            f"lr {config.learning_rate:g}, scheduler {config.scheduler}, precision {execution.precision}: "
            f"{train_s:.0f} s; "
            f"reconstruction {infer_s:.1f} s"
        )
        print(f"{'':<28}{SCORE_HEADER}{'FRC px':>9}{'time s':>9}")
        print(_row("PtychoPINN (train + infer)", scores(reconstruction, data), train_s + infer_s))
        baseline = constant_object_baseline(
            data.object,
            origin=reconstruction.origin,
            positions_xy=data.positions_xy,
            patch_size=data.N,
        )
        start = reconstruct(untrained(result.bundle_path), data, execution)
        print(_row("untrained (the estimate)", scores(start, data), None))
        print(_row("constant object", baseline.to_dict(), None))
        if args.held_out:
            _, other_data = simulated_scan(
                Path(folder), args.positions // 2, name="other.npz", seed=1
            )
            print(
                _row(
                    "held-out object (infer only)",
                    scores(reconstruct(bundle, other_data, execution), other_data),
                    None,
                )
            )


if __name__ == "__main__":
    main()
