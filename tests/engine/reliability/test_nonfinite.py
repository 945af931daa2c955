"""A non-finite loss stops training: one line naming epoch and batch; nothing good is lost."""

from __future__ import annotations

from types import SimpleNamespace

import lightning as L
import pytest
import torch

import ptycho_engine.training.workflow as train_module
from ptycho_engine.cli import main
from ptycho_engine.training.callbacks import NonFiniteLossError, StopOnNonFiniteLoss
from tests.engine.reliability.runs import checkpoint_epoch, train_arguments


class PoisonBatch(L.Callback):
    """Turn the input of one training batch into NaN (a stand-in for a corrupt measurement)."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.at = (epoch, batch)

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if (trainer.current_epoch, batch_idx) == self.at:
            batch["diffraction"].fill_(float("nan"))


def _poison(monkeypatch, epoch: int, batch: int) -> None:
    build = train_module.build_trainer

    def build_with_poison(*args, callbacks=(), **kwargs):
        return build(*args, callbacks=[*callbacks, PoisonBatch(epoch, batch)], **kwargs)

    monkeypatch.setattr(train_module, "build_trainer", build_with_poison)


def test_nan_names_epoch_and_batch_and_keeps_bundle_and_good_checkpoint(
    tmp_path, monkeypatch, capsys
):
    out = tmp_path / "model"
    assert main(["train", *train_arguments(out, nepochs=1)]) == 0
    bundle = (out / "wts.h5.zip").read_bytes()
    capsys.readouterr()
    _poison(monkeypatch, epoch=1, batch=2)
    # looked at only every 50 steps: found at the epoch end, before that epoch's checkpoint
    status = main(["train", *train_arguments(out, "--resume", "--log-every-n-steps", "50")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert "non-finite in epoch 2/3, batch 3/4" in err
    assert f"last good checkpoint: {out / 'checkpoints' / 'last.ckpt'}" in err
    assert (out / "wts.h5.zip").read_bytes() == bundle  # the earlier bundle is untouched
    assert checkpoint_epoch(out / "checkpoints" / "last.ckpt") == 0  # finite weights of epoch 1
    names = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert len(names) == 2 and names[0].startswith("epoch=000-") and names[1] == "last.ckpt"


def test_divergence_stops_through_the_cli_and_writes_no_bundle(tmp_path, capsys):
    out = tmp_path / "model"
    status = main(
        [
            "train",
            *train_arguments(
                out,
                "--optimizer",
                "sgd",
                "--learning-rate",
                "1e12",
                "--log-every-n-steps",
                "1",
                nepochs=1,
            ),
        ]
    )
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert "the training loss became non-finite in epoch 1/1, batch" in err
    assert "no checkpoint had been written yet" in err
    assert not (out / "wts.h5.zip").exists() and not (out / "checkpoints").exists()


def _fake_trainer(epoch: int = 0) -> SimpleNamespace:
    return SimpleNamespace(
        current_epoch=epoch,
        max_epochs=5,
        num_training_batches=20,
        world_size=1,
        checkpoint_callback=None,
    )


def test_the_host_looks_only_every_k_steps_but_names_the_first_bad_batch():
    callback, trainer = StopOnNonFiniteLoss(check_every_n_steps=10), _fake_trainer(epoch=2)
    losses = [1.0, 2.0, 3.0, float("nan"), float("inf"), 1.0, 1.0, 1.0, 1.0]
    for index, value in enumerate(losses):  # nine steps: nothing is read on the host yet
        callback.on_train_batch_end(trainer, None, {"loss": torch.tensor(value)}, None, index)
    with pytest.raises(NonFiniteLossError, match=r"epoch 3/5, batch 4/20"):
        callback.on_train_batch_end(trainer, None, {"loss": torch.tensor(1.0)}, None, 9)


def test_finite_losses_pass_and_every_checkpoint_save_looks_first():
    callback, trainer = StopOnNonFiniteLoss(check_every_n_steps=100), _fake_trainer()
    for index in range(3):
        callback.on_train_batch_end(trainer, None, torch.tensor(0.5), None, index)
    callback.on_train_epoch_end(trainer, None)
    callback.on_train_batch_end(trainer, None, torch.tensor(float("nan")), None, 3)
    with pytest.raises(NonFiniteLossError, match="batch 4/20"):
        callback.on_save_checkpoint(trainer, None, {})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_steps_between_looks_do_not_synchronise_the_gpu():
    callback, trainer = StopOnNonFiniteLoss(check_every_n_steps=10), _fake_trainer()
    losses = torch.rand(9, device="cuda")
    callback.on_train_batch_end(trainer, None, losses[0], None, 0)  # allocates the flag
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any host synchronisation raises
    try:
        for index in range(1, 9):
            callback.on_train_batch_end(trainer, None, {"loss": losses[index]}, None, index)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    callback.on_train_batch_end(trainer, None, losses[0], None, 9)  # the look: finite, no error
