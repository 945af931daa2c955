"""Earlier results are replaced only with ``--overwrite``; a refusal is one line and exit status 2.

``ptycho simulate`` and ``ptycho data convert`` refusals are tested beside their modules
(tests/engine/cli/test_simulate.py, tests/engine/data/test_convert.py, tests/engine/cli/test_data.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ptycho_engine.cli import main
from tests.engine.reliability.runs import stray_files, train_arguments
from tests.engine.simdata import simulated_files


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_ino)
        for p in folder.rglob("*")
        if p.is_file()
    }


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("overwrite") / "model"
    assert main(["train", *train_arguments(out, nepochs=1)]) == 0
    return out


def test_train_refuses_then_replaces_a_bundle_with_overwrite(trained, capsys):
    out = trained
    before = (trained / "wts.h5.zip").read_bytes()
    assert main(["train", *train_arguments(out, nepochs=1)]) == 2
    assert "wts.h5.zip exists; pass --overwrite" in _one_error_line(capsys)
    assert (trained / "wts.h5.zip").read_bytes() == before

    assert main(["train", *train_arguments(out, "--overwrite", "--seed", "8", nepochs=1)]) == 0
    assert (trained / "wts.h5.zip").read_bytes() != before  # another seed, other weights
    assert not (trained / "checkpoints" / "last-v1.ckpt").exists()  # resume finds this run
    assert stray_files(trained) == []


def test_fresh_run_over_an_unfinished_run_is_refused(tmp_path, capsys):
    last = tmp_path / "model" / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"a checkpoint of a run that was stopped")
    assert main(["train", *train_arguments(tmp_path / "model", nepochs=1)]) == 2
    err = _one_error_line(capsys)
    assert f"{last} exists from an earlier run that wrote no bundle" in err
    assert "--resume" in err and "--overwrite" in err
    assert last.read_bytes() == b"a checkpoint of a run that was stopped"


def test_infer_refuses_then_replaces_a_reconstruction_with_overwrite(trained, tmp_path, capsys):
    _, test_file = simulated_files()
    out = tmp_path / "recon"
    command = [
        "infer",
        "--model-path",
        str(trained),
        "--test-data-file",
        str(test_file),
        "--output-dir",
        str(out),
        "--quiet",
        "--n-groups",
        "16",
    ]
    assert main(command) == 0
    first = _snapshot(out)
    assert "reconstruction.npz" in first
    capsys.readouterr()

    assert main(command) == 2
    assert "reconstruction.npz exists; pass --overwrite" in _one_error_line(capsys)
    assert _snapshot(out) == first  # same bytes, same files (inodes): nothing was rewritten

    assert main([*command, "--overwrite"]) == 0
    second = _snapshot(out)
    assert second.keys() == first.keys()
    for name, (_data, inode) in second.items():
        assert inode != first[name][1], f"{name} was not replaced"  # a new file, renamed in
    assert second["reconstruction.npz"][0] == first["reconstruction.npz"][0]  # deterministic
    assert stray_files(out) == []


def test_resuming_a_checkpoint_of_another_network_is_one_line_and_keeps_it(tmp_path, capsys):
    # a last.ckpt written by another version (here: the two-decoder layout) or other model
    # settings: torch would list every layer; the user gets one line and the checkpoint stays
    import torch

    out = tmp_path / "model"
    assert main(["train", *train_arguments(out, nepochs=1)]) == 0
    checkpoint = out / "checkpoints" / "last.ckpt"
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    weights = state["state_dict"]
    for key in [k for k in weights if k.startswith("generator.decoder.")]:
        weights[key.replace("generator.decoder.", "generator.amplitude.")] = weights.pop(key)
    torch.save(state, checkpoint)
    before = checkpoint.read_bytes()
    capsys.readouterr()
    assert main(["train", *train_arguments(out, "--resume", nepochs=2)]) == 2
    line = _one_error_line(capsys)
    assert "does not fit this network" in line and "--overwrite" in line
    assert checkpoint.read_bytes() == before
    assert main(["train", *train_arguments(out, "--overwrite", nepochs=1)]) == 0  # the way out
