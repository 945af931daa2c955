"""End-to-end throughput: training groups/s and inference patterns/s, stitching share, memory.

Run: ``python benchmarks/throughput.py [--quick | --sizes quick|default|gpu] [--repeat R]
[--device cpu|cuda] [--precision P]``. Each configuration runs in a fresh process (so peak
memory is its own): N ∈ {64, 128} × gridsize ∈ {1, 2}, in R rounds over all four (the median
is printed, with the range); ``--precision`` is ``execution.precision`` (default ``32-true``;
``bf16-mixed`` runs the convolutions in bfloat16, in training and in inference).

- training: ``Trainer.fit`` on simulated data (batch 16; 64 with ``--sizes gpu``), timed over
  the epochs after the first (compilation, allocation and data preparation excluded), in
  groups/s;
- inference: the work the issue calls end to end — load the data file, load the bundle,
  group, predict, stitch — in scan positions per second ("patterns/s"; at gridsize 2 the
  covering groups predict each pattern about 1.4 times), with the share of the time spent
  stitching. It runs in the process that just trained, so imports and warm-up are excluded,
  and writing the outputs (npz, figures, scores) is not timed: the whole command is timed
  separately in docs/performance.md;
- peak resident memory of the process (CPU; simulation and training included) or peak CUDA
  memory.

For scale, the upstream engine trains at about 34 groups/s (gridsize 1) and 42 groups/s
(gridsize 2) at N = 64, batch 16, on the 2-core development machine, and needs 16 s for 256
patterns through its inference command, 9 s of it imports: about 37 patterns/s for the work
this benchmark times. At N = 64 on the CPU with batch 16 the table prints the ratios to those
rates (targets: 2× for training, 10× for inference).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from statistics import median

CONFIGS = [(64, 1), (64, 2), (128, 1), (128, 2)]

SIZES = {  # positions simulated, groups trained on, epochs, training batch
    "quick": (256, 64, 3, 16),
    "default": (1024, 256, 4, 16),
    "gpu": (8192, 2048, 3, 64),  # benchmarks/gpu.sh: enough work per step for one large GPU
}


UPSTREAM_TRAIN_GROUPS_PER_S = {1: 34.0, 2: 42.0}  # N = 64, batch 16, this machine
UPSTREAM_INFER_PATTERNS_PER_S = 256 / (16 - 9)  # its inference command minus its imports


def _measure(n: int, gridsize: int, device: str, precision: str, sizes: str, folder: Path) -> dict:
    warnings.filterwarnings("ignore")
    import torch

    from ptycho_engine.data.npz import load_diffraction
    from ptycho_engine.data.simulate import simulate_to_files
    from ptycho_engine.inference import reconstruct
    from ptycho_engine.pinn import load_bundle
    from ptycho_engine.training import train
    from ptycho_settings import ModelConfig, PyTorchExecutionConfig, TrainingConfig

    positions, groups, epochs, batch_size = SIZES[sizes]
    data_file = folder / f"scan_{n}_{gridsize}.npz"
    simulate_to_files(data_file, n=n, n_positions=positions, nphotons=1e6, seed=1)
    execution = PyTorchExecutionConfig.from_values(
        {
            "accelerator": device,
            "enable_progress_bar": False,
            "logger": "none",
            "enable_checkpointing": False,
            "seed": 0,
            "precision": precision,
            # the default inference batch on the CPU (2 training batches, 32 groups), where small
            # batches predict faster (ptycho_engine.inference.predict.CPU_INFERENCE_BATCHES); GPUs want large ones
            "inference_batch_size": 256 if device == "cuda" else None,
        }
    )
    config = TrainingConfig(
        model=ModelConfig(N=n, gridsize=gridsize),
        train_data_file=data_file,
        output_dir=folder / f"model_{n}_{gridsize}",
        nphotons=1e6,
        n_groups=groups,
        nepochs=epochs,
        batch_size=batch_size,
    )
    import lightning as L

    class EpochClock(L.Callback):
        def __init__(self) -> None:
            self.ends: list[float] = []

        def on_train_epoch_end(self, trainer, module) -> None:
            if device == "cuda":
                torch.cuda.synchronize()
            self.ends.append(time.perf_counter())

    clock = EpochClock()
    result = train(config, execution, overwrite=True, callbacks=[clock])
    steady = clock.ends[-1] - clock.ends[0]  # the epochs after the first
    train_rate = groups * (len(clock.ends) - 1) / steady

    if device == "cuda":
        torch.cuda.synchronize()
    tick = time.perf_counter()
    data = load_diffraction(data_file)
    bundle = load_bundle(result.bundle_path)
    reconstruction = reconstruct(bundle, data, execution)
    total = time.perf_counter() - tick
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return {
        "N": n,
        "gridsize": gridsize,
        "train_groups_per_s": train_rate,
        "infer_patterns_per_s": data.n_positions / total,
        "infer_s": total,
        "patterns": data.n_positions,
        "stitch_share": reconstruction.timings["stitch_s"] / total,
        "peak_mb": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (same as --sizes quick)")
    parser.add_argument(
        "--sizes",
        choices=tuple(SIZES),
        default="default",
        help="positions, groups, epochs and batch (gpu: 8192, 2048, 3, 64)",
    )
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument(
        "--precision", default="32-true", help="execution.precision (e.g. bf16-mixed)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="fresh runs per configuration; the median is printed (noisy machines)",
    )
    parser.add_argument(
        "--one", nargs=2, type=int, metavar=("N", "GRIDSIZE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    sizes = "quick" if args.quick else args.sizes
    if args.one:
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(_measure(*args.one, args.device, args.precision, sizes, Path(folder))))
        return
    positions, groups, epochs, batch_size = SIZES[sizes]
    print(
        f"sizes {sizes}: {positions} positions, {groups} groups × {epochs} epochs, batch {batch_size}"
    )
    print(
        f"precision {args.precision}, device {args.device}, median of {args.repeat} run(s) each"
        + (" (min–max in brackets)" if args.repeat > 1 else "")
    )
    print(
        f"{'N':>4} {'gs':>3} {'train groups/s':>22} {'× upstream':>11} {'infer patterns/s':>22} "
        f"{'× upstream':>11} {'stitch %':>9} {'peak MiB':>9}"
    )
    results: dict[tuple[int, int], list[dict]] = {config: [] for config in CONFIGS}
    # round-robin over the configurations: a slow spell of the machine (its speed drifts by
    # tens of percent for a minute or more) then spreads over every row instead of sinking one
    for repeat in range(args.repeat):
        for n, gridsize in CONFIGS:
            command = [
                sys.executable,
                __file__,
                "--one",
                str(n),
                str(gridsize),
                "--device",
                args.device,
                "--precision",
                args.precision,
                "--sizes",
                sizes,
            ]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results[n, gridsize].append(json.loads(output.strip().splitlines()[-1]))
            if repeat == args.repeat - 1:
                # upstream's rates were measured like this: N = 64, CPU, batch 16
                comparable = n == 64 and args.device == "cpu" and batch_size == 16
                _print_row(n, gridsize, results[n, gridsize], comparable)


def _print_row(n: int, gridsize: int, rows: list[dict], comparable: bool) -> None:
    train = [row["train_groups_per_s"] for row in rows]
    infer = [row["infer_patterns_per_s"] for row in rows]
    train_ratio = (
        f"{median(train) / UPSTREAM_TRAIN_GROUPS_PER_S[gridsize]:.2f}" if comparable else "—"
    )
    infer_ratio = f"{median(infer) / UPSTREAM_INFER_PATTERNS_PER_S:.2f}" if comparable else "—"
    print(
        f"{n:>4} {gridsize:>3} {_spread(train):>22} {train_ratio:>11} {_spread(infer):>22} "
        f"{infer_ratio:>11} {100 * median(row['stitch_share'] for row in rows):>8.1f}% "
        f"{max(row['peak_mb'] for row in rows):>9.0f}",
        flush=True,
    )


def _spread(values: list[float]) -> str:
    text = f"{median(values):.1f}"
    return text if len(values) == 1 else f"{text} [{min(values):.0f}–{max(values):.0f}]"


if __name__ == "__main__":
    main()
