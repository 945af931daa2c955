"""The ``ptycho`` command line: one program, thin subcommands.

Each subcommand module registers its parser and a handler ``handler(args) -> int``. Handlers
import the heavy engine modules themselves, so ``ptycho config …`` never imports torch.
Any ``SettingsError`` or ``EngineError``, and any ``OSError`` or ``MemoryError`` (problems of
the machine, not bugs), becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from ptycho_engine.cli import data, demo, infer, reconstruct, simulate, train
from ptycho_engine.errors import EngineError
from ptycho_settings import cli as settings_cli
from ptycho_settings.errors import SettingsError

_REGISTRARS = (
    demo.register,
    train.register,
    infer.register,
    reconstruct.register,
    simulate.register,
    data.register,
    settings_cli.register,
)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="ptycho",
        description="PtychoPINN: physics-informed neural-network ptychography.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in _REGISTRARS:
        register(subparsers)
    return parser


def _warnings_as_terminal_lines() -> None:
    # Deprecated spellings must reach the user of the CLI (Python hides DeprecationWarning
    # outside __main__), as one line each without source context.
    warnings.simplefilter("default", DeprecationWarning)
    warnings.formatwarning = lambda message, *_args, **_kwargs: f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Run the ``ptycho`` program and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (SettingsError, EngineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        # The file system refused (permissions, a full disk, a file that vanished): the user
        # can fix that, so it gets one line like any other bad input, not a traceback.
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            "error: out of memory; use a smaller data file or a smaller inference_batch_size",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console-script entry point: terminal-friendly warnings, then :func:`main`."""
    _warnings_as_terminal_lines()
    sys.exit(main())


if __name__ == "__main__":
    run()
