"""``ptycho infer``: a trained bundle reconstructs new data; figures and metrics follow."""

from __future__ import annotations

import argparse

from ptycho_engine.cli.console import add_console_flags, configure_console, require_engine
from ptycho_settings.flags import add_settings_arguments, typed_flags
from ptycho_settings.sources import create_inference_config


def register(subparsers) -> None:
    """Add the ``infer`` subcommand."""
    parser = subparsers.add_parser(
        "infer",
        help="reconstruct data with a trained model bundle",
        description="Reconstruct --test-data-file with the bundle in --model-path; write "
        "OUTPUT_DIR/reconstruction.npz, amplitude.png, phase.png and, when the data hold "
        "objectGuess, metrics.json with comparison and FRC figures. Model settings come from "
        "the bundle; only inference and execution settings may be given.",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an earlier reconstruction"
    )
    parser.add_argument(
        "--product",
        metavar="OUT.h5",
        help="also write a Ptychodus product file (probe, object, positions in m)",
    )
    add_console_flags(parser)
    add_settings_arguments(parser, "inference")
    parser.set_defaults(handler=run_infer)


def run_infer(args: argparse.Namespace) -> int:
    """Resolve settings, load the bundle, reconstruct (and refine), write outputs, print."""
    resolved = create_inference_config(args.config, flags=typed_flags(args))
    require_engine(lightning=False)  # inference imports no Lightning
    # the engine (torch) only once the settings are valid
    from ptycho_engine.data.npz import load_diffraction
    from ptycho_engine.hardware import execution_device
    from ptycho_engine.inference import choose_probe, reconstruct
    from ptycho_engine.metrics import evaluate_reconstruction
    from ptycho_engine.metrics.format import format_metrics  # its package imports scikit-image
    from ptycho_engine.outputs import check_output_dir, write_outputs
    from ptycho_engine.pinn import load_bundle
    from ptycho_engine.ptychodus import check_product_path, write_reconstruction_product
    from ptycho_engine.solver import refine_reconstruction, write_solver_outputs

    configure_console(args)
    config, execution = resolved.config, resolved.execution
    check_output_dir(config.output_dir, overwrite=args.overwrite)
    if args.product:  # refuse an existing product before the work, not after
        check_product_path(args.product, overwrite=args.overwrite)
    data = load_diffraction(config.test_data_file)
    bundle = load_bundle(config.model_path)
    data_probe = choose_probe(bundle, data, config.probe)  # before any work
    show_progress = execution.enable_progress_bar and not args.quiet
    reconstruction = reconstruct(
        bundle,
        data,
        execution,
        n_groups=config.n_groups,
        neighbor_count=config.neighbor_count,
        seed=config.subsample_seed,
        progress=show_progress,
        renormalise=config.renormalise,
        stitch_probe=data_probe,
    )
    figures = {"phase_vmin": config.phase_vmin, "phase_vmax": config.phase_vmax}
    if config.refine_iterations:
        network_only = (
            None
            if data.object is None
            else evaluate_reconstruction(
                reconstruction.object,
                data.object,
                origin=reconstruction.origin,
                positions_xy=data.positions_xy,
                patch_size=data.N,
            ).to_dict()
        )
        reconstruction, result = refine_reconstruction(
            bundle,
            data,
            reconstruction,
            config,
            iterations=config.refine_iterations,
            seed=execution.seed or 0,
            device=execution_device(execution),
            progress=show_progress,
            probe=data_probe,
        )
        written = write_solver_outputs(
            reconstruction, result, data, config, config.output_dir, start="network",
            overwrite=args.overwrite, **figures,
            extra_metrics=None if network_only is None else {"network_only": network_only},
        )  # fmt: skip
    else:
        result = None
        written = write_outputs(
            reconstruction, data, config.output_dir, overwrite=args.overwrite, **figures
        )
    if args.product:
        written.files["product"] = write_reconstruction_product(
            args.product, reconstruction, data, bundle, overwrite=args.overwrite
        )
    t = reconstruction.timings
    print(
        f"reconstructed {data.n_positions} positions ({reconstruction.n_groups} groups) into a "
        f"{reconstruction.object.shape[1]}×{reconstruction.object.shape[0]} object in "
        f"{t['total_s']:.2f} s (predict {t['predict_s']:.2f} s, stitch {t['stitch_s']:.2f} s)"
    )
    if result is not None:
        print(
            f"refined {result.iterations} iterations (stopped by {result.stopped_by}) in "
            f"{result.seconds:.2f} s: NLL "
            f"{result.nll_before:.6g} (network) → {result.nll_after:.6g}"
        )
    if written.metrics:
        if "network_only" in written.metrics:
            print("network only:\n" + format_metrics(written.metrics["network_only"]))
            print("after refinement:")
        print(format_metrics(written.metrics))
    for label, path in written.files.items():
        print(f"{label + ':':<16}{path}")
    return 0
