"""Tiny synthetic scans (N = 16, 20 positions) in the canonical layout, built in memory."""

from __future__ import annotations

import numpy as np
import pytest

N = 16
GRID = (4, 5)  # rows, columns of the raster scan
STEP_PX = 4.0
OBJECT_SHAPE = (48, 52)


def gaussian_probe(n: int = N, sigma_px: float = 3.0) -> np.ndarray:
    """Return a (n, n) complex probe with amplitude exp(-r² / (2 sigma²)), centred."""
    axis = np.arange(n) - n // 2
    r2 = axis[np.newaxis, :] ** 2 + axis[:, np.newaxis] ** 2
    return (np.exp(-r2 / (2 * sigma_px**2)) * np.exp(0.3j)).astype(np.complex64)


def raster_positions() -> tuple[np.ndarray, np.ndarray]:
    """Return x, y of a raster scan whose patches all lie inside the object."""
    rows, cols = GRID
    y, x = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    return (12.0 + STEP_PX * x).ravel(), (12.0 + STEP_PX * y).ravel()


def canonical_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Return a valid scan keyed as in the data contract (amplitude, zero frequency centred)."""
    rng = np.random.default_rng(seed)
    x, y = raster_positions()
    m = x.size
    diffraction = rng.uniform(0.0, 2.0, size=(m, N, N)).astype(np.float32)
    diffraction[:, N // 2, N // 2] = 50.0  # a bright zero-frequency pixel, as in real patterns
    phase = rng.uniform(-0.5, 0.5, size=OBJECT_SHAPE)
    return {
        "diff3d": diffraction,
        "xcoords": x,
        "ycoords": y,
        "probeGuess": gaussian_probe(),
        "objectGuess": np.exp(1j * phase).astype(np.complex64),
    }


@pytest.fixture
def arrays() -> dict[str, np.ndarray]:
    """A fresh, valid in-memory scan that a test may modify."""
    return canonical_arrays()


@pytest.fixture
def write_npz(tmp_path):
    """Return ``write(arrays, name="scan.npz") -> Path`` writing with ``np.savez`` in tmp_path."""

    def write(contents: dict, name: str = "scan.npz"):
        path = tmp_path / name
        with open(path, "wb") as stream:
            np.savez(stream, **contents)
        return path

    return write


@pytest.fixture
def npz_path(write_npz, arrays):
    """A valid canonical scan on disk."""
    return write_npz(arrays)
