"""Helpers of the reliability tests: small deterministic runs, in this process or another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.engine.simdata import simulated_files

# 16 groups in batches of 4: four steps per epoch, a few seconds an epoch on two CPU cores.
SMALL = [
    "--n-filters-scale",
    "1",
    "--n-groups",
    "16",
    "--batch-size",
    "4",
    "--seed",
    "7",
    "--deterministic",
    "true",
    "--accelerator",
    "cpu",
    "--enable-progress-bar",
    "false",
    "--quiet",
]
PROGRESS_TRAIN = Path(__file__).with_name("progress_train.py")
REPO = Path(__file__).resolve().parents[3]


def train_arguments(output_dir: Path, *extra: str, nepochs: int = 3) -> list[str]:
    """The ``ptycho train`` arguments (without ``train``) of a small run into ``output_dir``."""
    train_file, _ = simulated_files()
    return [
        "--train-data-file",
        str(train_file),
        "--output-dir",
        str(output_dir),
        "--nepochs",
        str(nepochs),
        *SMALL,
        *extra,
    ]


def start_training(
    progress: Path, arguments: list[str], *, pause_at: tuple[int, int]
) -> subprocess.Popen:
    """Start ``ptycho train ARGUMENTS`` in another process that reports batches to ``progress``
    and waits after batch ``pause_at`` = (epoch, batch), 0-based, for the test's signal.
    """
    environment = clean_environment()
    pause = f"{pause_at[0]} {pause_at[1]}"
    return subprocess.Popen(
        [sys.executable, str(PROGRESS_TRAIN), str(progress), pause, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=REPO,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    # A test runner started in the background of a script has SIGINT ignored, and a child
    # inherits that; an interactive `ptycho train` has it on.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def clean_environment(**variables: str) -> dict[str, str]:
    """The environment of this process without ``PTYCHO_*`` variables, plus ``variables``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PTYCHO_")}
    path = [str(REPO), environment.get("PYTHONPATH", "")]
    return {**environment, "PYTHONPATH": os.pathsep.join(filter(None, path)), **variables}


def wait_for_batch(
    process: subprocess.Popen, progress: Path, *, epoch: int, batch: int, timeout_s: float = 240.0
) -> None:
    """Wait until ``process`` has finished batch ``batch`` of epoch ``epoch`` (0-based)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read()
            raise AssertionError(f"training ended early ({process.returncode}): {error}")
        if progress.exists():
            seen = tuple(int(value) for value in progress.read_text().split())
            if seen >= (epoch, batch):
                return
        time.sleep(0.02)
    process.kill()
    raise AssertionError(f"no progress to epoch {epoch}, batch {batch} within {timeout_s} s")


def bundle_weights(output_dir: Path) -> dict[str, np.ndarray]:
    """The network weights stored in ``output_dir/wts.h5.zip``."""
    from ptycho_engine.bundle import read_bundle

    return read_bundle(output_dir).weights["diffraction_to_obj"]


def _numeric(array: np.ndarray) -> np.ndarray:
    """Boolean buffers (markers such as ``refines_estimate``) compared as 0/1."""
    return array.astype(np.float64) if array.dtype == bool else array


def largest_difference(
    first: dict[str, np.ndarray], second: dict[str, np.ndarray]
) -> tuple[float, float]:
    """(max |a − b|, max |b|) over every tensor of two state dicts with the same keys."""
    assert first.keys() == second.keys()
    difference = max(
        float(np.max(np.abs(_numeric(first[k]) - _numeric(second[k])), initial=0.0)) for k in first
    )
    scale = max(float(np.max(np.abs(_numeric(second[k])), initial=0.0)) for k in second)
    return difference, scale


def relative_norm_difference(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> float:
    """‖a − b‖ / ‖b‖ over all tensors of two state dicts together (Euclidean norms)."""
    assert first.keys() == second.keys()
    squared = sum(
        float(np.sum(np.abs(_numeric(first[k]) - _numeric(second[k])) ** 2)) for k in first
    )
    return (squared / sum(float(np.sum(np.abs(_numeric(second[k])) ** 2)) for k in second)) ** 0.5


def checkpoint_epoch(path: Path) -> int:
    """The epoch (0-based) a Lightning checkpoint was saved at; loads it without unpickling code."""
    import torch

    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    assert all(
        bool(torch.isfinite(t).all())
        for t in checkpoint["state_dict"].values()
        if t.is_floating_point() or t.is_complex()
    )
    return int(checkpoint["epoch"])


def stray_files(folder: Path) -> list[Path]:
    """Temporary files of interrupted writers (``.*.tmp``, ``*.partial``) under ``folder``."""
    return [p for p in folder.rglob("*") if p.name.endswith((".tmp", ".partial"))]
