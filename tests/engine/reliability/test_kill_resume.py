"""SIGKILL in the middle of an epoch loses nothing: ``--resume`` ends where an unkilled run ends."""

from __future__ import annotations

import signal

import numpy as np

from ptycho_engine.bundle import read_bundle
from ptycho_engine.cli import main
from tests.engine.reliability.runs import (
    bundle_weights,
    checkpoint_epoch,
    largest_difference,
    start_training,
    stray_files,
    train_arguments,
    wait_for_batch,
)

# Both runs execute the same float32 operations in the same order on the CPU, so they agree
# to the bit (measured: 0.0); the bound leaves room for a BLAS that splits work differently.
RELATIVE_TOLERANCE = 1e-6


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path, capsys):
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    progress = tmp_path / "progress"
    process = start_training(progress, pause_at=(1, 1), arguments=train_arguments(killed))
    wait_for_batch(process, progress, epoch=1, batch=1)  # epoch 0 saved, epoch 1 half done
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "wts.h5.zip").exists()
    assert checkpoint_epoch(killed / "checkpoints" / "last.ckpt") == 0  # complete and loadable

    assert main(["train", *train_arguments(killed), "--resume"]) == 0
    assert main(["train", *train_arguments(reference)]) == 0
    assert "trained 3 epochs" in capsys.readouterr().out

    difference, scale = largest_difference(bundle_weights(killed), bundle_weights(reference))
    print(f"resume vs uninterrupted: max |Δw| = {difference:.3g} (max |w| = {scale:.3g})")
    assert difference <= RELATIVE_TOLERANCE * scale
    # the loss history travels in the checkpoint: the resumed bundle's curve has every epoch
    resumed_losses, losses = (read_bundle(d).extras["train_loss"] for d in (killed, reference))
    assert resumed_losses.shape == (3,) and np.allclose(resumed_losses, losses, rtol=1e-6)
    assert stray_files(killed) == []
