"""``python -m ptycho_engine.cli``: the ``ptycho`` program, for environments without the script."""

from ptycho_engine.cli.program import run

if __name__ == "__main__":
    run()
