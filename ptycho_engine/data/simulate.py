"""Simulate ptychographic datasets: object, probe, scan, Poisson counts, NPZ files.

The patches and the far field come from ``ptycho_engine.physics`` (the functions the model is
trained with), so the simulator cannot drift from ``ptycho_engine.conventions``. Every random
draw comes from one ``np.random.default_rng(seed)``: the same arguments give the same arrays.

The stored probe ``probeGuess`` is scaled so that ``|far_field(probeGuess * patch)|**2`` is the
expected count (mean total ``nphotons`` per pattern), i.e. the files are self-consistent: the
stored object and probe reproduce ``diff3d = sqrt(counts)`` up to Poisson noise.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch

from ptycho_engine.data import synthetic as synth
from ptycho_engine.data.npz import save_diffraction, validate_arrays
from ptycho_engine.errors import DataError, EngineError
from ptycho_engine.physics.farfield import diffraction_intensity
from ptycho_engine.physics.shift import extract_patches

__all__ = ["held_out_path", "simulate", "simulate_to_files", "split_by_x"]

MIN_N = 8
DEFAULT_STEP_FRACTION = 0.3
"""Default scan step as a fraction of the probe diameter (70% linear overlap)."""

_CHUNK = 256  # positions per batch of patch extraction, far field and Poisson draws


def _load_complex(path: str, key: str, what: str, kinds: tuple[str, ...]) -> np.ndarray:
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


def _object(source: str, size: int | None, min_size: int, rng: np.random.Generator) -> np.ndarray:
    if source in synth.OBJECT_KINDS:
        size = min_size if size is None else size
        if size < min_size:
            raise EngineError(
                f"an object of {size} px cannot hold the scan (needs >= "
                f"{min_size} px); raise --object-size or lower --n-positions or "
                "--step"
            )
        return synth.complex_object(source, size, rng)
    obj = _load_complex(source, "objectGuess", "object", synth.OBJECT_KINDS)
    if obj.ndim != 2 or min(obj.shape) < min_size:
        raise DataError(
            f"object {obj.shape} in {source!r} is too small for the scan (needs a "
            f"2-D array >= {min_size} px each way); lower --n-positions or --step"
        )
    return obj


def _probe(source: str, n: int) -> np.ndarray:
    if source in synth.PROBE_KINDS:
        return synth.synthetic_probe(source, n)[None]  # (1, N, N)
    probe = _load_complex(source, "probeGuess", "probe", synth.PROBE_KINDS)
    probe = probe[None] if probe.ndim == 2 else probe  # (P, N, N)
    if probe.ndim != 3 or probe.shape[-2:] != (n, n):
        raise DataError(
            f"probe {probe.shape} in {source!r} does not match N={n}; expected "
            f"({n}, {n}) or (P, {n}, {n})"
        )
    return probe


def _expected_intensity(obj: np.ndarray, probe: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Noise-free ``sum_p |far_field(P_p * O_patch)|**2`` at each position, (M, N, N) float32."""
    n = probe.shape[-1]
    obj_t = torch.from_numpy(obj.astype(np.complex64))
    probe_t = torch.from_numpy(probe.astype(np.complex64))
    out = np.empty((len(xy), n, n), dtype=np.float32)
    for start in range(0, len(xy), _CHUNK):
        patches = extract_patches(obj_t, torch.from_numpy(xy[start : start + _CHUNK]), n)
        intensity = diffraction_intensity(patches[:, None], probe_t)  # (chunk, 1, N, N)
        out[start : start + _CHUNK] = intensity[:, 0].numpy()
    return out


def _poisson_amplitude(intensity: np.ndarray, s2: float, rng: np.random.Generator) -> np.ndarray:
    """``sqrt(Poisson(s2 * intensity))`` as float32, drawn chunk by chunk to bound memory."""
    amplitude = np.empty(intensity.shape, dtype=np.float32)
    for start in range(0, len(intensity), _CHUNK):
        rate = s2 * intensity[start : start + _CHUNK].astype(np.float64)
        amplitude[start : start + _CHUNK] = np.sqrt(rng.poisson(rate))
    return amplitude


