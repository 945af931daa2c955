"""Where each method wins: the network, the network + refinement and the solver across regimes.

Run: ``python benchmarks/regimes.py [--quick | --full] [--amortised] [--out DIR]``.

Grid mode (the default): for each cell probe × overlap × photons (``--full``: disk, gaussian,
zoneplate × overlap 0, 0.3, 0.6, 0.8 × 1e4, 1e6, 1e8 photons per pattern; ``--quick``, the
default, 9 cells that ran in 2–6 minutes on two shared CPU cores), one simulated
object is scanned once and split into a training region (top rows) and a spatially disjoint
test region (bottom rows; ``ptycho_engine.data.regimes.simulate_split``). On the test region,
each scored against the truth the same way (``metrics.json``: amplitude and phase SSIM, PSNR,
FRC half-bit resolution):

1. ``untrained``: the network before training, i.e. each pattern's own physics estimate
   stitched (where training starts);
2. ``network``: PtychoPINN trained on the training region, then inference on the test region;
3. ``net+refine``: (2) then K refinement iterations of the solver on the test region;
4. ``solver@net``: the solver from a flat start given the network's inference time;
5. ``solver@refine``: the solver from a flat start given (3)'s time (inference +
   refinement);
6. ``solver``: the solver from flat run to its own stopping criterion (the
   ``ReconstructionConfig`` defaults: its ``iterations``, and whatever tolerance it has).

Times are wall seconds of the reconstruction on the test region; the network's training time
is printed apart (paid once per probe and regime, not per scan: see ``--amortised``). On a
shared machine a single clock reading varies by tens of percent, so the network's time is the
fastest of ``--repeat`` inferences, and "the same time" (``--equal-time rate``, the default)
gives the solver the number of iterations that fit in that time at the rate of its own full
run (6) in the same cell; ``--equal-time clock`` stops it on the clock instead.

Amortised mode (``--amortised``): per regime (default disk, overlap 0.6, at 1e6 and 1e4
photons; ``--cell`` for others), train once on one scan, then reconstruct ``--scans`` new
scans of other objects with the same probe (``simulate_scans``); for each, the network's
patterns/s and the same six methods — the use the method exists for.

Writes ``DIR/regimes_<mode>.json`` (every score and time) and ``DIR/regimes_<mode>.png`` (a
heat map: rows the cells, columns the methods, colour min(amplitude, phase) SSIM, the best of
each row framed).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from itertools import product
from pathlib import Path

from regimes_report import METHODS, heat_map, markdown, title
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
    ("disk", 0.8, 1e6),
    ("disk", 0.6, 1e4),
    ("disk", 0.3, 1e4),
    ("disk", 0.6, 1e8),
)
"""The quick subset: the three probes at a usual overlap and dose, then the disk probe across
the overlaps at 1e6 photons and across the doses (low overlap and low dose: where a network
trained elsewhere could beat a solver at equal time).
"""

ROW_HEADER = (
    f"{'cell':<26}{'method':<15}{'amp SSIM':>9}{'ph SSIM':>9}{'amp PSNR':>10}{'ph PSNR':>10}"
    f"{'FRC px':>8}{'s':>8}{'its':>6}  stop"
)


def solver_defaults() -> dict:
    """The solver settings every solver run here uses: ``ReconstructionConfig``'s defaults."""
    from ptycho_settings import ReconstructionConfig

    config = ReconstructionConfig(data_file="unused.npz")
    fields = {"iterations": config.iterations}
    fields.update({k: v for k, v in config.model_dump().items() if k.startswith("refine_")})
    return fields


def tree_state() -> dict:
    """The commit measured, and the engine and settings files that differ from it."""
    import subprocess

    root = Path(__file__).resolve().parents[1]

    def git(*command: str) -> str:
        try:
            return subprocess.run(
                ["git", *command], cwd=root, capture_output=True, text=True, check=True
            ).stdout.rstrip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    changed = git("status", "--porcelain", "--", "ptycho_engine", "ptycho_settings")
    return {"head": git("rev-parse", "--short", "HEAD"), "uncommitted": changed.splitlines()}


def _photons(photons: float) -> str:
    """1e6, not 1e+06."""
    mantissa, exponent = f"{photons:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _cell_name(probe: str, overlap: float, photons: float) -> str:
    return f"{probe} ov{overlap:g} {_photons(photons)}"


def _entry(reconstruction, data, seconds, solver_result=None) -> dict:
    """Scores and time of one reconstruction, with the solver's iterations and stop reason."""
    out = {"scores": scores(reconstruction, data), "seconds": seconds}
    if solver_result is not None:
        out["iterations"] = solver_result.iterations
        out["stopped_by"] = getattr(solver_result, "stopped_by", None)
    return out


