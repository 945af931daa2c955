"""``ptycho infer``: a trained bundle reconstructs new data; figures and metrics follow."""

from __future__ import annotations

import argparse
import json

from ptycho_engine.cli_engine import add_console_flags, configure_console, require_engine
from ptycho_settings.flags import add_settings_arguments, typed_flags


def register(subparsers) -> None:
    """Add the ``infer`` subcommand."""
    parser = subparsers.add_parser(
        "infer", help="reconstruct data with a trained model bundle",
        description="Reconstruct --test-data-file with the bundle in --model-path; write "
        "OUTPUT_DIR/reconstruction.npz, amplitude.png, phase.png and, when the data hold "
        "objectGuess, metrics.json with comparison and FRC figures. Model settings come from "
        "the bundle; only inference and execution settings may be given.")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier reconstruction")
    add_console_flags(parser)
    add_settings_arguments(parser, "inference")
    parser.set_defaults(handler=run_infer)


def run_infer(args: argparse.Namespace) -> int:
    """Resolve settings, load the bundle, reconstruct, write outputs."""
    from ptycho_settings.sources import create_inference_config

    resolved = create_inference_config(args.config, flags=typed_flags(args))
    require_engine()
    from ptycho_engine.data.npz import load_diffraction
    from ptycho_engine.infer import load_bundle, reconstruct
    from ptycho_engine.outputs import check_output_dir, write_outputs

    configure_console(args)  # after importing Lightning, which sets its own log level

    config = resolved.config
    if config.backend == "tensorflow":
        from ptycho_engine.errors import EngineError

        raise EngineError("backend='tensorflow': this distribution has no TensorFlow engine")
    check_output_dir(config.output_dir, overwrite=args.overwrite)
    data = load_diffraction(config.test_data_file)
    bundle = load_bundle(config.model_path)
    show_progress = resolved.execution.enable_progress_bar and not args.quiet
    reconstruction = reconstruct(bundle, data, resolved.execution, n_groups=config.n_groups,
                                 neighbor_count=config.neighbor_count, seed=config.subsample_seed,
                                 progress=show_progress)
    written = write_outputs(reconstruction, data, config.output_dir, phase_vmin=config.phase_vmin,
                            phase_vmax=config.phase_vmax, overwrite=args.overwrite)
    t = reconstruction.timings
    print(f"reconstructed {data.n_positions} positions ({reconstruction.n_groups} groups) into a "
          f"{reconstruction.object.shape[1]}×{reconstruction.object.shape[0]} object in "
          f"{t['total_s']:.2f} s (predict {t['predict_s']:.2f} s, stitch {t['stitch_s']:.2f} s)")
    if written.metrics:
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
        lines.append(f"{part:<9}  SSIM {scores['ssim']:.3f}  PSNR {psnr:.2f} dB  MAE {scores['mae']:.4f}"
                     if psnr is not None else f"{part:<9}  {json.dumps(scores)}")
    frc = metrics.get("frc", {})
    if frc:
        parts = [f"{name}: {entry['resolution_px']:.2f} px" for name, entry in frc.items()
                 if isinstance(entry, dict) and "resolution_px" in entry]
        lines.append("FRC resolution  " + ", ".join(parts))
    return "\n".join(lines)