def simulate(
    *,
    n: int = 64,
    n_positions: int = 1000,
    object_source: str = "lines",
    probe_source: str = "disk",
    scan: str = "grid-jitter",
    step_px: float | None = None,
    nphotons: float = 1e6,
    seed: int = 0,
    object_size_px: int | None = None,
) -> dict[str, np.ndarray]:
    """Simulate one dataset and return its NPZ arrays (the data contract of DESIGN §3).

    ``object_source`` is a kind of ``synthetic.OBJECT_KINDS`` or an .npz (``objectGuess``) /
    .npy path; ``probe_source`` likewise (``probeGuess``). The default step is
    :data:`DEFAULT_STEP_FRACTION` of the probe diameter. Positions are centred on the object
    and kept at least ``N/2 + 1`` px from its edges; counts are Poisson with a mean total of
    ``nphotons`` per pattern. Returns ``diff3d`` (M, N, N) float32 = sqrt(counts),
    ``xcoords``/``ycoords`` (M,) float64, ``probeGuess`` complex64, ``objectGuess`` complex64,
    ``scan_index`` (M,) int64 zeros and ``_metadata`` (a 0-d unicode JSON string).
    """
    if n < MIN_N or n % 2:
        raise EngineError(f"N={n} is not supported; use an even N >= {MIN_N}")
    if n_positions < 1 or not nphotons > 0 or (step_px is not None and not step_px > 0):
        raise EngineError(
            f"need n_positions >= 1, nphotons > 0 and step > 0; got "
            f"{n_positions}, {nphotons}, {step_px}"
        )
    if scan not in synth.SCAN_KINDS:
        raise EngineError(f"unknown scan {scan!r}; use one of {', '.join(synth.SCAN_KINDS)}")
    rng = np.random.default_rng(seed)
    probe = _probe(probe_source, n)  # (P, N, N)
    diameter = synth.probe_diameter_px(probe)
    step = round(DEFAULT_STEP_FRACTION * diameter, 1) if step_px is None else float(step_px)
    offsets = synth.scan_offsets(scan, n_positions, step, rng)  # (M, 2) centred on 0
    min_size = math.ceil(np.ptp(offsets, axis=0).max()) + n + 4
    obj = _object(object_source, object_size_px, min_size + min_size % 2, rng)
    xy = offsets + (np.array(obj.shape[::-1]) - 1) / 2  # (M, 2) [x, y] on the object

    intensity = _expected_intensity(obj, probe, xy)  # (M, N, N)
    s2 = nphotons / intensity.sum(axis=(1, 2), dtype=np.float64).mean()  # mean total = nphotons
    metadata = {
        "generator": "ptycho simulate",
        "seed": seed,
        "nphotons": float(nphotons),
        "N": n,
        "n_positions": n_positions,
        "object": object_source,
        "probe": probe_source,
        "scan": scan,
        "step_px": step,
        "probe_diameter_px": round(diameter, 3),
        "overlap": round(max(0.0, 1 - step / diameter), 3),
        "object_shape": list(obj.shape),
        "probe_units": "sqrt(counts): |far_field(probeGuess * objectGuess patch)|**2 = counts",
    }
    probe = probe * math.sqrt(s2)
    return {
        "diff3d": _poisson_amplitude(intensity, s2, rng),
        "xcoords": xy[:, 0].astype(np.float64),
        "ycoords": xy[:, 1].astype(np.float64),
        "probeGuess": (probe[0] if probe.shape[0] == 1 else probe).astype(np.complex64),
        "objectGuess": obj.astype(np.complex64),
        "scan_index": np.zeros(len(xy), dtype=np.int64),
        "_metadata": np.array(json.dumps(metadata)),
    }


_PER_POSITION = ("diff3d", "xcoords", "ycoords", "scan_index")


