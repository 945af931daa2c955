"""``ptycho demo``: simulate, train, reconstruct and score, then print a summary table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ptycho_engine.cli.console import add_console_flags, configure_console, require_engine
from ptycho_settings.errors import SettingsError
from ptycho_settings.sources import create_training_config


def register(subparsers) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="simulate a dataset, train, reconstruct and score (a few minutes on a CPU)",
        description="Simulate a small scan with ground truth, train PtychoPINN on it (no ground "
        "truth used), reconstruct it, and compare the result with the truth and with a "
        "constant object.",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("demo_outputs"), metavar="D")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier demo in D")
    add_console_flags(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print where everything went."""
    require_engine()
    # the engine (torch, Lightning) only once it is known to be installed; Lightning sets its
    # own log level on import, so the console is configured after
    from ptycho_engine.demo import demo_settings, run_demo, summary_table
    from ptycho_engine.training.interrupt import TrainingInterrupted, stop_on_signals

    configure_console(args)
    # the demo's settings are defaults: PTYCHO_* variables and PTYCHO_CONFIG_FILE change them
    resolved = create_training_config(defaults=demo_settings(args.output_dir), check_files=False)
    for field in ("train_data_file", "test_data_file", "output_dir"):
        source = resolved.source(f"training.{field}")
        if source.kind != "default":
            raise SettingsError(
                f"training.{field} from {source.describe()}: ptycho demo simulates its own data "
                "and chooses its folders; unset it (the folder is --output-dir)"
            )
    execution = resolved.execution
    if args.quiet:
        execution = execution.model_copy(update={"enable_progress_bar": False})

    try:
        with stop_on_signals():
            result = run_demo(args.output_dir, overwrite=args.overwrite, execution=execution,
                              training=resolved.config)  # fmt: skip
    except TrainingInterrupted as stop:
        print(
            f"demo stopped by {stop.signal_name}; every file it wrote is complete; run "
            "`ptycho demo --overwrite` to start again",
            file=sys.stderr,
        )
        return stop.exit_status  # 130 for SIGINT, 143 for SIGTERM
    print(summary_table(result))
    print()
    for label, path in result.files.items():
        print(f"{label + ':':<16}{path}")
    return 0
