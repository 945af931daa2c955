"""Simulate ptychographic datasets: object, probe, scan, Poisson counts, NPZ files.

The patches and the far field come from ``ptycho_engine.physics`` (the functions the model is
trained with), so the simulator cannot drift from ``ptycho_engine.conventions``. Every random
draw comes from one ``np.random.default_rng(seed)``: the same arguments give the same arrays.

The stored probe ``probeGuess`` is scaled so that ``|far_field(probeGuess * patch)|**2`` is the
expected count (mean total ``nphotons`` per pattern), i.e. the files are self-consistent: the
stored object and probe reproduce ``diff3d = sqrt(counts)`` up to Poisson noise. With several
probe modes the expected count is the incoherent sum over the modes.

The footprint, step and overlap definitions are those of :mod:`ptycho_engine.data.overlap`;
the train/test split is :mod:`ptycho_engine.data.split`; scans for the regime benchmarks
(one object split in two regions, several objects under one probe) are
:mod:`ptycho_engine.data.regimes`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from ptycho_engine.data import synthetic as synth
from ptycho_engine.data.counts import expected_intensity, poisson_amplitude
from ptycho_engine.data.npz import save_diffraction, validate_arrays
from ptycho_engine.data.overlap import (
    footprint_diameter_px,
    linear_overlap,
    mean_nearest_step_px,
    rescale_to_mean_step,
    step_for_overlap,
)
from ptycho_engine.data.sources import check_kind_options, load_object, load_probe
from ptycho_engine.data.split import split_by_axis, split_by_x
from ptycho_engine.errors import EngineError

__all__ = ["held_out_path", "simulate", "simulate_to_files", "split_by_axis", "split_by_x"]

MIN_N = 8
DEFAULT_STEP_FRACTION = 0.3
"""Default scan step as a fraction of the probe's rms diameter (``probe_diameter_px``).

