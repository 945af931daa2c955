"""Simulated scans for the regime benchmarks: one object in two regions, many objects.

- :func:`simulate_split`: one object, one scan, split into a training region and a spatially
  disjoint test region (no shared position, no shared object pixel): generalisation to unseen
  parts of the same sample.
- :func:`simulate_scans`: several scans of different objects under the same probe (the same
  ``probeGuess``, photon scale included): amortised inference, a model trained on some objects
  and applied to another.

Both take the keyword arguments of :func:`ptycho_engine.data.simulate.simulate`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np

from ptycho_engine.data.simulate import simulate
from ptycho_engine.data.split import split_by_axis
from ptycho_engine.data.synthetic import OBJECT_KINDS
from ptycho_engine.errors import EngineError

__all__ = [
    "OBJECT_OPTIONS",
    "RANDOM_OBJECT_KINDS",
    "scan_seeds",
    "simulate_scans",
    "simulate_split",
]

RANDOM_OBJECT_KINDS = ("lines", "grf")
"""Object kinds drawn from the seed: a different seed gives a different object."""

OBJECT_OPTIONS = ("object_source", "object_size_px", "image_amplitude", "image_phase")
"""The ``simulate`` options that one entry of ``simulate_scans(objects=...)`` may set."""


def simulate_split(
    *, test_fraction: float = 0.25, split_axis: str = "y", **options
) -> tuple[dict, dict, int]:
    """Simulate one scan and split it into disjoint train and test regions.

    Parameters
    ----------
    test_fraction : float
        Wanted share of the kept positions in the test region, in (0, 1); default 0.25.
    split_axis : {"x", "y"}
        ``y`` (default): train on the top rows, test on the bottom rows; ``x``: train left,
        test right. Positions whose patch straddles the cut are dropped
        (:func:`ptycho_engine.data.split.split_by_axis`).
    **options
        Keyword arguments of :func:`~ptycho_engine.data.simulate.simulate`.

    Returns
    -------
    train, test : dict of arrays
        The two parts; both hold the whole ``objectGuess`` and the same ``probeGuess``.
    dropped : int
        Positions in neither part.
    """
    if not 0 < test_fraction < 1:  # before the simulation
        raise EngineError(
            f"--test-fraction must be between 0 and 1 (exclusive), got {test_fraction}"
        )
    return split_by_axis(simulate(**options), test_fraction, axis=split_axis)


def scan_seeds(seed: int, n_scans: int) -> list[int]:
    """Return the seeds of the scans of :func:`simulate_scans`: independent streams of ``seed``.

    Scan ``i`` gets ``SeedSequence([seed, i])``'s first 32-bit word, so the scans of one set
    never share random draws, and a set of more scans starts with the scans of a smaller one.
    """
    return [int(np.random.SeedSequence([seed, i]).generate_state(1)[0]) for i in range(n_scans)]


def simulate_scans(
    n_scans: int,
    *,
    seed: int = 0,
    objects: Sequence[Mapping] | None = None,
    **options,
) -> list[dict[str, np.ndarray]]:
    """Simulate ``n_scans`` scans of different objects with one and the same probe.

    Every scan has its own seed (:func:`scan_seeds`), hence its own scan jitter, its own
    random object (``lines``, ``grf``) and its own noise. The probe, a function of the
    options only, is the same, and the photon scale of the first scan
    (``counts_per_intensity``) is kept for the others, so every ``probeGuess`` is identical:
    ``nphotons`` is the mean total count of the first scan, and the others differ from it as
    their objects transmit more or less.

    Parameters
    ----------
    n_scans : int
        Number of scans, >= 1.
    seed : int
        Seed of the set; scan ``i`` uses ``scan_seeds(seed, n_scans)[i]``.
    objects : sequence of mappings, optional
        One entry per scan of object options (:data:`OBJECT_OPTIONS`, e.g.
        ``{"object_source": "image", "image_amplitude": "coins", "image_phase": "moon"}``),
        applied over ``options``. Needed unless the object kind is a random one
        (:data:`RANDOM_OBJECT_KINDS`): image and file objects would otherwise repeat.
    **options
        Keyword arguments of :func:`~ptycho_engine.data.simulate.simulate` shared by every
        scan (not ``seed``).

    Returns
    -------
    list of dict of arrays
        One dataset per scan; each ``_metadata`` has ``scan_set`` (``index``, ``count``,
        ``seed``).
    """
    if n_scans < 1:
        raise EngineError(f"the number of scans must be >= 1, got {n_scans}")
    if objects is None:
        source = options.get("object_source", "lines")
        if source not in RANDOM_OBJECT_KINDS:
            what = "image" if source in OBJECT_KINDS else "file"
            raise EngineError(
                f"{n_scans} scans of the {what} object {source!r} would all show the same "
                "object; pass objects=[{...}, ...] (e.g. different image_amplitude/image_phase) "
                f"or a random kind ({', '.join(RANDOM_OBJECT_KINDS)})"
            )
        objects = [{}] * n_scans
    objects = list(objects)
    if len(objects) != n_scans:
        raise EngineError(f"objects has {len(objects)} entries for {n_scans} scans")
    for entry in objects:
        unknown = sorted(set(entry) - set(OBJECT_OPTIONS))
        if unknown:
            raise EngineError(
                f"objects entries take {', '.join(OBJECT_OPTIONS)}; got {', '.join(unknown)}"
            )
    scans = []
    for index, (scan_seed, entry) in enumerate(
        zip(scan_seeds(seed, n_scans), objects, strict=True)
    ):
        data = simulate(**{**options, **entry, "seed": scan_seed})
        metadata = json.loads(str(data["_metadata"]))
        if index == 0 and options.get("counts_per_intensity") is None:
            options = {**options, "counts_per_intensity": metadata["counts_per_intensity"]}
        metadata["scan_set"] = {"index": index, "count": n_scans, "seed": seed}
        data["_metadata"] = np.array(json.dumps(metadata))
        scans.append(data)
    return scans
