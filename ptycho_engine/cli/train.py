"""``ptycho train``: settings from every source → training → bundle, then where things went."""

from __future__ import annotations

import argparse
import sys

from ptycho_engine.cli.console import add_console_flags, configure_console, require_engine
from ptycho_settings.flags import add_settings_arguments, typed_flags
from ptycho_settings.sources import create_training_config


def register(subparsers) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="train PtychoPINN on diffraction data",
        description="Train on --train-data-file and write OUTPUT_DIR/wts.h5.zip, checkpoints, "
        "metrics and a loss curve. Every setting is a flag; see docs/configuration.md.",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from checkpoints/last.ckpt (after a stop, kill or crash)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing bundle")
    add_console_flags(parser)
    add_settings_arguments(parser, "training")
    parser.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    """Resolve settings, train, and print the output locations."""
    resolved = create_training_config(args.config, flags=typed_flags(args))
    require_engine()
    # the engine (torch, Lightning) only once the settings are valid
    from ptycho_engine.training.interrupt import TrainingInterrupted, stop_on_signals
    from ptycho_engine.training.workflow import last_checkpoint_path, train

    configure_console(args)  # after importing Lightning, which sets its own log level

    execution = resolved.execution
    if args.quiet:
        execution = execution.model_copy(update={"enable_progress_bar": False})
    try:
        with stop_on_signals():
            result = train(
                resolved.config,
                execution,
                provenance=resolved.provenance,
                resume=args.resume,
                overwrite=args.overwrite,
            )
    except TrainingInterrupted as stop:
        last = last_checkpoint_path(resolved.config.output_dir)
        if stop.checkpoint is None and args.resume and last.is_file():
            stop.checkpoint = last  # stopped before training resumed from it
        print(stop.describe(), file=sys.stderr)
        return stop.exit_status  # 130 for SIGINT, 143 for SIGTERM
    if result.bundle_path is None:
        return 0  # not rank 0: rank 0 reports
    losses = result.history.get("train_loss", [])
    final = f"{losses[-1]:.6g}" if losses else "n/a"
    print(
        f"trained {result.epochs_run} epochs; final train_loss {final}; "
        f"intensity_scale {result.intensity_scale:.6g}"
    )
    for label, path in (
        ("model bundle", result.bundle_path),
        ("last checkpoint", result.checkpoint_path),
        ("metrics", result.metrics_path),
        ("loss curve", result.loss_curve_path),
    ):
        if path is not None:
            print(f"{label + ':':<17}{path}")
    return 0
