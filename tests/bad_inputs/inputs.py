"""Valid inputs that the bad cases are made from: a data file, a config file and a bundle.

Starting from a valid input and changing one thing means each case fails for exactly the
reason it names; ``test_cli.py`` checks that the valid inputs themselves are accepted.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

N = 64  # the smallest patch size the model accepts
M = 8


@dataclass(frozen=True)
class Case:
    """One bad input: ``write(folder)`` creates it and returns the path to pass to the CLI.

    ``commands`` name the CLI invocations it goes through (see ``test_cli._argv``);
    ``env`` holds the ``PTYCHO_*`` variables set for the run, ``flags`` the arguments added
    to ``data check`` and ``data convert`` (the HDF5 dataset paths).
    """

    id: str
    fragment: str
    write: Callable[[Path], Path | None]
    commands: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    flags: tuple[str, ...] = ()


def good_arrays() -> dict[str, np.ndarray]:
    """Return the arrays of a small valid scan (M positions of N x N amplitudes)."""
    rng = np.random.default_rng(0)
    grid = np.arange(M, dtype=np.float64) * 4.0 + 40.0
    return {
        "diff3d": rng.random((M, N, N), dtype=np.float32),
        "xcoords": grid,
        "ycoords": grid[::-1].copy(),
        "probeGuess": np.ones((N, N), np.complex64),
    }


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` as an uncompressed NPZ (pickling allowed, to make object arrays)."""
    with open(path, "wb") as stream:  # a stream, so that numpy keeps the name as given
        np.savez(stream, **arrays)
    return path


def write_good_data(folder: Path) -> Path:
    """Write the valid scan to ``folder/good.npz``."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_arrays(folder / "good.npz", good_arrays())


def write_config(path: Path, settings: dict) -> Path:
    """Write ``settings`` as JSON."""
    path.write_text(json.dumps(settings))
    return path


@cache
def bundle_members() -> dict[str, bytes]:
    """Return the members of a valid, untrained N = 64 bundle (built once per session)."""
    import numpy as np
    import torch

    from ptycho_engine.bundle import write_bundle
    from ptycho_engine.physics.probe import prepare_probe
    from ptycho_engine.training.lightning_module import PinnModule
    from ptycho_settings import ModelConfig, TrainingConfig

    model = ModelConfig(N=N)
    training = TrainingConfig(model=model, neighbor_count=4)
    torch.manual_seed(0)
    # the data files' flat probe, normalised as training stores it
    probe, _ = prepare_probe(np.ones((N, N), np.complex64), n=N, probe_scale=model.probe_scale,
                             probe_mask=model.probe_mask)  # fmt: skip
    module = PinnModule(model, training, probe, 1.0)
    weights = {key: value for key, value in module.state_dict().items() if key != "probe"}
    folder = Path(tempfile.mkdtemp(prefix="ptycho-bad-inputs-"))
    try:
        path = write_bundle(
            folder,
            weights={"diffraction_to_obj": weights},
            probe=module.probe.detach().numpy(),
            scaling={"intensity_scale": 1.0, "photon_scale": 1.0, "input_scale": 1.0},
            params={"N": N, "intensity_scale": 1.0},
            settings={
                "model": model.model_dump(mode="json"),
                "training": training.model_dump(mode="json", exclude={"model"}),
            },
        )
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_zip(path: Path, members: dict[str, bytes] | list[tuple[str, bytes]]) -> Path:
    """Write a zip of ``members`` (a list allows duplicated names)."""
    items = members.items() if isinstance(members, dict) else members
    path.parent.mkdir(parents=True, exist_ok=True)
    # Stored, not deflated: compressing the 2 MB model.h5 for every case would double the runtime.
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        warnings.simplefilter("ignore", UserWarning)  # a duplicated name is what a case wants
        for name, data in items:
            archive.writestr(name, data)
    return path


def write_good_bundle(folder: Path) -> Path:
    """Write the valid bundle to ``folder/wts.h5.zip``."""
    return write_zip(folder / "wts.h5.zip", bundle_members())