def split_by_x(data: dict[str, np.ndarray], test_fraction: float):
    """Split a dataset into spatially disjoint train (left) and test (right) parts.

    A position is kept for training when every object column its patch reads
    (``floor(x) - N//2`` to ``floor(x) + N//2``, bilinear tap included) lies left of a cut
    column, and for testing when they all lie at or right of it; positions whose patch
    straddles the cut are dropped, so no object pixel is seen by both parts. The cut is the
    column that brings the test share of the kept positions closest to ``test_fraction``.
    Both parts keep the full ``objectGuess`` and the same coordinate frame.

    Returns
    -------
    train, test : dict of arrays
    dropped : int
        Positions in neither part.
    """
    if not 0 < test_fraction < 1:
        raise EngineError(
            f"--test-fraction must be between 0 and 1 (exclusive), got {test_fraction}"
        )
    n = data["diff3d"].shape[-1]
    first = np.floor(data["xcoords"]).astype(int) - n // 2  # first column each patch reads
    cut = _best_cut(np.sort(first), n, test_fraction)
    parts = {"train": first + n < cut, "test": first >= cut}
    if not all(keep.any() for keep in parts.values()):
        raise EngineError(
            f"--test-fraction {test_fraction} leaves an empty train or test part; "
            "use more positions or a fraction nearer 0.5"
        )
    out = []
    for name, keep in parts.items():
        metadata = json.loads(str(data["_metadata"]))
        metadata.update(split=name, split_x_cut_px=cut, test_fraction=test_fraction)
        part = {k: (v[keep] if k in _PER_POSITION else v) for k, v in data.items()}
        part["_metadata"] = np.array(json.dumps(metadata))
        out.append(part)
    dropped = len(first) - sum(int(keep.sum()) for keep in parts.values())
    return out[0], out[1], dropped


def _best_cut(first_sorted: np.ndarray, n: int, test_fraction: float) -> int:
    """The cut column whose kept test share is nearest ``test_fraction`` (see split_by_x)."""
    cuts = np.arange(first_sorted[0] + n + 1, first_sorted[-1] + 1)  # both parts can be non-empty
    if len(cuts) == 0:
        raise EngineError(
            "the scan is narrower than two patches; it cannot be split into disjoint parts"
        )
    n_train = np.searchsorted(first_sorted, cuts - n, side="left")  # first + n < cut
    n_test = len(first_sorted) - np.searchsorted(first_sorted, cuts, side="left")  # first >= cut
    share = n_test / np.maximum(n_train + n_test, 1)
    return int(cuts[np.argmin(np.abs(share - test_fraction))])


def held_out_path(out: str | os.PathLike) -> Path:
    """Return the test-split path of ``out``: ``name.npz`` -> ``name_test.npz``."""
    out = Path(out)
    return out.with_name(f"{out.stem}_test{out.suffix}")


def simulate_to_files(
    out: str | os.PathLike,
    *,
    test_fraction: float | None = None,
    overwrite: bool = False,
    **options,
) -> dict:
    """Simulate (``options`` go to :func:`simulate`) and write OUT and, if split, OUT_test.npz.

    Files are validated and written atomically by ``ptycho_engine.data.npz``; an existing
    output is refused (before any work) unless ``overwrite``.

    Returns a summary: ``files``, ``frames`` (per file), ``N``, ``mean_photons`` (measured
    mean total counts per frame), ``step_px``, ``overlap`` and ``dropped``.
    """
    out = Path(out)
    if out.suffix != ".npz":
        raise EngineError(f"output {str(out)!r} must end in .npz")
    if not out.parent.is_dir():
        raise EngineError(f"output folder {str(out.parent)!r} does not exist")
    targets = [out] if test_fraction is None else [out, held_out_path(out)]
    for target in targets:
        if target.exists() and not overwrite:
            raise EngineError(f"{target} exists; pass --overwrite to replace it")
    data = simulate(**options)
    parts, dropped = [data], 0
    if test_fraction is not None:
        train, test, dropped = split_by_x(data, test_fraction)
        parts = [train, test]
    for target, part in zip(targets, parts):
        # the loader's own validation and atomic writer: the output is checked against the
        # data contract exactly as it will be read
        save_diffraction(target, validate_arrays(part, source="simulation"), overwrite=overwrite)
    metadata = json.loads(str(data["_metadata"]))
    return {
        "files": [str(t) for t in targets],
        "frames": [len(p["xcoords"]) for p in parts],
        "N": metadata["N"],
        "mean_photons": float((data["diff3d"].astype(np.float64) ** 2).sum(axis=(1, 2)).mean()),
        "step_px": metadata["step_px"],
        "overlap": metadata["overlap"],
        "dropped": dropped,
    }
