"""Atomic file output: a file appears complete under its final name, or not at all.

Every output is first written to a temporary file in the target's directory (same file
system, so the final rename is atomic) and renamed only once it is complete. An interrupted
or failing writer therefore never leaves a truncated output, and never damages an existing
one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ptycho_engine.errors import EngineError


class OutputExistsError(EngineError):
    """An output file already exists and the caller did not ask to replace it."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path} already exists; pass --overwrite to replace it")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool) -> Iterator[Path]:
    """Give a temporary path to write; rename it to ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or PathLike
        The final file. Its directory must exist.
    overwrite : bool
        Replace an existing ``path``. When False, an existing file is never replaced, even
        one that appears while the block runs.

    Yields
    ------
    Path
        An empty temporary file next to ``path``; write the output there (reopening it is
        fine). It is deleted if the block raises, and renamed to ``path`` if it returns.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is False; checked on entry, before any work,
        and again at the rename.
    """
    path = Path(path)
    if not overwrite and os.path.lexists(path):
        raise OutputExistsError(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        # mkstemp creates the file private (0600); give the output the mode any new file
        # of this user would get, so a bundle can be shared like other results.
        os.chmod(temporary, _new_file_mode())
        _flush_to_disk(temporary)
        _commit(temporary, path, overwrite=overwrite)
        _flush_directory(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_output`).

    Parameters
    ----------
    path : str or PathLike
        The final file. Its directory must exist.
    data : bytes
        The whole content of the file.
    overwrite : bool
        Replace an existing ``path``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is False.
    """
    with atomic_output(path, overwrite=overwrite) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that killed writers of ``path`` left behind.

    A process killed (SIGKILL, power loss) inside :func:`atomic_output` cannot remove its
    temporary file; the final name is never damaged, but the hidden file stays. Call this
    only where no other process is writing ``path`` at the same time.

    Parameters
    ----------
    path : str or PathLike
        The final file whose temporaries (``.<name>.*.tmp`` beside it) are removed.

    Returns
    -------
    list of Path
        The files removed.
    """
    path = Path(path)
    removed = []
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
            removed.append(stale)
    return removed


def _commit(temporary: Path, path: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(temporary, path)
        return
    # os.replace would silently clobber a file created since the entry check; a hard link
    # fails instead when the name is taken, and is just as atomic.
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise OutputExistsError(path) from None
    except OSError:
        # Some file systems (FAT, some network mounts) have no hard links; fall back to a
        # check that leaves only a tiny window.
        if os.path.lexists(path):
            raise OutputExistsError(path) from None
        os.replace(temporary, path)


def _flush_to_disk(temporary: Path) -> None:
    # Without fsync a crash shortly after the rename can leave an empty file under the
    # final name on some file systems (ext4 delayed allocation).
    with open(temporary, "rb+") as stream:
        os.fsync(stream.fileno())


def _flush_directory(directory: Path) -> None:
    # The rename lives in the directory's entries: without this fsync a crash can lose the
    # new name even though the file's data reached the disk.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # a platform or file system that cannot open directories
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on a directory; the rename itself stands
    finally:
        os.close(descriptor)


def _new_file_mode() -> int:
    # The umask can only be read by setting it; restore it at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask
