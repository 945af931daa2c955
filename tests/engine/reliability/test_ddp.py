"""Two CPU processes (gloo DDP) chosen by PTYCHO_STRATEGY: rank 0 writes; one process agrees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from ptycho_engine.bundle import read_bundle
from ptycho_engine.cli import main
from ptycho_engine.network import cnn
from tests.engine.reliability.runs import (
    REPO,
    bundle_weights,
    clean_environment,
    largest_difference,
    relative_norm_difference,
    train_arguments,
)

TRAIN_WITH_NORM = Path(__file__).with_name("train_with_norm.py")

# Two processes with batch 4 and one with batch 8 train on the same groups at every step
# (ptycho_engine.training.sampling); only the order of float32 sums differs (gloo's all-reduce of the
# gradients, one thread per process). The runs use SGD: Adam divides each step by the
# gradient's running size, so a weight whose gradient is near zero takes a step of about the
# learning rate in a direction set by rounding (with Adam, ‖Δw‖/‖w‖ was 3.7e-7 for one
# network and 1.4e-4 for another, whose deep layers' gradients nearly vanish), which says
# nothing about the distribution. SGD keeps rounding differences at rounding size. A control
# run at another global batch shows the comparison can fail. Measured after 2 epochs (4
# steps, SGD lr 1e-4): ‖Δw‖/‖w‖ = 1.7e-8 (max |Δw| 1.5e-7), train_loss equal; the control
# differs by 7.2e-3.
RELATIVE_TOLERANCE = 1e-5
SGD = ("--optimizer", "sgd", "--learning-rate", "1e-4")


# BatchNorm statistics are per process on CPUs (torch's SyncBatchNorm needs GPUs), which no
# sampler can make equal to one process's; the comparison uses a generator without them.
NORM = "none"


def _two_process_run(out) -> subprocess.CompletedProcess:
    environment = clean_environment(PTYCHO_STRATEGY="ddp", PTYCHO_DEVICES="2")
    arguments = train_arguments(out, *SGD, nepochs=2)
    # Lightning starts rank 1 with the same command line
    command = [sys.executable, str(TRAIN_WITH_NORM), NORM, "train", *arguments]
    return subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=REPO, timeout=300
    )


def test_two_gloo_processes_agree_with_one_process_at_the_same_global_batch(tmp_path, monkeypatch):
    two, one = tmp_path / "two", tmp_path / "one"
    finished = _two_process_run(two)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.count("trained 2 epochs") == 1  # rank 1 prints nothing

    files = sorted(str(p.relative_to(two)) for p in two.rglob("*") if p.is_file())
    assert [f for f in files if not f.startswith("checkpoints/epoch=")] == [
        "checkpoints/last.ckpt",
        "logs/ptychopinn/version_0/hparams.yaml",
        "logs/ptychopinn/version_0/metrics.csv",
        "loss_curve.png",
        "wts.h5.zip",
    ]
    assert len(files) == 6  # and one best checkpoint
    assert read_bundle(two).settings["resolved_execution"]["strategy"] == "ddp"

    monkeypatch.setattr(cnn, "DEFAULT_NORM", NORM, raising=False)
    assert main(["train", *train_arguments(one, *SGD, nepochs=2), "--batch-size", "8"]) == 0
    weights = bundle_weights(two), bundle_weights(one)
    relative = relative_norm_difference(*weights)
    difference, scale = largest_difference(*weights)
    losses = [read_bundle(d).extras["train_loss"] for d in (two, one)]
    print(
        f"2 processes vs 1: ‖Δw‖/‖w‖ = {relative:.3g}, max |Δw| = {difference:.3g} "
        f"(max |w| = {scale:.3g}); train_loss {losses[0].tolist()} vs {losses[1].tolist()}"
    )
    assert relative <= RELATIVE_TOLERANCE
    assert np.allclose(losses[0], losses[1], rtol=RELATIVE_TOLERANCE, atol=0)
    # control: one process at batch 4 (half the global batch) trains differently
    other = tmp_path / "other"
    assert main(["train", *train_arguments(other, *SGD, nepochs=2), "--batch-size", "4"]) == 0
    control = relative_norm_difference(bundle_weights(other), weights[1])
    print(f"control, another global batch: ‖Δw‖/‖w‖ = {control:.3g}")
    assert control > 100 * RELATIVE_TOLERANCE
