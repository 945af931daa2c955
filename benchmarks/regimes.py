"""Where each method wins: the network, the network + refinement and the solver across regimes.

Run: ``python benchmarks/regimes.py [--quick | --full] [--amortised] [--out DIR]``.

Grid mode (the default): for each cell probe × overlap × photons (``--full``: disk, gaussian,
zoneplate × overlap 0, 0.3, 0.6, 0.8 × 1e4, 1e6, 1e8 photons per pattern; ``--quick``, the
default, a subset that runs in about ten minutes on two shared CPU cores), one simulated
object is scanned once and split into a training region (top rows) and a spatially disjoint
test region (bottom rows; ``ptycho_engine.data.regimes.simulate_split``). On the test region,
each scored against the truth the same way (``metrics.json``: amplitude and phase SSIM, PSNR,
FRC half-bit resolution):

1. ``untrained``: the network before training, i.e. each pattern's own physics estimate
   stitched (where training starts);
2. ``network``: PtychoPINN trained on the training region, then inference on the test region;
3. ``net+refine``: (2) then K refinement iterations of the solver on the test region;
4. ``solver@net``: the solver from a flat start, stopped at the network's inference time;
5. ``solver@refine``: the solver from a flat start, stopped at (3)'s time (inference +
   refinement);
6. ``solver``: the solver from flat run to its own stopping criterion (the
   ``ReconstructionConfig`` defaults: its ``iterations``, and whatever tolerance it has).

Times are wall seconds of the reconstruction on the test region; the network's training time
is printed apart (paid once per probe and regime, not per scan: see ``--amortised``).

Amortised mode (``--amortised``): train once on one scan, then reconstruct several new scans
of other objects with the same probe (``simulate_scans``); for each, the network's
patterns/s and quality against the solver at the same wall time and run to its stopping
criterion — the use the method exists for.

Writes ``DIR/regimes_<mode>.json`` (every score and time) and ``DIR/regimes_<mode>.png`` (a
heat map: rows the cells, columns the methods, colour min(amplitude, phase) SSIM, the best of
each row framed).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from itertools import product
from pathlib import Path

from scan_scores import benchmark_execution, cell, quiet, scores, untrained

N = 64
PROBES = ("disk", "gaussian", "zoneplate")
OVERLAPS = (0.0, 0.3, 0.6, 0.8)
PHOTONS = (1e4, 1e6, 1e8)
FULL = tuple(product(PROBES, OVERLAPS, PHOTONS))
QUICK = (
    ("disk", 0.6, 1e6),
    ("gaussian", 0.6, 1e6),
    ("zoneplate", 0.6, 1e6),
    ("disk", 0.0, 1e6),
    ("disk", 0.3, 1e6),
    ("disk", 0.6, 1e4),
)
"""The quick subset: the three probes at a usual overlap and dose, then the disk probe at low
overlap and at low dose (where a network trained elsewhere could beat a solver at equal time).
"""

METHODS = ("untrained", "network", "net+refine", "solver@net", "solver@refine", "solver")
LABELS = {
    "untrained": "untrained\n(estimate)",
    "network": "network\nalone",
    "net+refine": "network\n+ refine",
    "solver@net": "solver,\nnet's time",
    "solver@refine": "solver, net\n+refine time",
    "solver": "solver to\nits stop",
}
ROW_HEADER = (
    f"{'cell':<22}{'method':<15}{'amp SSIM':>9}{'ph SSIM':>9}{'amp PSNR':>10}{'ph PSNR':>10}"
    f"{'FRC px':>8}{'s':>8}{'its':>6}  stop"
)


def _cell_name(probe: str, overlap: float, photons: float) -> str:
    return f"{probe} ov{overlap:g} {photons:.0e}".replace("e+0", "e")


def _entry(reconstruction, data, seconds, solver_result=None) -> dict:
    """Scores and time of one reconstruction, with the solver's iterations and stop reason."""
    out = {"scores": scores(reconstruction, data), "seconds": seconds}
    if solver_result is not None:
        out["iterations"] = solver_result.iterations
        out["stopped_by"] = getattr(solver_result, "stopped_by", None)
    return out


