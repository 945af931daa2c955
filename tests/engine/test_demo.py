"""``ptycho demo`` end to end, shortened: the command, its outputs, its summary, its refusals.

The full demo (16 epochs, about 35 s) is timed in docs/performance.md; here two epochs of 64
groups run the same code path in a few seconds.
"""

import json

import pytest

import ptycho_engine.demo as demo
from ptycho_engine.cli import main


@pytest.fixture
def short_demo(monkeypatch):
    monkeypatch.setattr(demo, "DEMO_EPOCHS", 2)
    monkeypatch.setattr(demo, "DEMO_GROUPS", 64)


def test_the_demo_writes_its_outputs_and_beats_a_constant_object(short_demo, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--output-dir", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "reconstruction" / "metrics.json").read_text())
    for part in ("amplitude", "phase"):
        ssim = metrics[part]["ssim"]
        assert f"{ssim:.3f}" in printed  # the summary table shows the scores written
        # even two epochs start from each pattern's physics estimate (SSIM about 0.85 / 0.9)
        assert ssim > 0.7
    assert "constant object" in printed and "train time (s)" in printed
    for name in (
        "simulated.npz",
        "model/wts.h5.zip",
        "model/loss_curve.png",
        "reconstruction/reconstruction.npz",
        "reconstruction/amplitude.png",
        "reconstruction/phase.png",
    ):
        assert (out / name).is_file(), name
        assert str(out / name) in printed  # and where everything went


def test_a_second_demo_refuses_to_overwrite_the_first(short_demo, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--output-dir", str(out), "--quiet"]) == 0
    before = (out / "reconstruction" / "metrics.json").read_bytes()
    capsys.readouterr()
    assert main(["demo", "--output-dir", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert (out / "reconstruction" / "metrics.json").read_bytes() == before
