"""Per-key checks of the NPZ data contract, each returning the array in canonical form.

Each function raises one :class:`DataError` naming the source, the key, what was seen and what
is expected. ``steps`` lists, when given, collect a line for every change made to the data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np

from ptycho_engine.errors import DataError

_DIFFRACTION_KEYS = ("diff3d", "diffraction")
_REQUIRED_KEYS = ("xcoords", "ycoords", "probeGuess")


def _fail(where: str, key: str, problem: str) -> DataError:
    return DataError(f"{where}: '{key}' {problem}")


def _real_numeric(value, where: str, key: str) -> np.ndarray:
    array = np.asarray(value)
    if np.iscomplexobj(array):
        raise _fail(where, key, f"is complex ({array.dtype}); it must hold real numbers")
    # bool is refused too: no detector or scan writes True/False, so it is a mistake upstream.
    if array.dtype.kind not in "iuf":
        raise _fail(where, key, f"has dtype {array.dtype}; it must hold real numbers")
    return array


def _complex_numeric(value, where: str, key: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "iufc":
        raise _fail(where, key, f"has dtype {array.dtype}; it must hold (complex) numbers")
    return array


def _count_non_finite(array: np.ndarray) -> int:
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def require_keys(arrays: Mapping, where: str) -> None:
    """Raise when a required key (either diffraction spelling counts) is absent."""
    missing = [key for key in _REQUIRED_KEYS if key not in arrays]
    if not any(key in arrays for key in _DIFFRACTION_KEYS):
        missing.insert(0, "diff3d (or diffraction)")
    if missing:
        found = ", ".join(sorted(arrays)) or "no keys"
        raise DataError(f"{where}: missing required key(s) {', '.join(missing)}; found: {found}")


def coordinates(arrays: Mapping, key: str, where: str, length: int | None = None) -> np.ndarray:
    """Return a finite coordinate vector of shape (M,) as float64."""
    array = _real_numeric(arrays[key], where, key)
    if array.ndim != 1:
        raise _fail(where, key, f"has shape {array.shape}; expected a vector (M,)")
    if array.size == 0:
        raise _fail(where, key, "is empty; expected at least one scan position")
    if length is not None and array.size != length:
        raise _fail(where, key, f"has {array.size} entries but xcoords has {length}")
    bad = _count_non_finite(array)
    if bad:
        raise _fail(where, key, f"has {bad} non-finite value(s) (NaN or inf); expected finite")
    return array.astype(np.float64)


def start_coordinates(arrays, where, x, y, *, steps) -> tuple[np.ndarray, np.ndarray]:
    """Return (xcoords_start, ycoords_start), defaulting both to the positions."""
    present = [key in arrays for key in ("xcoords_start", "ycoords_start")]
    if not any(present):
        steps.append("xcoords_start/ycoords_start absent: set to xcoords/ycoords")
        return x.copy(), y.copy()
    if not all(present):
        given, absent = ("xcoords_start", "ycoords_start")
        if not present[0]:
            given, absent = absent, given
        raise _fail(where, given, f"is present but '{absent}' is not; give both or neither")
    return (
        coordinates(arrays, "xcoords_start", where, length=x.size),
        coordinates(arrays, "ycoords_start", where, length=x.size),
    )


def _pick_diffraction(arrays: Mapping, where: str, steps: list[str]) -> tuple[str, np.ndarray]:
    present = [key for key in _DIFFRACTION_KEYS if key in arrays]
    key = present[0]
    if len(present) == 2:
        first, second = np.asarray(arrays["diff3d"]), np.asarray(arrays["diffraction"])
        if first.shape != second.shape or not np.array_equal(first, second):
            raise DataError(
                f"{where}: both 'diff3d' {first.shape} and 'diffraction' {second.shape} are "
                "present and differ; keep only one"
            )
        steps.append("'diff3d' and 'diffraction' are identical: kept one copy")
    return key, np.asarray(arrays[key])


def diffraction(arrays: Mapping, where: str, n_positions: int, *, counts: bool, steps):
    """Return diffraction amplitudes of shape (M, N, N) as float32.

    A legacy (N, N, M) stack is transposed only when no other reading fits: the last axis
    equals M, the first does not, and the first two are equal.
    """
    key, array = _pick_diffraction(arrays, where, steps)
    array = _real_numeric(array, where, key)
    if array.ndim != 3:
        raise _fail(
            where, key, f"has shape {array.shape}; expected (M, N, N) with M = {n_positions}"
        )
    if array.size == 0:
        raise _fail(where, key, f"is empty (shape {array.shape})")
    first, second, last = array.shape
    if first != n_positions:
        if last == n_positions and first == second:
            array = np.moveaxis(array, -1, 0)
            steps.append(f"transposed (N, N, M) {(first, second, last)} -> (M, N, N) {array.shape}")
        else:
            raise _fail(
                where,
                key,
                f"has shape {array.shape}, which is neither (M, N, N) nor legacy (N, N, M) "
                f"with M = {n_positions} positions (length of xcoords)",
            )
    if array.shape[1] != array.shape[2]:
        rows, cols = array.shape[1:]
        raise _fail(where, key, f"frames are {rows}x{cols}; they must be square")
    if array.dtype.kind in "iu" and not counts:
        # amplitudes are square roots of counts, never integers; detectors (and Ptychodus'
        # PtychoPINN export) write integer photon counts: reading them as amplitudes would
        # square-root nothing and train on the wrong physics, silently
        raise _fail(
            where,
            key,
            f"holds integers ({array.dtype}), which are photon counts, not the amplitudes "
            "sqrt(counts) of the data contract; convert it with `ptycho data convert IN OUT "
            "--counts` (or pass --counts to `ptycho data check`)",
        )
    amplitude = np.ascontiguousarray(array, dtype=np.float32)
    bad = _count_non_finite(amplitude)
    if bad:
        raise _fail(
            where, key, f"has {bad} non-finite value(s) (NaN, inf, or too large for float32)"
        )
    lowest = float(amplitude.min())
    if lowest < 0:
        kind = "counts" if counts else "amplitudes"
        raise _fail(where, key, f"has negative values (min {lowest:g}); {kind} must be >= 0")
    if counts:
        amplitude = np.sqrt(amplitude)  # a new array: the caller's counts stay untouched
        steps.append("took the square root of photon counts to get amplitudes")
    return amplitude


def probe(arrays: Mapping, where: str, n: int, *, steps) -> np.ndarray:
    """Return probe modes of shape (P, N, N) as complex64 from (N, N), (P, N, N) or (N, N, 1)."""
    key = "probeGuess"
    array = _complex_numeric(arrays[key], where, key)
    if array.ndim == 3 and array.shape[2] == 1 and array.shape[0] == array.shape[1] != 1:
        array = np.moveaxis(array, -1, 0)
        steps.append("read probeGuess (N, N, 1) as one probe mode")
    elif array.ndim == 2:
        array = array[np.newaxis]
    elif array.ndim != 3:
        raise _fail(where, key, f"has shape {array.shape}; expected (N, N) or modes (P, N, N)")
    if array.size == 0:
        raise _fail(where, key, f"is empty (shape {array.shape})")
    if array.shape[1] != array.shape[2]:
        raise _fail(where, key, f"is {array.shape[1]}x{array.shape[2]}; the probe must be square")
    if array.shape[1] != n:
        raise _fail(
            where,
            key,
            f"is {array.shape[1]}x{array.shape[2]} but the diffraction patterns are {n}x{n}; "
            "probe and patterns must share one N x N grid",
        )
    result = np.ascontiguousarray(array, dtype=np.complex64)
    bad = _count_non_finite(result)
    if bad:
        raise _fail(where, key, f"has {bad} non-finite value(s)")
    if not np.any(result):
        raise _fail(where, key, "is zero everywhere")
    return result


def object_guess(arrays: Mapping, where: str) -> np.ndarray | None:
    """Return the optional object of shape (H, W) as complex64, or None."""
    key = "objectGuess"
    if key not in arrays:
        return None
    array = _complex_numeric(arrays[key], where, key)
    if array.ndim != 2:
        raise _fail(where, key, f"has shape {array.shape}; expected (H, W)")
    if array.size == 0:
        raise _fail(where, key, f"is empty (shape {array.shape})")
    result = np.ascontiguousarray(array, dtype=np.complex64)
    bad = _count_non_finite(result)
    if bad:
        raise _fail(where, key, f"has {bad} non-finite value(s)")
    return result


def scan_index(arrays: Mapping, where: str, n_positions: int, *, steps) -> np.ndarray:
    """Return scan identifiers of shape (M,) as int64, zeros when absent."""
    key = "scan_index"
    if key not in arrays:
        steps.append("scan_index absent: set to zeros")
        return np.zeros(n_positions, dtype=np.int64)
    array = _real_numeric(arrays[key], where, key)
    if array.shape != (n_positions,):
        raise _fail(where, key, f"has shape {array.shape}; expected ({n_positions},)")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
        raise _fail(where, key, "holds non-integer values; expected integer scan identifiers")
    return array.astype(np.int64)


def metadata(arrays: Mapping, where: str) -> dict:
    """Return the parsed ``_metadata`` JSON object, or {} when absent."""
    key = "_metadata"
    if key not in arrays:
        return {}
    value = arrays[key]
    if isinstance(value, dict):
        return dict(value)
    array = np.asarray(value)
    if array.dtype.kind not in "US" or array.size != 1:
        raise _fail(
            where, key, f"has dtype {array.dtype} and shape {array.shape}; expected a JSON string"
        )
    text = array.item()
    try:
        text = text.decode("utf-8") if isinstance(text, bytes) else text
        parsed = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(where, key, f"is not valid JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise _fail(where, key, f"is JSON {type(parsed).__name__}; expected a JSON object")
    return parsed