def _min_ssim(entry: dict) -> float:
    s = entry["scores"]
    return min(s["amplitude"]["ssim"], s["phase"]["ssim"])


def _print_row(name: str, method: str, entry: dict) -> None:
    s = entry["scores"]
    amp, phase = s["amplitude"], s["phase"]
    frc = s["frc"]["half_bit"]["resolution_px"]
    its = entry.get("iterations")
    stop = entry.get("stopped_by") or ""
    print(
        f"{name:<22}{method:<15}{amp['ssim']:>9.3f}{phase['ssim']:>9.3f}"
        f"{amp['psnr_db']:>10.2f}{phase['psnr_db']:>10.2f}{cell(frc, 8, 1)}"
        f"{cell(entry['seconds'], 8, 2)}{its if its is not None else '':>6}  {stop}",
        flush=True,
    )


class _Methods:
    """The engine calls of one comparison, with one execution and one solver configuration."""

    def __init__(self, args, folder: Path):
        from ptycho_engine.hardware import execution_device

        self.args = args
        self.folder = folder
        self.execution = benchmark_execution(args.device)
        self.device = execution_device(self.execution)

    def save(self, arrays: dict, name: str):
        """Validate simulated arrays, write them as ``name`` and return (path, data)."""
        from ptycho_engine.data.npz import save_diffraction, validate_arrays

        data = validate_arrays(arrays, source=name)
        path = save_diffraction(self.folder / name, data, overwrite=True)
        return path, data

    def train(self, path: Path, photons: float, n_positions: int, tag: str):
        """Train the benchmark's network on ``path``; return (bundle path, seconds)."""
        from ptycho_engine.training import train
        from ptycho_settings import ModelConfig, TrainingConfig

        config = TrainingConfig(
            model=ModelConfig(N=N, gridsize=2, n_filters_scale=1),
            train_data_file=path,
            output_dir=self.folder / f"model_{tag}",
            nphotons=photons,
            nepochs=self.args.epochs,
            n_groups=min(self.args.groups, n_positions),
            batch_size=16,
        )
        start = time.perf_counter()
        result = train(config, self.execution)
        return result.bundle_path, time.perf_counter() - start

    def network(self, bundle, data):
        """Inference; return (Reconstruction, wall seconds)."""
        from ptycho_engine.inference import reconstruct

        start = time.perf_counter()
        reconstruction = reconstruct(bundle, data, self.execution)
        return reconstruction, time.perf_counter() - start

    def solver_config(self, path: Path):
        from ptycho_settings import ModelConfig, ReconstructionConfig

        return ReconstructionConfig(model=ModelConfig(N=N), data_file=path)

    def refine(self, bundle, data, reconstruction, config):
        """K refinement iterations; return (Reconstruction, SolverResult, wall seconds)."""
        from ptycho_engine.solver import refine_reconstruction

        start = time.perf_counter()
        refined, result = refine_reconstruction(
            bundle,
            data,
            reconstruction,
            config,
            iterations=self.args.refine_iterations,
            device=self.device,
        )
        return refined, result, time.perf_counter() - start

    def solve(self, data, config, time_limit_s: float | None = None):
        """The solver from flat (its defaults, or as many iterations as fit in the limit)."""
        from ptycho_engine.solver import reconstruct_iteratively

        if time_limit_s is not None:
            config = config.model_copy(update={"iterations": 100_000})
        start = time.perf_counter()
        reconstruction, result = reconstruct_iteratively(
            data, config, device=self.device, time_limit_s=time_limit_s
        )
        return reconstruction, result, time.perf_counter() - start

    def compare(self, bundle_path, data, path) -> dict:
        """Every method on one scan ``data`` (written at ``path``), by METHODS name."""
        from ptycho_engine.pinn import load_bundle

        bundle = load_bundle(bundle_path)
        results = {}
        start, start_s = self.network(untrained(bundle_path), data)
        results["untrained"] = _entry(start, data, start_s)
        network, network_s = self.network(bundle, data)
        results["network"] = _entry(network, data, network_s)
        config = self.solver_config(path)
        refined, refine_result, refine_s = self.refine(bundle, data, network, config)
        results["net+refine"] = _entry(refined, data, network_s + refine_s, refine_result)
        for name, limit in (("solver@net", network_s), ("solver@refine", network_s + refine_s)):
            solved, result, seconds = self.solve(data, config, time_limit_s=limit)
            results[name] = _entry(solved, data, seconds, result)
        solved, result, seconds = self.solve(data, config)
        results["solver"] = _entry(solved, data, seconds, result)
        return results


