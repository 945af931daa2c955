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
        "--object", default="lines", help="lines, grf, image, or an .npz (objectGuess) / .npy file"
    )
    parser.add_argument(
        "--probe",
        default="disk",
        help="disk, gaussian, zoneplate (a defocused zone-plate beam), or an .npz (probeGuess) / "
        ".npy file",
    )
    parser.add_argument(
        "--scan", default="grid-jitter", choices=("grid-jitter", "random", "fermat")
    )
    spacing = parser.add_mutually_exclusive_group()
    spacing.add_argument(
        "--step",
        type=float,
        default=None,
        metavar="PX",
        help="nominal scan step in object pixels (default: 0.3 x probe diameter)",
    )
    spacing.add_argument(
        "--overlap",
        type=float,
        default=None,
        metavar="F",
        help="linear overlap of neighbouring probe footprints, 1 - step/D90 (D90: the diameter "
        "of the circle holding 90%% of the probe's energy); the scan is scaled so that its mean "
        "nearest-neighbour step is (1 - F)·D90; 0 <= F < 1",
    )
    parser.add_argument(
        "--nphotons", type=float, default=1e6, help="mean total counts per pattern (>= 1e3 works)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same data)")
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=None,
        metavar="F",
        help="put the fraction F of the scan in OUT_test.npz (see --split-axis)",
    )
    parser.add_argument(
        "--split-axis",
        choices=("x", "y"),
        default="x",
        help="where --test-fraction cuts: x tests on the right, y on the bottom rows",
    )
    parser.add_argument(
        "--object-size",
        type=int,
        default=None,
        metavar="PX",
        help="side of a generated object (default: just large enough for the scan)",
    )
    probe = parser.add_argument_group("probe options")
    probe.add_argument(
        "--probe-modes", type=int, default=1, metavar="K",
        help="incoherent probe modes; their total intensity equals the single-mode probe's",
    )  # fmt: skip
    probe.add_argument(
        "--probe-mode-decay", type=float, default=0.5, metavar="R",
        help="power ratio of consecutive modes, 0 < R <= 1",
    )  # fmt: skip
    probe.add_argument(
        "--zoneplate-diameter", type=float, default=None, metavar="PX",
        help="geometric diameter of the defocused zone-plate beam (default 0.4·N)",
    )  # fmt: skip
    probe.add_argument(
        "--zoneplate-defocus", type=float, default=None, metavar="RAD",
        help="defocus phase at the pupil edge; about RAD/π rings cross the beam "
        "(default π·diameter/8)",
    )  # fmt: skip
    probe.add_argument(
        "--zoneplate-central-stop", type=float, default=None, metavar="FRAC",
        help="central stop radius over the pupil radius, 0 <= FRAC < 1 (default 0.4)",
    )  # fmt: skip
    objects = parser.add_argument_group("image object options")
    objects.add_argument(
        "--image-amplitude", default=None, metavar="NAME",
        help="scikit-image sample image of the amplitude of --object image (default camera)",
    )  # fmt: skip
    objects.add_argument(
        "--image-phase", default=None, metavar="NAME",
        help="scikit-image sample image of the phase of --object image (default astronaut)",
    )  # fmt: skip
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
        split_axis=args.split_axis,
        overlap=args.overlap,
        probe_modes=args.probe_modes,
        probe_mode_decay=args.probe_mode_decay,
        zoneplate_diameter_px=args.zoneplate_diameter,
        zoneplate_defocus_rad=args.zoneplate_defocus,
        zoneplate_central_stop=args.zoneplate_central_stop,
        image_amplitude=args.image_amplitude,
        image_phase=args.image_phase,
    )
    for path, frames in zip(summary["files"], summary["frames"], strict=True):
        print(f"wrote {path}: {frames} frames")
    if summary["dropped"]:
        print(f"dropped {summary['dropped']} positions straddling the train/test cut")
    if args.quiet:
        return 0
    print(
        f"N={summary['N']}  mean photons/frame={summary['mean_photons']:.4g}  "
        f"mean step={summary['mean_step_px']:.2f} px  "
        f"footprint D90={summary['footprint_diameter_px']:.1f} px  "
        f"overlap={summary['overlap']:.0%}  probe modes={summary['probe_modes']}"
    )
    return 0
