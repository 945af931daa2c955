"""Tiny synthetic fixtures for the engine tests (N = 16, tens of positions, CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

N_TINY = 16


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def tiny_object() -> torch.Tensor:
    """A (40, 48) complex128 object with smooth random amplitude and phase."""
    gen = torch.Generator().manual_seed(0)
    amplitude = 0.5 + 0.5 * torch.rand(40, 48, generator=gen, dtype=torch.float64)
    phase = torch.rand(40, 48, generator=gen, dtype=torch.float64) * 2 - 1
    return torch.polar(amplitude, phase)


@pytest.fixture
def tiny_probe() -> torch.Tensor:
    """A (2, 16, 16) complex128 probe: a Gaussian with curved phase, and a weaker vortex mode."""
    coord = torch.arange(N_TINY, dtype=torch.float64) - N_TINY // 2
    r2 = coord[:, None] ** 2 + coord[None, :] ** 2
    first = torch.polar(torch.exp(-r2 / 18), 0.1 * r2)
    second = 0.4 * first * torch.exp(1j * torch.atan2(coord[:, None], coord[None, :]))
    return torch.stack([first, second])


@pytest.fixture(scope="session")
def tiny_dataset() -> dict[str, np.ndarray]:
    """A simulated N = 16 dataset of 100 positions (shared; tests must not modify it).

    The step (3.5 px, about half the probe diameter) makes the scan wide enough to split.
    """
    from ptycho_engine.data.simulate import simulate

    return simulate(n=N_TINY, n_positions=100, step_px=3.5, nphotons=1e5, seed=3)