def run_grid(args, methods: _Methods) -> list[dict]:
    from ptycho_engine.data.regimes import simulate_split

    cells = args.cell or (FULL if args.full else QUICK)
    rows = []
    print(ROW_HEADER)
    for index, (probe, overlap, photons) in enumerate(cells):
        name = _cell_name(probe, overlap, photons)
        tick = time.perf_counter()
        train_arrays, test_arrays, dropped = simulate_split(
            test_fraction=args.test_fraction,
            split_axis="y",
            n=N,
            n_positions=args.positions,
            probe_source=probe,
            overlap=overlap,
            nphotons=photons,
            seed=args.seed,
        )
        train_path, train_data = methods.save(train_arrays, f"train_{index}.npz")
        test_path, test_data = methods.save(test_arrays, f"test_{index}.npz")
        bundle_path, train_s = methods.train(
            train_path, photons, train_data.n_positions, str(index)
        )
        results = methods.compare(bundle_path, test_data, test_path)
        for method in METHODS:
            _print_row(name, method, results[method])
        print(
            f"{'':<22}(train {train_data.n_positions} / test {test_data.n_positions} positions, "
            f"{dropped} dropped; training {train_s:.1f} s; cell {time.perf_counter() - tick:.0f} s)",
            flush=True,
        )
        rows.append(
            {
                "name": name,
                "probe": probe,
                "overlap": overlap,
                "photons": photons,
                "train_positions": train_data.n_positions,
                "test_positions": test_data.n_positions,
                "dropped": dropped,
                "train_s": train_s,
                "methods": results,
            }
        )
    return rows


def run_amortised(args, methods: _Methods) -> list[dict]:
    from ptycho_engine.data.regimes import simulate_scans

    probe, overlap, photons = args.probe, args.overlap, args.photons
    scans = simulate_scans(
        args.scans + 1,
        seed=args.seed,
        n=N,
        n_positions=args.positions,
        probe_source=probe,
        overlap=overlap,
        nphotons=photons,
    )
    train_path, train_data = methods.save(scans[0], "scan_0.npz")
    bundle_path, train_s = methods.train(train_path, photons, train_data.n_positions, "0")
    print(
        f"trained once on scan 0 ({probe}, overlap {overlap:g}, {photons:.0e} photons, "
        f"{train_data.n_positions} positions): {train_s:.1f} s"
    )
    print(ROW_HEADER + f"{'patterns/s':>12}")
    rows = []
    for index in range(1, args.scans + 1):
        path, data = methods.save(scans[index], f"scan_{index}.npz")
        results = methods.compare(bundle_path, data, path)
        name = f"new scan {index}"
        for method in METHODS:
            _print_row(name, method, results[method])
        rate = data.n_positions / results["network"]["seconds"]
        print(f"{'':<22}network: {rate:.0f} patterns/s over {data.n_positions} positions")
        rows.append(
            {
                "name": name,
                "probe": probe,
                "overlap": overlap,
                "photons": photons,
                "positions": data.n_positions,
                "patterns_per_s": rate,
                "train_s": train_s,
                "methods": results,
            }
        )
    return rows