Used when neither ``step_px`` nor ``overlap`` is given; for the default disk probe it gives a
linear overlap of about 0.7 of the 90 % footprint (``ptycho_engine.data.overlap``).
"""


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
    overlap: float | None = None,
    probe_modes: int = 1,
    probe_mode_decay: float = 0.5,
    zoneplate_diameter_px: float | None = None,
    zoneplate_defocus_rad: float | None = None,
    zoneplate_central_stop: float | None = None,
    image_amplitude: str | None = None,
    image_phase: str | None = None,
    counts_per_intensity: float | None = None,
) -> dict[str, np.ndarray]:
    """Simulate one dataset and return its NPZ arrays (the data contract of DESIGN §3).

    Positions are centred on the object and kept at least ``N/2 + 1`` px from its edges;
    counts are Poisson with a mean total of ``nphotons`` per pattern. Options of a kind not
    chosen (e.g. ``zoneplate_diameter_px`` with the disk probe) are refused, not ignored.

    Parameters
    ----------
    n : int
        Patch and detector size N (pixels), even, >= 8.
    n_positions : int
        Number of scan positions M.
    object_source : str
        ``lines``, ``grf`` (random, drawn from ``seed``), ``image`` (two ``skimage.data``
        sample images, see ``image_amplitude``), or an .npz (``objectGuess``) / .npy file.
        Generated objects have amplitude in [0.5, 1] and phase in [-1, 1] rad.
    probe_source : str
        ``disk``, ``gaussian``, ``zoneplate`` (``ptycho_engine.data.probes.zoneplate_probe``)
        or an .npz (``probeGuess``, (N, N) or (P, N, N)) / .npy file.
    scan : str
        ``grid-jitter``, ``random`` or ``fermat`` (``synthetic.scan_offsets``).
    step_px : float, optional
        Nominal step of the scan pattern, in object pixels. Default: :data:`DEFAULT_STEP_FRACTION`
        times the probe's rms diameter. Exclusive with ``overlap``.
    nphotons : float
        Mean total counts per pattern (> 0; 1e3 and below work: the counts are Poisson).
    seed : int
        Seed of every random draw (scan jitter, random objects, Poisson noise).
    object_size_px : int, optional
        Side of a generated object, in pixels; default just large enough for the scan.
    overlap : float, optional
        Linear overlap in [0, 1) of neighbouring probe footprints, ``1 - step / D90``
        (``ptycho_engine.data.overlap``). The scan pattern is scaled so its *mean
        nearest-neighbour step* is exactly ``(1 - overlap) * D90``, whatever the scan kind.
        Exclusive with ``step_px``.
    probe_modes : int
        Number K >= 1 of incoherent probe modes (``ptycho_engine.data.probes.probe_modes``);
        their total intensity equals the single-mode probe's, and each pattern is the
        incoherent sum of the modes' intensities. ``probeGuess`` is (K, N, N) when K > 1.
    probe_mode_decay : float
        Power ratio of consecutive modes, in (0, 1]; default 0.5.
    zoneplate_diameter_px : float, optional
        ``zoneplate`` only: geometric diameter of the defocused beam, in pixels (default
        0.4 N).
    zoneplate_defocus_rad : float, optional
        ``zoneplate`` only: defocus phase at the pupil rim, in radians (default
        ``pi * diameter / 8``, a pupil of half the detector half-width); about
        ``defocus / pi`` rings.
    zoneplate_central_stop : float, optional
        ``zoneplate`` only: central stop radius as a fraction of the pupil radius, in [0, 1)
        (default 0.4).
    image_amplitude, image_phase : str, optional
        ``image`` only: names from ``ptycho_engine.data.objects.IMAGE_NAMES`` for the
        amplitude and the phase (defaults ``camera`` and ``astronaut``).
    counts_per_intensity : float, optional
        Expected counts per unit of ``sum_p |far_field(probe_p * patch)|**2`` for the probe as
        built (peak amplitude 1 for a generated kind, as stored for a file). Default: chosen
        so the mean total is ``nphotons``. ``regimes.simulate_scans`` fixes it so every scan
        sees the same probe. Recorded in ``_metadata``.

    Returns
    -------
    dict of arrays
        ``diff3d`` (M, N, N) float32 = sqrt(counts), ``xcoords``/``ycoords`` (M,) float64,
        ``probeGuess`` (N, N) or (K, N, N) complex64, ``objectGuess`` complex64,
        ``scan_index`` (M,) int64 zeros and ``_metadata`` (a 0-d unicode JSON string with,
        among others, ``step_px``, ``mean_step_px``, ``footprint_diameter_px`` and the
        obtained ``overlap``).
    """
    if n < MIN_N or n % 2:
        raise EngineError(f"N={n} is not supported; use an even N >= {MIN_N}")
    if n_positions < 1 or not nphotons > 0 or (step_px is not None and not step_px > 0):
        raise EngineError(
            f"need n_positions >= 1, nphotons > 0 and step > 0; got "
            f"{n_positions}, {nphotons}, {step_px}"
        )
    if step_px is not None and overlap is not None:
        raise EngineError("give the scan step or the overlap, not both (--step, --overlap)")
    if overlap is not None and not 0 <= overlap < 1:
        raise EngineError(f"--overlap must be in [0, 1), got {overlap}")
    if counts_per_intensity is not None and not counts_per_intensity > 0:
        raise EngineError(f"counts_per_intensity must be > 0, got {counts_per_intensity}")
    if scan not in synth.SCAN_KINDS:
        raise EngineError(f"unknown scan {scan!r}; use one of {', '.join(synth.SCAN_KINDS)}")
    if probe_modes < 1 or not 0 < probe_mode_decay <= 1:
        raise EngineError(
            f"need --probe-modes >= 1 and a mode decay in (0, 1]; got {probe_modes}, "
            f"{probe_mode_decay}"
        )
    zoneplate = check_kind_options(
        probe_source,
        "zoneplate",
        {
            "diameter_px": zoneplate_diameter_px,
            "defocus_rad": zoneplate_defocus_rad,
            "central_stop": zoneplate_central_stop,
        },
        "--probe",
    )
    images = check_kind_options(
        object_source,
        "image",
        {"image_amplitude": image_amplitude, "image_phase": image_phase},
        "--object",
    )
    rng = np.random.default_rng(seed)
    probe = load_probe(probe_source, n, zoneplate, probe_modes, probe_mode_decay)  # (P, N, N)
    diameter = synth.probe_diameter_px(probe)
    footprint = footprint_diameter_px(probe)
    if overlap is not None:
        step = step_for_overlap(overlap, footprint)  # the wanted mean nearest-neighbour step
    else:
        step = round(DEFAULT_STEP_FRACTION * diameter, 1) if step_px is None else float(step_px)
    offsets = synth.scan_offsets(scan, n_positions, step, rng)  # (M, 2) centred on 0
    if overlap is not None:
        before = mean_nearest_step_px(offsets)
        offsets = rescale_to_mean_step(offsets, step)
        step = step if before is None else step * step / before  # nominal step of the pattern
    min_size = math.ceil(np.ptp(offsets, axis=0).max()) + n + 4
    obj = load_object(object_source, object_size_px, min_size + min_size % 2, rng, images)
    xy = offsets + (np.array(obj.shape[::-1]) - 1) / 2  # (M, 2) [x, y] on the object

    intensity = expected_intensity(obj, probe, xy)  # (M, N, N)
    if counts_per_intensity is None:  # mean total = nphotons
        s2 = nphotons / intensity.sum(axis=(1, 2), dtype=np.float64).mean()
    else:
        s2 = float(counts_per_intensity)
    mean_step = mean_nearest_step_px(xy)
    obtained = linear_overlap(step if mean_step is None else mean_step, footprint)
    metadata = {
        "generator": "ptycho simulate",
        "seed": seed,
        "nphotons": float(nphotons),
        "N": n,
        "n_positions": n_positions,
        "object": object_source,
        "probe": probe_source,
        "scan": scan,
        "step_px": round(step, 3),
        "mean_step_px": None if mean_step is None else round(mean_step, 3),
        "probe_diameter_px": round(diameter, 3),
        "footprint_diameter_px": round(footprint, 3),
        "overlap": round(obtained, 3),
        "overlap_requested": overlap,
        "overlap_definition": "1 - mean nearest-neighbour step / diameter of the 90% energy circle",
        "probe_modes": int(probe.shape[0]),
        "counts_per_intensity": s2,
        "object_shape": list(obj.shape),
        "probe_units": "sqrt(counts): |far_field(probeGuess * objectGuess patch)|**2 = counts",
    }
    if probe_modes > 1:
        metadata["probe_mode_decay"] = probe_mode_decay
    if zoneplate:
        metadata["zoneplate"] = zoneplate
    if object_source == "image":
        metadata["images"] = images
    probe = probe * math.sqrt(s2)
    return {
        "diff3d": poisson_amplitude(intensity, s2, rng),
        "xcoords": xy[:, 0].astype(np.float64),
        "ycoords": xy[:, 1].astype(np.float64),
        "probeGuess": (probe[0] if probe.shape[0] == 1 else probe).astype(np.complex64),
        "objectGuess": obj.astype(np.complex64),
        "scan_index": np.zeros(len(xy), dtype=np.int64),
        "_metadata": np.array(json.dumps(metadata)),
    }


def held_out_path(out: str | os.PathLike) -> Path:
    """Return the test-split path of ``out``: ``name.npz`` -> ``name_test.npz``."""
    out = Path(out)
    return out.with_name(f"{out.stem}_test{out.suffix}")


def simulate_to_files(
    out: str | os.PathLike,
    *,
    test_fraction: float | None = None,
    split_axis: str = "x",
    overwrite: bool = False,
    **options,
) -> dict:
    """Simulate (``options`` go to :func:`simulate`) and write OUT and, if split, OUT_test.npz.

    Files are validated and written atomically by ``ptycho_engine.data.npz``; an existing
    output is refused (before any work) unless ``overwrite``.

    Parameters
    ----------
    out : path
        Output ``.npz``; the test part of a split goes to :func:`held_out_path` (OUT_test.npz).
    test_fraction : float, optional
        Split the scan into spatially disjoint parts (:func:`split_by_axis`) with about this
        share of the kept positions in the test file; default no split.
    split_axis : {"x", "y"}
        ``x``: train left / test right; ``y``: train top rows / test bottom rows.
    overwrite : bool
        Replace existing outputs.
    **options
        Keyword arguments of :func:`simulate`.

    Returns
    -------
    dict
        ``files``, ``frames`` (per file), ``N``, ``mean_photons`` (measured mean total counts
        per frame), ``step_px``, ``mean_step_px``, ``footprint_diameter_px``, ``overlap`` (the
        overlap obtained, ``ptycho_engine.data.overlap``), ``probe_modes`` and ``dropped``.
    """
    out = Path(out)
    if out.suffix != ".npz":
        raise EngineError(f"output {str(out)!r} must end in .npz")
    if not out.parent.is_dir():
        raise EngineError(f"output folder {str(out.parent)!r} does not exist")
    if test_fraction is not None and not 0 < test_fraction < 1:  # before any work
        raise EngineError(
            f"--test-fraction must be between 0 and 1 (exclusive), got {test_fraction}"
        )
    targets = [out] if test_fraction is None else [out, held_out_path(out)]
    for target in targets:
        if target.exists() and not overwrite:
            raise EngineError(f"{target} exists; pass --overwrite to replace it")
    data = simulate(**options)
    parts, dropped = [data], 0
    if test_fraction is not None:
        train, test, dropped = split_by_axis(data, test_fraction, axis=split_axis)
        parts = [train, test]
    for target, part in zip(targets, parts, strict=True):
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
        "mean_step_px": metadata["mean_step_px"],
        "footprint_diameter_px": metadata["footprint_diameter_px"],
        "overlap": metadata["overlap"],
        "probe_modes": metadata["probe_modes"],
        "dropped": dropped,
    }
