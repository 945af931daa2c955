"""SIGINT and SIGTERM stop training cleanly: status 128+signal, one line, last checkpoint kept."""

from __future__ import annotations

import os
import signal

import pytest

from ptycho_engine.training.interrupt import TrainingInterrupted, stop_on_signals
from tests.engine.reliability.runs import (
    checkpoint_epoch,
    start_training,
    stray_files,
    train_arguments,
    wait_for_batch,
)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_epoch_stops_with_one_line_and_keeps_the_checkpoint(tmp_path, signum, status):
    out, progress = tmp_path / "model", tmp_path / "progress"
    process = start_training(progress, pause_at=(1, 1), arguments=train_arguments(out))
    wait_for_batch(process, progress, epoch=1, batch=1)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == status, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    name = signal.Signals(signum).name
    last = out / "checkpoints" / "last.ckpt"
    expected = f"training stopped by {name} in epoch 2/3, before writing the bundle"
    assert lines[0].startswith(expected)
    assert f"last checkpoint {last}" in lines[0] and "--resume" in lines[0]
    assert "Traceback" not in stderr and stdout == ""
    assert checkpoint_epoch(last) == 0
    assert not (out / "wts.h5.zip").exists() and not (out / "loss_curve.png").exists()
    assert stray_files(out) == []


@pytest.fixture
def handled():
    """Give SIGINT and SIGTERM Python's usual start-up handlers for one test (a test runner
    started in the background of a script has SIGINT ignored).
    """
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stop_on_signals_raises_and_restores_the_handlers(handled, signum, status):
    before = signal.getsignal(signum)
    with pytest.raises(TrainingInterrupted) as caught:
        with stop_on_signals():
            os.kill(os.getpid(), signum)  # the handler runs before the next line
    assert caught.value.exit_status == status
    assert "before training began" in caught.value.describe()
    assert signal.getsignal(signum) is before


def test_an_ignored_signal_stays_ignored(handled):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with stop_on_signals():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_the_demo_stops_on_a_signal_with_one_line(handled, monkeypatch, capsys, tmp_path):
    import ptycho_engine.demo as demo
    from ptycho_engine.cli import main

    def interrupted_demo(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # as a batch system's time limit would

    monkeypatch.setattr(demo, "run_demo", interrupted_demo)
    status = main(["demo", "--output-dir", str(tmp_path / "demo"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 143
    assert err.strip().splitlines() == [
        "demo stopped by SIGTERM; every file it wrote is complete; run `ptycho demo --overwrite` "
        "to start again"
    ]
