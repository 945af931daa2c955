"""Shared test objects for ``ptycho_engine.metrics`` (in-memory, deterministic).

``TRUTH`` is an (80, 96) smooth complex object that :func:`analytic_object` can evaluate
exactly at any sub-pixel grid; ``POSITIONS`` span x 35..59 and y 30..46, so with N = 16 the
scored region is ``REGION = (33, 28, 62, 49)`` (x 33..61, y 28..48; margin N/8 = 2).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

N = 16
REGION = (33, 28, 62, 49)


def analytic_object(rows: np.ndarray, cols: np.ndarray, seed: int = 0) -> np.ndarray:
    """A smooth complex object evaluated exactly at any (row, col) grid (sums of cosines)."""
    rng = np.random.default_rng(seed)
    y, x = np.meshgrid(rows, cols, indexing="ij")
    amplitude, phase = np.ones(y.shape), np.zeros(y.shape)
    for _ in range(6):
        (u, v), p = rng.uniform(-0.08, 0.08, 2), rng.uniform(0, 2 * np.pi)
        amplitude += 0.08 * np.cos(2 * np.pi * (u * x + v * y) + p)
        (u, v), p = rng.uniform(-0.08, 0.08, 2), rng.uniform(0, 2 * np.pi)
        phase += 0.25 * np.cos(2 * np.pi * (u * x + v * y) + p)
    return amplitude * np.exp(1j * phase)


def structured_object(shape: tuple[int, int] = (80, 96), seed: int = 0) -> np.ndarray:
    """A random object with structure at a few-pixel scale: amplitude 0.5..1, phase ±1 rad."""
    rng = np.random.default_rng(seed)
    fields = [ndimage.gaussian_filter(rng.standard_normal(shape), 1.5) for _ in range(2)]
    amp, phase = ((f - f.min()) / np.ptp(f) for f in fields)
    return (0.5 + 0.5 * amp) * np.exp(1j * (2 * phase - 1))


TRUTH = analytic_object(np.arange(80), np.arange(96))
POSITIONS = np.stack(np.meshgrid(np.arange(35, 60, 4.0), np.arange(30, 50, 4.0)), -1).reshape(-1, 2)
