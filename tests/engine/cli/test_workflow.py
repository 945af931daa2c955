"""``ptycho train`` and ``ptycho infer`` end to end on a tiny run: outputs, refusals, resume."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ptycho_engine.cli import main
from tests.engine.simdata import simulated_files

TINY = [
    "--n-filters-scale",
    "1",
    "--n-groups",
    "16",
    "--batch-size",
    "8",
    "--accelerator",
    "cpu",
    "--enable-progress-bar",
    "false",
    "--quiet",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    train_file, _ = simulated_files()
    out = tmp_path_factory.mktemp("run") / "model"
    assert (
        main(
            [
                "train",
                "--train-data-file",
                str(train_file),
                "--output-dir",
                str(out),
                "--nepochs",
                "1",
                *TINY,
            ]
        )
        == 0
    )
    return out


def test_train_writes_bundle_checkpoint_metrics_and_curve(trained, capsys):
    assert (trained / "wts.h5.zip").is_file() and (trained / "checkpoints" / "last.ckpt").is_file()
    assert (trained / "loss_curve.png").stat().st_size > 1000
    assert list((trained / "logs").rglob("metrics.csv"))


def test_train_refuses_to_overwrite_a_bundle(trained, capsys):
    train_file, _ = simulated_files()
    before = (trained / "wts.h5.zip").read_bytes()
    status = main(
        [
            "train",
            "--train-data-file",
            str(train_file),
            "--output-dir",
            str(trained),
            "--nepochs",
            "1",
            *TINY,
        ]
    )
    assert status == 2 and "--overwrite" in capsys.readouterr().err
    assert (trained / "wts.h5.zip").read_bytes() == before


def test_resume_continues_from_the_last_checkpoint(tmp_path, trained, capsys):
    import shutil

    import torch

    from ptycho_engine.bundle import read_bundle

    train_file, _ = simulated_files()
    run = tmp_path / "model"
    shutil.copytree(trained, run)
    # mark the checkpoint: its loss history must carry over into the resumed run's bundle (a
    # fresh run, resume ignored, would compute the same first epoch again: training is seeded)
    last = run / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=False)  # this test's own file
    history = next(
        state for name, state in checkpoint["callbacks"].items() if "LossHistory" in name
    )
    history["history"]["train_loss"][0] = 12345.0
    torch.save(checkpoint, last)
    status = main(
        [
            "train",
            "--train-data-file",
            str(train_file),
            "--output-dir",
            str(run),
            "--nepochs",
            "2",
            "--resume",
            *TINY,
        ]
    )
    out = capsys.readouterr().out
    assert status == 0 and "trained 2 epochs" in out
    losses = read_bundle(run).extras["train_loss"]
    assert len(losses) == 2 and losses[0] == 12345.0 and losses[1] != 12345.0


def test_infer_writes_reconstruction_figures_and_metrics(trained, tmp_path, capsys):
    _, test_file = simulated_files()
    out = tmp_path / "recon"
    status = main(
        [
            "infer",
            "--model-path",
            str(trained),
            "--test-data-file",
            str(test_file),
            "--output-dir",
            str(out),
            "--quiet",
            "--phase-vmin",
            "-1",
            "--phase-vmax",
            "1",
        ]
    )
    assert status == 0
    result = np.load(out / "reconstruction.npz", allow_pickle=False)
    assert result["object"].dtype == np.complex64 and result["origin"].shape == (2,)
    assert np.allclose(result["amplitude"], np.abs(result["object"]))
    metrics = json.loads((out / "metrics.json").read_text())
    # one epoch of 2 steps learns little: the bound checks that infer reconstructs the held-out
    # object (measured 2026-12-04: amplitude / phase SSIM 0.824 / 0.883; the untrained network's
    # estimates 0.825 / 0.893; a probe-less CNN, a nearly flat object, 0.16 / 0.22)
    assert metrics["amplitude"]["ssim"] > 0.78 and metrics["phase"]["ssim"] > 0.83
    assert "half_bit" in metrics["frc"]
    for name in ("amplitude.png", "phase.png", "comparison.png", "frc.png"):
        assert (out / name).stat().st_size > 1000
    assert "SSIM" in capsys.readouterr().out


def test_infer_refuses_model_settings_that_differ_from_the_bundle(trained, tmp_path, capsys):
    _, test_file = simulated_files()
    status = main(
        [
            "infer",
            "--model-path",
            str(trained),
            "--test-data-file",
            str(test_file),
            "--output-dir",
            str(tmp_path / "r"),
            "--gridsize",
            "2",
        ]
    )
    assert status == 2 and "model settings come from the bundle" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_tensorflow_backend_is_refused_clearly(tmp_path, capsys):
    train_file, _ = simulated_files()
    status = main(
        [
            "train",
            "--train-data-file",
            str(train_file),
            "--output-dir",
            str(tmp_path),
            "--backend",
            "tensorflow",
            *TINY,
        ]
    )
    assert status == 2 and "no TensorFlow engine" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "fix"),
    [
        (["--model-type", "supervised"], "model_type = pinn"),
        (["--realspace-weight", "1", "--realspace-mae-weight", "1"], "realspace_weight = 0"),
    ],
)
def test_training_that_needs_the_truth_refuses_a_file_without_object_guess(
    tmp_path, capsys, flags, fix
):
    from tests.conftest import write_npz

    data = write_npz(tmp_path / "no_truth.npz", M=16)
    out = tmp_path / "model"
    status = main(
        ["train", "--train-data-file", str(data), "--output-dir", str(out), *flags, *TINY]
    )
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1, err
    assert str(data) in err and "`objectGuess`" in err and fix in err
    assert not (out / "wts.h5.zip").exists()


_WITHOUT_TORCH = (
    "import sys; sys.modules['torch'] = sys.modules['lightning'] = None; "
    "from ptycho_engine.cli import main; sys.exit(main(sys.argv[1:]))"
)


def _run_without_torch(args: list[str], cwd: Path):
    # the interpreter cannot import torch or Lightning, as on a machine without the engine
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_TORCH, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command",
    [
        ["train", "--train-data-file", "{data}", "--output-dir", "{out}"],
        [
            "infer",
            "--model-path",
            "{tmp}/model",
            "--test-data-file",
            "{data}",
            "--output-dir",
            "{out}",
        ],
        ["demo", "--output-dir", "{out}"],
        ["simulate", "{out}/scan.npz"],
        ["data", "check", "{data}"],
        ["data", "convert", "{data}", "{out}/converted.npz"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_without_torch_engine_commands_name_the_install_command(tmp_path, command):
    train_file, _ = simulated_files()
    if command[0] == "infer":  # its settings come from the bundle, read before the engine is needed
        from tests.engine.ptychodus import small_scan, untrained_bundle

        untrained_bundle(tmp_path / "model", small_scan())
    args = [part.format(data=train_file, out=tmp_path / "out", tmp=tmp_path) for part in command]
    result = _run_without_torch(args, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "pip install" in result.stderr and "torch" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing written


def test_without_torch_the_config_commands_still_work(tmp_path):
    result = _run_without_torch(["config", "show", "--N", "128"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "128" in result.stdout
