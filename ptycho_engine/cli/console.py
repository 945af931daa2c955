"""Shared pieces of the engine subcommands: torch availability and console verbosity."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import warnings

from ptycho_engine.errors import EngineError

INSTALL_HINT = 'python -m pip install -e ".[dev]" torch==2.13.0'


def require_engine(*, lightning: bool = True) -> None:
    """Fail with an actionable message when PyTorch is missing, or Lightning where the command
    imports it (training, and the solver through ``train.prepare_probe``).
    """
    needed = ("torch", "lightning") if lightning else ("torch",)
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise EngineError(
            f"this command needs {' and '.join(missing)}, which is not installed; install the "
            f"engine with: {INSTALL_HINT} (`ptycho config …` works without it)"
        )


def add_console_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--quiet`` and ``--verbose``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quiet", action="store_true", help="print only results and errors")
    group.add_argument("--verbose", action="store_true", help="print Lightning's messages too")


def configure_console(args: argparse.Namespace) -> None:
    """Quiet Lightning's banner lines unless ``--verbose``; silence warnings with ``--quiet``."""
    level = logging.INFO if getattr(args, "verbose", False) else logging.WARNING
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "lightning_fabric"):
        logging.getLogger(name).setLevel(level)
    if not getattr(args, "verbose", False):
        # Lightning's advice about worker counts and small logging intervals is noise here
        warnings.filterwarnings("ignore", module=r"lightning\..*")
        warnings.filterwarnings(
            "ignore", category=UserWarning, message=r".*does not have many workers.*"
        )
    if getattr(args, "quiet", False):
        warnings.simplefilter("ignore")
