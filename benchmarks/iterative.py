"""The network against the iterative solver on the same physics, side by side in one run.

Run: ``python benchmarks/iterative.py [--positions M] [--epochs E] [--refine-iterations K]``.
One simulated scan (N = 64, gridsize 2 for the network, 1e6 photons per pattern, ground truth)
is reconstructed four ways, each scored against the truth the same way (``metrics.json``):

1. network only: train PtychoPINN for E epochs, then infer;
2. network + K refinement iterations (``ptycho infer --refine-iterations K``);
3. the solver from a flat start for the same wall time as (2) (``ptycho reconstruct``);
4. the solver from a flat start for K iterations;

beside a constant object (the floor). Times are wall seconds on this machine.
"""

from __future__ import annotations

import argparse
import os
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
)


def _row(label: str, scores: dict, seconds: float | None, nll: float | None = None) -> str:
    return f"{label:<36}{score_cells(scores)}{cell(seconds, 9, 1)}{cell(nll, 12, 3)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=10, help="network training epochs")
    parser.add_argument("--refine-iterations", type=int, default=20)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    from ptycho_engine.hardware import execution_device
    from ptycho_engine.inference import reconstruct
    from ptycho_engine.metrics import constant_object_baseline
    from ptycho_engine.pinn import load_bundle
    from ptycho_engine.solver import reconstruct_iteratively, refine_reconstruction
    from ptycho_engine.training import train
    from ptycho_settings import ModelConfig, ReconstructionConfig, TrainingConfig

    quiet()
    with tempfile.TemporaryDirectory() as folder:
        scan, data = simulated_scan(Path(folder), args.positions)
        execution = benchmark_execution(args.device)
        device = execution_device(execution)
        solver_config = ReconstructionConfig(
            model=ModelConfig(N=64), data_file=scan, iterations=args.refine_iterations
        )
        print(
            f"{data.n_positions} positions, N=64, 1e6 photons; device {device}, "
            f"{os.cpu_count()} CPUs, torch threads {__import__('torch').get_num_threads()}; "
            f"solver lr {solver_config.refine_lr}, batch {solver_config.refine_batch_size}"
        )

        config = TrainingConfig(
            model=ModelConfig(N=64, gridsize=2),
            train_data_file=scan,
            output_dir=Path(folder) / "model",
            nphotons=1e6,
            nepochs=args.epochs,
            n_groups=min(512, data.n_positions),
        )
        start = time.perf_counter()
        bundle = load_bundle(train(config, execution).bundle_path)
        network = reconstruct(bundle, data, execution)
        network_s = time.perf_counter() - start
        refined, refine_result = refine_reconstruction(
            bundle, data, network, solver_config, iterations=args.refine_iterations, device=device
        )
        refined_s = network_s + refine_result.seconds

        equal_time, equal_result = reconstruct_iteratively(
            data,
            solver_config.model_copy(update={"iterations": 100_000}),
            device=device,
            time_limit_s=refined_s,
        )
        same_k, same_k_result = reconstruct_iteratively(data, solver_config, device=device)

        print(f"{'':<36}{SCORE_HEADER}{'time s':>9}{'NLL':>12}")
        print(
            _row(
                f"network only ({args.epochs} epochs)",
                scores(network, data),
                network_s,
                refine_result.nll_before,
            )
        )
        print(
            _row(
                f"network + {refine_result.iterations} refinement its",
                scores(refined, data),
                refined_s,
                refine_result.nll_after,
            )
        )
        print(
            _row(
                f"solver from flat, same time ({equal_result.iterations} its)",
                scores(equal_time, data),
                equal_result.seconds,
                equal_result.nll_after,
            )
        )
        print(
            _row(
                f"solver from flat, {same_k_result.iterations} its",
                scores(same_k, data),
                same_k_result.seconds,
                same_k_result.nll_after,
            )
        )
        baseline = constant_object_baseline(
            data.object, origin=network.origin, positions_xy=data.positions_xy, patch_size=data.N
        )
        print(_row("constant object", baseline.to_dict(), None))
        print(
            "NLL: mean per pixel without the log k! term; the network's and the solver's δ "
            "differ, so compare NLL within a row pair (before/after refinement) only."
        )


if __name__ == "__main__":
    main()
