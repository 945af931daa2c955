"""Small simulated N = 64 datasets for the workflow tests, written once per session."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from ptycho_engine.data.simulate import simulate_to_files


@cache
def simulated_files(n_positions: int = 160, seed: int = 0) -> tuple[Path, Path]:
    """Return (train, test) NPZ paths of a simulated scan split by x (cached per session)."""
    folder = Path(tempfile.mkdtemp(prefix="ptycho-sim-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    out = folder / "scan.npz"
    simulate_to_files(
        out, test_fraction=0.3, n=64, n_positions=n_positions, nphotons=1e6, seed=seed
    )
    return out, folder / "scan_test.npz"
