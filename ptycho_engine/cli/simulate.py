"""The ``ptycho simulate`` subcommand: write a simulated dataset as NPZ.

Only argparse is imported here; the simulator (numpy, scipy, torch) is imported by the
handler, so ``ptycho config …`` works without them.
"""

from __future__ import annotations

import argparse

from ptycho_engine.cli.console import add_console_flags, configure_console, require_engine
from ptycho_engine.errors import EngineError

__all__ = ["register"]

SUPPORTED_N = (64, 128, 256)


def register(subparsers) -> None:
    """Add the ``simulate`` subcommand to the ``ptycho`` subparsers."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a ptychographic dataset (NPZ)",
        description="Simulate a complex object, a probe, a scan and Poisson diffraction "
        "amplitudes sqrt(counts), and write them in the engine's NPZ format.",
    )
    parser.add_argument(
        "out", metavar="OUT.npz", help="output file; a test split goes to OUT_test.npz"
    )
    parser.add_argument("--N", type=int, default=64, help="patch and detector size: 64, 128 or 256")
    parser.add_argument("--n-positions", type=int, default=1000, help="number of scan positions")
    parser.add_argument(
        "--object", default="lines", help="lines, grf, or an .npz (objectGuess) / .npy file"
    )
    parser.add_argument(
        "--probe", default="disk", help="disk, gaussian, or an .npz (probeGuess) / .npy file"
    )
    parser.add_argument(
        "--scan", default="grid-jitter", choices=("grid-jitter", "random", "fermat")
    )
    parser.add_argument(
        "--step",
        type=float,
        default=None,
        metavar="PX",
        help="scan step in object pixels (default: 0.3 x probe diameter)",
    )
    parser.add_argument("--nphotons", type=float, default=1e6, help="mean total counts per pattern")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same data)")
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=None,
        metavar="F",
        help="put the right-hand fraction F of the scan in OUT_test.npz",
    )
    parser.add_argument(
        "--object-size",
        type=int,
        default=None,
        metavar="PX",
        help="side of a generated object (default: just large enough for the scan)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_console_flags(parser)
    parser.set_defaults(handler=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    """Simulate, write the files and print a short summary; return the exit status."""
    configure_console(args)
    require_engine(lightning=False)
    if args.N not in SUPPORTED_N:
        raise EngineError(f"--N {args.N} is not supported; use 64, 128 or 256, e.g. --N 64")
    from ptycho_engine.data.simulate import simulate_to_files  # numpy, scipy and torch

    summary = simulate_to_files(
        args.out,
        test_fraction=args.test_fraction,
        overwrite=args.overwrite,
        n=args.N,
        n_positions=args.n_positions,
        object_source=args.object,
        probe_source=args.probe,
        scan=args.scan,
        step_px=args.step,
        nphotons=args.nphotons,
        seed=args.seed,
        object_size_px=args.object_size,
    )
    for path, frames in zip(summary["files"], summary["frames"], strict=True):
        print(f"wrote {path}: {frames} frames")
    if summary["dropped"]:
        print(f"dropped {summary['dropped']} positions straddling the train/test cut")
    if args.quiet:
        return 0
    print(
        f"N={summary['N']}  mean photons/frame={summary['mean_photons']:.4g}  "
        f"step={summary['step_px']} px  overlap={summary['overlap']:.0%}"
    )
    return 0
