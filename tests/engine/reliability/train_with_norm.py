"""``ptycho ARGS…`` with the generator's normalisation layers chosen (tests only).

Usage: ``python train_with_norm.py NORM [ptycho arguments…]``. Lightning starts the other
processes of a multi-process run with the same command line, so every rank builds the same
network. ``NORM`` is one of ``ptycho_engine.network.cnn.NORMS`` where the module has them.
"""

from __future__ import annotations

import sys

from ptycho_engine.cli import main
from ptycho_engine.network import cnn


def choose_norm(norm: str) -> None:
    """Make generators built from settings use ``norm`` (no-op where there is no choice)."""
    if hasattr(cnn, "DEFAULT_NORM"):
        cnn.DEFAULT_NORM = norm


if __name__ == "__main__":
    choose_norm(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
