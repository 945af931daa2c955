"""Lightning's own writers (checkpoints, CSV metrics) routed through :mod:`ptycho_engine.atomic`.

Lightning saves a checkpoint by writing it through fsspec, whose local "transaction" writes
to the system temporary directory and then moves the file; when that directory is on another
file system the move is a copy under the final name, so a kill during it leaves a truncated
``last.ckpt``. Its CSV logger appends to ``metrics.csv`` and rewrites the file whenever a new
column appears. Here both write a complete file next to the target and rename it.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.core.saving import save_hparams_to_yaml
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from ptycho_engine.atomic import atomic_output, atomic_write_bytes, remove_stale_temporaries


class AtomicCheckpointIO(TorchCheckpointIO):
    """Save checkpoints to a temporary file in the same directory, then rename (local paths)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path, storage_options: Any = None
    ) -> None:
        """Write ``checkpoint`` to ``path`` so that ``path`` is always a complete checkpoint."""
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target)  # left by a process killed while saving
        with atomic_output(target, overwrite=True) as temporary, open(temporary, "wb") as stream:
            torch.save(checkpoint, stream)


class _AtomicExperimentWriter(ExperimentWriter):
    """Rewrite ``metrics.csv`` and ``hparams.yaml`` whole and atomically at every save."""

    def log_hparams(self, params: dict[str, Any]) -> None:
        self.hparams.update(params)
        self._save_hparams()

    def save(self) -> None:
        self._save_hparams()
        if not self.metrics:
            return
        self._record_new_keys()
        rows = _read_rows(self.metrics_file_path) + self.metrics
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=self.metrics_keys)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(self.metrics_file_path, buffer.getvalue().encode(), overwrite=True)
        self.metrics = []

    def _save_hparams(self) -> None:
        path = os.path.join(self.log_dir, self.NAME_HPARAMS_FILE)
        with atomic_output(path, overwrite=True) as temporary:
            save_hparams_to_yaml(temporary, self.hparams)


def _read_rows(path: str) -> list[dict[str, str]]:
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


class AtomicCSVLogger(CSVLogger):
    """Lightning's ``CSVLogger`` whose files are replaced atomically, never appended to."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        """The writer of ``metrics.csv`` and ``hparams.yaml`` (rank 0 only)."""
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AtomicExperimentWriter(log_dir=self.log_dir)
        return self._experiment