def _print_row(name: str, method: str, entry: dict) -> None:
    s = entry["scores"]
    amp, phase = s["amplitude"], s["phase"]
    frc = s["frc"]["half_bit"]["resolution_px"]
    its = entry.get("iterations")
    stop = entry.get("stopped_by") or ""
    print(
        f"{name:<26}{method:<15}{amp['ssim']:>9.3f}{phase['ssim']:>9.3f}"
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
        with contextlib.redirect_stdout(io.StringIO()):  # Lightning's (rich) model summary
            result = train(config, self.execution)
        return result.bundle_path, time.perf_counter() - start

    def network(self, bundle, data):
        """Inference, ``--repeat`` times; return (Reconstruction, the fastest wall seconds)."""
        from ptycho_engine.inference import reconstruct

        times = []
        for _ in range(self.args.repeat):
            start = time.perf_counter()
            reconstruction = reconstruct(bundle, data, self.execution)
            times.append(time.perf_counter() - start)
        return reconstruction, min(times)

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
        solved, result, seconds = self.solve(data, config)
        results["solver"] = _entry(solved, data, seconds, result)
        per_iteration = seconds / max(result.iterations, 1)  # set-up included
        for name, budget in (("solver@net", network_s), ("solver@refine", network_s + refine_s)):
            if self.args.equal_time == "clock":
                solved, result, seconds = self.solve(data, config, time_limit_s=budget)
            else:  # the iterations that fit in the budget at this run's rate
                iterations = max(1, round(budget / per_iteration))
                solved, result, seconds = self.solve(
                    data, config.model_copy(update={"iterations": iterations})
                )
            results[name] = _entry(solved, data, seconds, result)
            results[name]["budget_s"] = budget
        results["solver"]["per_iteration_s"] = per_iteration
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
            f"{'':<26}(train {train_data.n_positions} / test {test_data.n_positions} positions, "
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
                "note": f"training {train_s:.0f} s",
                "methods": results,
            }
        )
    return rows


AMORTISED = (("disk", 0.6, 1e6), ("disk", 0.6, 1e4))
"""The regimes of ``--amortised``: a usual dose, and the low dose where the network wins."""


def run_amortised(args, methods: _Methods) -> list[dict]:
    from ptycho_engine.data.regimes import simulate_scans

    print(ROW_HEADER)
    rows = []
    for index, (probe, overlap, photons) in enumerate(args.cell or AMORTISED):
        regime = _cell_name(probe, overlap, photons)
        scans = simulate_scans(
            args.scans + 1,
            seed=args.seed,
            n=N,
            n_positions=args.positions,
            probe_source=probe,
            overlap=overlap,
            nphotons=photons,
        )
        train_path, train_data = methods.save(scans[0], f"scan_{index}_0.npz")
        bundle_path, train_s = methods.train(
            train_path, photons, train_data.n_positions, f"{index}"
        )
        print(
            f"{regime}: trained once on scan 0 ({train_data.n_positions} positions) in "
            f"{train_s:.1f} s; the new scans:",
            flush=True,
        )
        for scan in range(1, args.scans + 1):
            path, data = methods.save(scans[scan], f"scan_{index}_{scan}.npz")
            results = methods.compare(bundle_path, data, path)
            name = f"{regime} scan {scan}"
            for method in METHODS:
                _print_row(name, method, results[method])
            rate = data.n_positions / results["network"]["seconds"]
            print(f"{'':<26}network {rate:.0f} patterns/s ({data.n_positions} positions)")
            rows.append(
                {
                    "name": name,
                    "probe": probe,
                    "overlap": overlap,
                    "photons": photons,
                    "positions": data.n_positions,
                    "patterns_per_s": rate,
                    "train_s": train_s,
                    "note": f"network {rate:.0f} patterns/s",
                    "methods": results,
                }
            )
    return rows


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
        help="run these cells instead of a grid (with --amortised: these regimes; repeatable), "
        "e.g. disk:0.6:1e6",
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
    parser.add_argument(
        "--repeat", type=int, default=3, help="network inferences timed; the fastest counts"
    )
    parser.add_argument(
        "--equal-time",
        choices=("rate", "clock"),
        default="rate",
        help="rate (default): the solver gets the iterations that fit in the network's time at "
        "the rate of its own full run in the same cell; clock: it stops on the clock",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--replot", type=Path, metavar="JSON", help="only redraw the heat map of a written JSON"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "docs" / "img")
    args = parser.parse_args()
    if args.replot is not None:
        record = json.loads(args.replot.read_text())
        heat_map(record["rows"], args.replot.with_suffix(".png"), title(record))
        print(markdown(record["rows"]))
        return
    import torch

    quiet()
    mode = "amortised" if args.amortised else ("full" if args.full else "quick")
    begin = time.perf_counter()
    load = os.getloadavg()
    tree = tree_state()
    print(
        f"regimes ({mode}): N={N}, {args.positions} positions, network gridsize 2, "
        f"{args.epochs} epochs × {args.groups} groups, refinement {args.refine_iterations} its; "
        f"network time: fastest of {args.repeat}; equal time by {args.equal_time}; "
        f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, load average "
        f"{load[0]:.1f}\n"
        f"solver (ReconstructionConfig defaults): {solver_defaults()}\n"
        f"tree: {tree['head']}, {len(tree['uncommitted'])} engine/settings files uncommitted",
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
        "solver_defaults": solver_defaults(),
        "tree": tree,
        "load_average_start_end": [load, os.getloadavg()],
        "wall_s": wall,
        "rows": rows,
    }
    (args.out / f"regimes_{mode}.json").write_text(json.dumps(record, indent=1) + "\n")
    heat_map(rows, args.out / f"regimes_{mode}.png", title(record))
    print(markdown(rows))
    print(f"wrote {args.out / f'regimes_{mode}.json'} and {args.out / f'regimes_{mode}.png'}")


if __name__ == "__main__":
    main()
