"""``ptycho demo`` resolves its settings as defaults below ``PTYCHO_*`` (a container's knobs)."""

from __future__ import annotations

import ptycho_engine.demo as demo
from ptycho_engine.cli import main
from ptycho_engine.errors import EngineError


def _capture(monkeypatch) -> dict:
    seen: dict = {}

    def fake_run_demo(output_dir, **kwargs):
        seen.update(kwargs, output_dir=output_dir)
        raise EngineError("stopped by the test")  # one line, exit 2: nothing is trained

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    return seen


def test_the_environment_shortens_the_demo(env, monkeypatch, tmp_path):
    env(PTYCHO_NEPOCHS="3", PTYCHO_N_GROUPS="32", PTYCHO_DEVICE="cpu")
    seen = _capture(monkeypatch)
    assert main(["demo", "--output-dir", str(tmp_path / "d"), "--quiet"]) == 2
    training = seen["training"]
    assert (training.nepochs, training.n_groups) == (3, 32)
    assert training.batch_size == 16 and training.model.gridsize == 2  # the demo's own
    assert training.output_dir == tmp_path / "d" / "model"
    assert seen["execution"].accelerator == "cpu"


def test_without_variables_the_demo_keeps_its_settings(monkeypatch, tmp_path):
    seen = _capture(monkeypatch)
    assert main(["demo", "--output-dir", str(tmp_path / "d")]) == 2
    assert (seen["training"].nepochs, seen["training"].n_groups) == (
        demo.DEMO_EPOCHS,
        demo.DEMO_GROUPS,
    )


def test_a_variable_naming_the_demo_folders_is_refused(env, monkeypatch, tmp_path, capsys):
    env(PTYCHO_TRAIN_DATA_FILE=str(tmp_path / "mine.npz"))
    seen = _capture(monkeypatch)
    assert main(["demo", "--output-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert "PTYCHO_TRAIN_DATA_FILE" in err and len(err.splitlines()) == 1
    assert not seen  # refused before the demo started
