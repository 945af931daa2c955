"""``ptycho train`` and ``ptycho infer`` end to end on a tiny run: outputs, refusals, resume."""

import json
from pathlib import Path

import numpy as np
import pytest

from ptycho_engine.cli import main
from tests.engine.simdata import simulated_files

TINY = ["--n-filters-scale", "1", "--n-groups", "16", "--batch-size", "8", "--accelerator", "cpu",
        "--enable-progress-bar", "false", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    train_file, _ = simulated_files()
    out = tmp_path_factory.mktemp("run") / "model"
    assert main(["train", "--train-data-file", str(train_file), "--output-dir", str(out),
                 "--nepochs", "1", *TINY]) == 0
    return out


def test_train_writes_bundle_checkpoint_metrics_and_curve(trained, capsys):
    assert (trained / "wts.h5.zip").is_file() and (trained / "checkpoints" / "last.ckpt").is_file()
    assert (trained / "loss_curve.png").stat().st_size > 1000
    assert list((trained / "logs").rglob("metrics.csv"))


def test_train_refuses_to_overwrite_a_bundle(trained, capsys):
    train_file, _ = simulated_files()
    before = (trained / "wts.h5.zip").read_bytes()
    status = main(["train", "--train-data-file", str(train_file), "--output-dir", str(trained),
                   "--nepochs", "1", *TINY])
    assert status == 2 and "--overwrite" in capsys.readouterr().err
    assert (trained / "wts.h5.zip").read_bytes() == before


def test_resume_continues_from_the_last_checkpoint(tmp_path, trained, capsys):
    import shutil

    train_file, _ = simulated_files()
    run = tmp_path / "model"
    shutil.copytree(trained, run)
    status = main(["train", "--train-data-file", str(train_file), "--output-dir", str(run),
                   "--nepochs", "2", "--resume", *TINY])
    out = capsys.readouterr().out
    assert status == 0 and "trained 2 epochs" in out


def test_infer_writes_reconstruction_figures_and_metrics(trained, tmp_path, capsys):
    _, test_file = simulated_files()
    out = tmp_path / "recon"
    status = main(["infer", "--model-path", str(trained), "--test-data-file", str(test_file),
                   "--output-dir", str(out), "--quiet", "--phase-vmin", "-1", "--phase-vmax", "1"])
    assert status == 0
    result = np.load(out / "reconstruction.npz", allow_pickle=False)
    assert result["object"].dtype == np.complex64 and result["origin"].shape == (2,)
    assert np.allclose(result["amplitude"], np.abs(result["object"]))
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["amplitude"]["ssim"] <= 1 and "half_bit" in metrics["frc"]
    for name in ("amplitude.png", "phase.png", "comparison.png", "frc.png"):
        assert (out / name).stat().st_size > 1000
    assert "SSIM" in capsys.readouterr().out


def test_infer_refuses_model_settings_that_differ_from_the_bundle(trained, tmp_path, capsys):
    _, test_file = simulated_files()
    status = main(["infer", "--model-path", str(trained), "--test-data-file", str(test_file),
                   "--output-dir", str(tmp_path / "r"), "--gridsize", "2"])
    assert status == 2 and "model settings come from the bundle" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_tensorflow_backend_is_refused_clearly(tmp_path, capsys):
    train_file, _ = simulated_files()
    status = main(["train", "--train-data-file", str(train_file), "--output-dir", str(tmp_path),
                   "--backend", "tensorflow", *TINY])
    assert status == 2 and "no TensorFlow engine" in capsys.readouterr().err


def test_missing_torch_names_the_install_command(monkeypatch, capsys, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    train_file, _ = simulated_files()
    status = main(["train", "--train-data-file", str(train_file), "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2 and "pip install" in err and "torch" in err
