"""Checkpoints and CSV metrics are replaced atomically: a failed or killed write changes nothing."""

from __future__ import annotations

import csv

import pytest
import torch

from ptycho_engine.training import checkpoint_io as lightning_io
from ptycho_engine.training.checkpoint_io import AtomicCheckpointIO, AtomicCSVLogger


def test_checkpoint_is_written_and_loads_back(tmp_path):
    path = tmp_path / "checkpoints" / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"epoch": 3, "w": torch.ones(2)}, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded["epoch"] == 3 and torch.equal(loaded["w"], torch.ones(2))
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]


def test_a_save_that_fails_midway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 1}, path)
    before = path.read_bytes()

    def half_then_fail(obj, stream):
        stream.write(b"PK\x03\x04 half a checkpoint")  # what a kill mid-write would leave
        raise OSError("disk full")

    monkeypatch.setattr(lightning_io.torch, "save", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"epoch": 2}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_temporaries_of_a_killed_save_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "last.ckpt"
    stale = tmp_path / ".last.ckpt.k1ll3d.tmp"  # the name atomic_output gives its temporary
    stale.write_bytes(b"half")
    other = tmp_path / ".epoch=000.ckpt.abc.tmp"  # another file's temporary is not touched
    other.write_bytes(b"half")
    AtomicCheckpointIO().save_checkpoint({"epoch": 2}, path)
    assert not stale.exists() and other.exists()


def test_csv_logger_rewrites_metrics_whole_including_new_columns(tmp_path):
    logger = AtomicCSVLogger(save_dir=tmp_path, name="run")
    logger.log_hyperparams({"lr": 0.1})
    logger.log_metrics({"train_loss": 1.5}, step=0)
    logger.save()
    logger.log_metrics({"train_loss": 1.0, "val_loss": 2.0}, step=1)  # a new column
    logger.finalize("success")
    folder = tmp_path / "run" / "version_0"
    with open(folder / "metrics.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["step"], r["train_loss"], r["val_loss"]) for r in rows] == [
        ("0", "1.5", ""),
        ("1", "1.0", "2.0"),
    ]
    assert "lr: 0.1" in (folder / "hparams.yaml").read_text()
    assert sorted(p.name for p in folder.iterdir()) == ["hparams.yaml", "metrics.csv"]
