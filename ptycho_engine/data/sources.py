"""Where a simulation's object and probe come from: a generated kind or an .npz/.npy file.

Files are read without unpickling; a complex array is required. Generated kinds are those of
``ptycho_engine.data.synthetic`` (``OBJECT_KINDS``, ``PROBE_KINDS``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ptycho_engine.data import synthetic as synth
from ptycho_engine.data.probes import probe_modes as make_modes
from ptycho_engine.errors import DataError, EngineError

__all__ = ["check_kind_options", "load_complex", "load_object", "load_probe"]


def load_complex(path: str, key: str, what: str, kinds: tuple[str, ...]) -> np.ndarray:
    """Read a complex array from an .npz (``key``) or a .npy file, never unpickling."""
    if not Path(path).is_file():
        raise DataError(
            f"{what} {path!r} is neither a kind ({', '.join(kinds)}) nor an existing .npz/.npy file"
        )
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                loaded = loaded[key]
        array = np.asarray(loaded)
    except (KeyError, ValueError, OSError) as error:
        raise DataError(
            f"cannot read {what} from {path!r} (expected key {key!r} or a .npy array): {error}"
        ) from error
    if not np.iscomplexobj(array):
        raise DataError(f"{what} in {path!r} is {array.dtype}, expected a complex array")
    return array.astype(np.complex128)


def load_object(
    source: str, size: int | None, min_size: int, rng: np.random.Generator, images: dict
) -> np.ndarray:
    """Return the (H, W) complex128 object of ``source``: a generated kind or a file.

    A kind is made ``size`` px square (default ``min_size``, the least that holds the scan)
    with the image names ``images`` (``image`` kind); a file must be 2-D and at least
    ``min_size`` px each way.
    """
    if source in synth.OBJECT_KINDS:
        size = min_size if size is None else size
        if size < min_size:
            raise EngineError(
                f"an object of {size} px cannot hold the scan (needs >= "
                f"{min_size} px); raise --object-size or lower --n-positions or "
                "--step"
            )
        try:
            return synth.complex_object(source, size, rng, **images)
        except ValueError as error:  # an unknown image name
            raise EngineError(str(error)) from error
    obj = load_complex(source, "objectGuess", "object", synth.OBJECT_KINDS)
    if obj.ndim != 2 or min(obj.shape) < min_size:
        raise DataError(
            f"object {obj.shape} in {source!r} is too small for the scan (needs a "
            f"2-D array >= {min_size} px each way); lower --n-positions or --step"
        )
    return obj


def load_probe(source: str, n: int, zoneplate: dict, n_modes: int, decay: float) -> np.ndarray:
    """Return the (P, N, N) complex128 probe of ``source``: a kind or a file, then its modes.

    ``zoneplate`` holds the options of ``zoneplate_probe``; ``n_modes > 1`` builds that many
    modes (``probes.probe_modes`` with ``decay``) from a single-mode probe.
    """
    if source in synth.PROBE_KINDS:
        try:
            probe = synth.synthetic_probe(source, n, **zoneplate)[None]  # (1, N, N)
        except ValueError as error:
            raise EngineError(str(error)) from error
    else:
        probe = load_complex(source, "probeGuess", "probe", synth.PROBE_KINDS)
        probe = probe[None] if probe.ndim == 2 else probe  # (P, N, N)
        if probe.ndim != 3 or probe.shape[-2:] != (n, n):
            raise DataError(
                f"probe {probe.shape} in {source!r} does not match N={n}; expected "
                f"({n}, {n}) or (P, {n}, {n})"
            )
    if n_modes == 1:
        return probe
    if probe.shape[0] != 1:
        raise EngineError(
            f"--probe-modes {n_modes} needs a single-mode probe; {source!r} has "
            f"{probe.shape[0]} modes already"
        )
    try:
        return make_modes(probe[0], n_modes, decay=decay)  # (K, N, N)
    except ValueError as error:
        raise EngineError(str(error)) from error


def check_kind_options(source: str, kind: str, options: dict, flag: str) -> dict:
    """Return the options given (not None) of ``kind``; refuse them if ``source`` is another.

    An option of a kind not chosen is an error, never silently ignored.
    """
    given = {key: value for key, value in options.items() if value is not None}
    if given and source != kind:
        names = ", ".join(sorted(given))
        raise EngineError(f"{names} apply to {flag} {kind} only, not {source!r}")
    return given
