"""Tests of ptycho_engine.atomic: outputs appear whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ptycho_engine.atomic import OutputExistsError, atomic_output, atomic_write_bytes
from ptycho_engine.errors import EngineError


def _leftovers(directory: Path, keep: str) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name != keep)


def test_write_bytes_creates_the_file(tmp_path):
    target = tmp_path / "out.bin"
    assert atomic_write_bytes(target, b"payload", overwrite=False) == target
    assert target.read_bytes() == b"payload"
    assert _leftovers(tmp_path, "out.bin") == []


def test_existing_file_is_refused_without_overwrite(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="pass --overwrite to replace it") as caught:
        atomic_write_bytes(target, b"new", overwrite=False)
    assert str(target) in str(caught.value)
    assert isinstance(caught.value, EngineError)
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path, "out.bin") == []


def test_overwrite_replaces_the_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new", overwrite=True)
    assert target.read_bytes() == b"new"


def test_refusal_happens_before_the_block_runs(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    ran = []
    with pytest.raises(OutputExistsError):
        with atomic_output(target, overwrite=False):
            ran.append(True)
    assert ran == []


def test_temporary_file_is_in_the_target_directory_and_hidden(tmp_path):
    target = tmp_path / "out.bin"
    with atomic_output(target, overwrite=False) as temporary:
        assert temporary.parent == tmp_path
        assert temporary.name.startswith(".out.bin.")
        assert temporary.exists() and not target.exists()
        temporary.write_bytes(b"x")
    assert target.read_bytes() == b"x"


def test_failure_removes_the_temporary_and_leaves_the_target_untouched(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_output(target, overwrite=True) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path, "out.bin") == []


def test_failure_without_a_target_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_output(tmp_path / "out.bin", overwrite=False) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_a_file_appearing_meanwhile_is_not_clobbered(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(OutputExistsError):
        with atomic_output(target, overwrite=False) as temporary:
            temporary.write_bytes(b"mine")
            target.write_bytes(b"theirs")  # another process wins the race
    assert target.read_bytes() == b"theirs"
    assert _leftovers(tmp_path, "out.bin") == []


def test_output_gets_the_usual_permissions_not_private_ones(tmp_path):
    mask = os.umask(0o022)
    try:
        target = atomic_write_bytes(tmp_path / "out.bin", b"x", overwrite=False)
    finally:
        os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o644


def test_the_directory_is_flushed_after_the_rename(tmp_path, monkeypatch):
    import os

    from ptycho_engine.atomic import atomic_write_bytes

    synced = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        synced.append(os.path.isdir(f"/proc/self/fd/{descriptor}"))
        return real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    atomic_write_bytes(tmp_path / "out.bin", b"data", overwrite=False)
    assert synced == [False, True]  # the file's data, then the directory holding its name
