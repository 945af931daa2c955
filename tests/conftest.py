"""Shared fixtures: a clean ``PTYCHO_*`` environment and tiny data files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _no_stray_ptycho_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's shell may export PTYCHO_* variables; tests must not see them.
    import os

    for name in list(os.environ):
        if name.startswith("PTYCHO_"):
            monkeypatch.delenv(name)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    """Set ``PTYCHO_*`` variables for one test: ``env(PTYCHO_DEVICE="cpu")``."""

    def set_variables(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_variables


def write_npz(path: Path, *, N: int = 64, M: int = 8, metadata: dict | None = None) -> Path:
    """Write a minimal contract-shaped NPZ (random amplitudes) and return its path."""
    rng = np.random.default_rng(0)
    arrays = {
        "diff3d": rng.random((M, N, N), dtype=np.float32),
        "xcoords": np.linspace(40.0, 60.0, M),
        "ycoords": np.linspace(40.0, 60.0, M),
        "probeGuess": np.ones((N, N), np.complex64),
    }
    if metadata is not None:
        arrays["_metadata"] = np.array(json.dumps(metadata))
    np.savez(path, **arrays)
    return path


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    """A 64×64 data file without metadata."""
    return write_npz(tmp_path / "data.npz")


def write_bundle_settings(folder: Path, model: dict | None = None) -> Path:
    """Write a zip holding only ``settings.json`` (all the settings layer reads of a bundle)."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "wts.h5.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("settings.json", json.dumps({"model": model or {"N": 64, "gridsize": 1}}))
    return path
