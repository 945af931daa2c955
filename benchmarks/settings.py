"""Settings layer speed: import time, cold first resolution, and warm resolution time.

Run: ``python benchmarks/settings.py``. Targets: import < 150 ms, resolve < 2 ms.
Import times are measured in fresh interpreters, minus an empty interpreter's start-up, so
they include everything a container pays on its first command.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPEATS = 15


def _fresh_interpreter_ms(code: str) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _inputs(folder: Path) -> tuple[Path, Path, dict, dict]:
    data = folder / "data.npz"
    np.savez(
        data,
        diff3d=np.zeros((16, 64, 64), np.float32),
        xcoords=np.arange(16.0),
        ycoords=np.arange(16.0),
        probeGuess=np.ones((64, 64), np.complex64),
        _metadata=np.array(json.dumps({"nphotons": 1e6})),
    )
    config = folder / "run.toml"
    config.write_text(
        "[model]\ngridsize = 2\n[training]\nnepochs = 20\nbatch_size = 32\n"
        'n_groups = 1024\nscheduler = "warmup-cosine"\nlr_warmup_epochs = 2\n'
        '[execution]\nlogger = "csv"\nnum_workers = 2\n'
    )
    environ = {"PTYCHO_DEVICE": "cpu", "PTYCHO_STRATEGY": "auto", "PTYCHO_SEED": "7"}
    flags = {
        "learning_rate": ("2e-3", "--learning-rate"),
        "train_data_file": (str(data), "--train-data-file"),
        "neighbor_count": ("6", "--neighbor-count"),
    }
    return data, config, environ, flags


def _warm_resolve_ms(config: Path, environ: dict, flags: dict, check_files: bool) -> float:
    from ptycho_settings import create_training_config

    create_training_config(config, environ=environ, flags=flags, check_files=check_files)
    times = []
    for _ in range(200):
        start = time.perf_counter()
        create_training_config(config, environ=environ, flags=flags, check_files=check_files)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    baseline = _fresh_interpreter_ms("pass")
    lazy_import = _fresh_interpreter_ms("import ptycho_settings") - baseline
    classes = (
        _fresh_interpreter_ms("from ptycho_settings import TrainingConfig, PyTorchExecutionConfig")
        - baseline
    )
    with tempfile.TemporaryDirectory() as folder:
        _, config, environ, flags = _inputs(Path(folder))
        cold = (
            _fresh_interpreter_ms(
                "from ptycho_settings import create_training_config as c; "
                f"c({str(config)!r}, environ={environ!r}, flags={flags!r})"
            )
            - baseline
        )
        warm_no_data = _warm_resolve_ms(config, environ, flags, check_files=False)
        warm_with_data = _warm_resolve_ms(config, environ, flags, check_files=True)
    print(f"{'measure':<58} {'ms':>8}  target")
    print(f"{'import ptycho_settings (lazy public names)':<58} {lazy_import:8.1f}  < 150")
    print(f"{'import the settings classes (pydantic, pydantic-settings)':<58} {classes:8.1f}")
    print(f"{'cold: import + first resolution (file+env+flags+data)':<58} {cold:8.1f}")
    print(f"{'warm resolution, file + env + flags (median of 200)':<58} {warm_no_data:8.3f}  < 2")
    print(f"{'warm resolution, + data file read (N, nphotons)':<58} {warm_with_data:8.3f}")


if __name__ == "__main__":
    main()
