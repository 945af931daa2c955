"""The ``ptycho`` command line: the parser (:mod:`~ptycho_engine.cli.program`) and one module
per subcommand. Only this package resolves settings from their sources (files, ``PTYCHO_*``,
flags); the engine below receives settings objects.
"""

from ptycho_engine.cli.program import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
