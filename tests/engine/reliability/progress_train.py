"""``ptycho train`` with a callback that reports each finished batch to a file (tests only).

Usage: ``python progress_train.py PROGRESS_FILE PAUSE_AT [ptycho train arguments…]``. After
every training batch the file holds ``"<epoch> <batch>"`` (0-based), replaced atomically;
after the batch ``PAUSE_AT`` (``"1 1"``) the run waits up to a minute, so a test's signal
lands there however fast the machine is. Everything else is the real command line.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import lightning as L

import ptycho_engine.training.workflow as train_module
from ptycho_engine.cli import main


class ReportProgress(L.Callback):
    """Write ``"<epoch> <batch>"`` to ``path`` after every training batch."""

    def __init__(self, path: Path, pause_at: tuple[int, int]) -> None:
        self.path, self.pause_at = path, pause_at

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(f"{trainer.current_epoch} {batch_idx}")
        os.replace(partial, self.path)
        if (trainer.current_epoch, batch_idx) == self.pause_at:
            time.sleep(60)  # a signal handler's exception ends the sleep


def _with_progress(build_trainer, path: Path, pause_at: tuple[int, int]):
    def build(*args, callbacks=(), **kwargs):
        report = ReportProgress(path, pause_at)
        return build_trainer(*args, callbacks=[*callbacks, report], **kwargs)

    return build


if __name__ == "__main__":
    progress, pause_at = Path(sys.argv[1]), tuple(int(v) for v in sys.argv[2].split())
    train_module.build_trainer = _with_progress(train_module.build_trainer, progress, pause_at)
    sys.exit(main(["train", *sys.argv[3:]]))