def heat_map(rows: list[dict], path: Path, title: str) -> None:
    """Rows the cells, columns the methods, colour min(amplitude, phase) SSIM, best framed."""
    import matplotlib

    matplotlib.use("Agg")  # deferred: matplotlib's import cost
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Rectangle

    values = np.array([[_min_ssim(row["methods"][m]) for m in METHODS] for row in rows])
    seconds = np.array([[row["methods"][m]["seconds"] for m in METHODS] for row in rows])
    fig, ax = plt.subplots(figsize=(1.5 * len(METHODS) + 2.5, 0.62 * len(rows) + 1.9))
    image = ax.imshow(values, cmap="viridis", vmin=max(0.0, values.min() - 0.02), vmax=1.0)
    ax.set_xticks(range(len(METHODS)), [LABELS[m] for m in METHODS], fontsize=9)
    ax.set_yticks(range(len(rows)), [row["name"] for row in rows], fontsize=9)
    ax.xaxis.tick_top()
    middle = (values.min() + 1.0) / 2
    for i, j in np.ndindex(values.shape):
        colour = "black" if values[i, j] > middle else "white"
        ax.text(j, i - 0.1, f"{values[i, j]:.3f}", ha="center", va="center", color=colour)
        ax.text(
            j, i + 0.27, f"{seconds[i, j]:.2f} s", ha="center", va="center", color=colour,
            fontsize=7,
        )  # fmt: skip
    for i, j in enumerate(values.argmax(axis=1)):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", lw=2.5))
    ax.axvline(0.5, color="white", lw=1)  # the estimate apart from the methods
    colour_bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    colour_bar.set_label("min(amplitude SSIM, phase SSIM)")
    ax.set_title(title, fontsize=10, pad=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _parse_cell(text: str) -> tuple[str, float, float]:
    probe, overlap, photons = text.split(":")
    return probe, float(overlap), float(photons)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the quick subset (the default)")
    size.add_argument("--full", action="store_true", help="the whole 3 × 4 × 3 grid")
    parser.add_argument(
        "--cell",
        type=_parse_cell,
        action="append",
        metavar="PROBE:OVERLAP:PHOTONS",
        help="run these cells instead of a grid (repeatable), e.g. disk:0.6:1e6",
    )
    parser.add_argument(
        "--amortised", action="store_true", help="train once, reconstruct new scans"
    )
    parser.add_argument("--positions", type=int, default=480, help="scan positions per simulation")
    parser.add_argument("--test-fraction", type=float, default=0.25)
    parser.add_argument("--epochs", type=int, default=6, help="network training epochs")
    parser.add_argument("--groups", type=int, default=256, help="training groups (n_groups)")
    parser.add_argument("--refine-iterations", type=int, default=20)
    parser.add_argument("--scans", type=int, default=3, help="--amortised: new scans")
    parser.add_argument("--probe", default="disk", help="--amortised: probe")
    parser.add_argument("--overlap", type=float, default=0.6, help="--amortised: overlap")
    parser.add_argument("--photons", type=float, default=1e6, help="--amortised: photons")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "docs" / "img")
    args = parser.parse_args()
    import torch

    quiet()
    mode = "amortised" if args.amortised else ("full" if args.full else "quick")
    begin = time.perf_counter()
    print(
        f"regimes ({mode}): N={N}, {args.positions} positions, network gridsize 2, "
        f"{args.epochs} epochs × {args.groups} groups, refinement {args.refine_iterations} its; "
        f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        methods = _Methods(args, Path(folder))
        rows = run_amortised(args, methods) if args.amortised else run_grid(args, methods)
    wall = time.perf_counter() - begin
    print(f"total {wall:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    record = {
        "mode": mode,
        "settings": settings,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "wall_s": wall,
        "rows": rows,
    }
    (args.out / f"regimes_{mode}.json").write_text(json.dumps(record, indent=1) + "\n")
    title = (
        f"regimes.py --{mode}: test-region min(amp, phase) SSIM; "
        "small: reconstruction wall s (2 shared CPU cores); red frame: best in row"
    )
    heat_map(rows, args.out / f"regimes_{mode}.png", title)
    print(f"wrote {args.out / f'regimes_{mode}.json'} and {args.out / f'regimes_{mode}.png'}")


if __name__ == "__main__":
    main()
