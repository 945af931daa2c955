"""``ptycho infer``: a trained bundle reconstructs new data; figures and metrics follow."""

from __future__ import annotations

import argparse
import json

from ptycho_engine.cli_engine import add_console_flags, configure_console, require_engine
from ptycho_settings.flags import add_settings_arguments, typed_flags


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
    """Resolve settings, load the bundle, reconstruct, write outputs."""
    from ptycho_settings.sources import create_inference_config

    resolved = create_inference_config(args.config, flags=typed_flags(args))
    require_engine(lightning=False)  # inference imports no Lightning
    from ptycho_engine.data.npz import load_diffraction
    from ptycho_engine.infer import load_bundle, reconstruct
    from ptycho_engine.outputs import check_output_dir, write_outputs

    configure_console(args)  # after importing Lightning, which sets its own log level

    config = resolved.config
    if config.backend == "tensorflow":
        from ptycho_engine.errors import EngineError

        raise EngineError("backend='tensorflow': this distribution has no TensorFlow engine")
    check_output_dir(config.output_dir, overwrite=args.overwrite)
    if args.product:  # refuse an existing product before the work, not after
        from ptycho_engine.ptychodus import check_product_path, write_reconstruction_product

        check_product_path(args.product, overwrite=args.overwrite)
    data = load_diffraction(config.test_data_file)
    bundle = load_bundle(config.model_path)
    show_progress = resolved.execution.enable_progress_bar and not args.quiet
    reconstruction = reconstruct(
        bundle,
        data,
        resolved.execution,
        n_groups=config.n_groups,
        neighbor_count=config.neighbor_count,
        seed=config.subsample_seed,
        progress=show_progress,
    )
    extra_metrics, solver_lines, solver_files = None, [], {}
    if config.refine_iterations:
        reconstruction, extra_metrics, solver_lines, solver_files = _refine(
            bundle, data, reconstruction, resolved.execution, config, show_progress
        )
    written = write_outputs(
        reconstruction,
        data,
        config.output_dir,
        phase_vmin=config.phase_vmin,
        phase_vmax=config.phase_vmax,
        overwrite=args.overwrite,
        extra_metrics=extra_metrics,
        also_written=solver_files.values(),
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
    for line in solver_lines:
        print(line)
    if written.metrics:
        if "network_only" in written.metrics:
            print("network only:\n" + format_metrics(written.metrics["network_only"]))
            print("after refinement:")
        print(format_metrics(written.metrics))
    for label, path in written.files.items():
        print(f"{label + ':':<16}{path}")
    return 0


def format_metrics(metrics: dict) -> str:
    """Return a two-line amplitude/phase summary of ``metrics.json``."""
    lines = []
    for part in ("amplitude", "phase"):
        scores = metrics[part]
        psnr = scores["psnr_db"]
        lines.append(
            f"{part:<9}  SSIM {scores['ssim']:.3f}  PSNR {psnr:.2f} dB  MAE {scores['mae']:.4f}"
            if psnr is not None
            else f"{part:<9}  {json.dumps(scores)}"
        )
    frc = metrics.get("frc", {})
    if frc:
        parts = [
            f"{name}: {entry['resolution_px']:.2f} px"
            for name, entry in frc.items()
            if isinstance(entry, dict) and "resolution_px" in entry
        ]
        lines.append("FRC resolution  " + ", ".join(parts))
    return "\n".join(lines)


def _refine(bundle, data, reconstruction, execution, config, show_progress):
    """Refine the network's object with the iterative solver; write its report.

    Returns the refined reconstruction, the extra entries of ``metrics.json`` (the solver's
    record and, with ground truth, the network-only scores), lines to print and the files
    written.
    """
    from ptycho_engine.hardware import execution_device
    from ptycho_engine.iterative import SolverSettings, refine_reconstruction
    from ptycho_engine.solver_report import solver_metrics, solver_summary, write_solver_report

    extra = {}
    if data.object is not None:
        from ptycho_engine.metrics import evaluate_reconstruction

        extra["network_only"] = evaluate_reconstruction(
            reconstruction.object,
            data.object,
            origin=reconstruction.origin,
            positions_xy=data.positions_xy,
            patch_size=data.N,
        ).to_dict()
    settings = SolverSettings.from_config(config, seed=execution.seed)
    refined, result = refine_reconstruction(
        bundle,
        data,
        reconstruction,
        settings,
        device=execution_device(execution),
        progress=show_progress,
    )
    summary = solver_summary(result, settings, start="network")
    files = write_solver_report(config.output_dir, summary)
    extra["solver"] = solver_metrics(summary)
    lines = [
        f"refined {result.iterations} iterations in {result.seconds:.2f} s: NLL "
        f"{result.nll_before:.6g} (network) → {result.nll_after:.6g}"
    ]
    lines += [f"{label + ':':<16}{path}" for label, path in files.items()]
    return refined, extra, lines, files
