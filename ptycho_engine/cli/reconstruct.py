"""``ptycho reconstruct``: the classic iterative solver on the training physics, no network."""

from __future__ import annotations

import argparse

from ptycho_engine.cli.console import add_console_flags, configure_console, require_engine
from ptycho_settings.flags import add_settings_arguments, typed_flags
from ptycho_settings.sources import create_reconstruction_config


def register(subparsers) -> None:
    """Add the ``reconstruct`` subcommand."""
    parser = subparsers.add_parser(
        "reconstruct",
        help="reconstruct with the iterative solver (no network)",
        description="Optimise the object (and with --refine-probe the probe) directly against "
        "--data-file with the Poisson likelihood of the training physics, starting from a flat "
        "object or --init FILE (a reconstruction.npz). Writes OUTPUT_DIR/reconstruction.npz, "
        "amplitude.png, phase.png, solver.json, solver_nll.png and, when the data hold "
        "objectGuess, metrics.json with comparison and FRC figures.",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an earlier reconstruction"
    )
    add_console_flags(parser)
    add_settings_arguments(parser, "reconstruction")
    parser.set_defaults(handler=run_reconstruct)


def run_reconstruct(args: argparse.Namespace) -> int:
    """Resolve settings, run the solver, write its report and the outputs, print."""
    resolved = create_reconstruction_config(args.config, flags=typed_flags(args))
    require_engine(lightning=False)  # the solver imports no Lightning
    # the engine (torch) only once the settings are valid
    from ptycho_engine.data.npz import load_diffraction
    from ptycho_engine.hardware import execution_device
    from ptycho_engine.metrics.format import format_metrics
    from ptycho_engine.outputs import check_output_dir
    from ptycho_engine.solver import reconstruct_iteratively, write_solver_outputs

    configure_console(args)
    config, execution = resolved.config, resolved.execution
    check_output_dir(config.output_dir, overwrite=args.overwrite)
    data = load_diffraction(config.data_file)
    device = execution_device(execution)
    reconstruction, result = reconstruct_iteratively(
        data,
        config,
        seed=execution.seed or 0,
        device=device,
        progress=execution.enable_progress_bar and not args.quiet,
    )
    written = write_solver_outputs(
        reconstruction, result, data, config, config.output_dir, start=str(config.init),
        phase_vmin=config.phase_vmin, phase_vmax=config.phase_vmax, overwrite=args.overwrite,
    )  # fmt: skip
    print(
        f"solved {data.n_positions} positions, {result.iterations} iterations (stopped by "
        f"{result.stopped_by}) in "
        f"{result.seconds:.2f} s on {device}: NLL {result.nll_before:.6g} → {result.nll_after:.6g}"
    )
    if written.metrics:
        print(format_metrics(written.metrics))
    for label, path in written.files.items():
        print(f"{label + ':':<16}{path}")
    return 0
