"""Inference: predict every group of a scan in batches on the device, and stitch the patches.

``reconstruct(bundle, data, execution)`` is the Python twin of ``ptycho infer`` (bundles load
with :func:`ptycho_engine.pinn.load_bundle`). Model settings come from the bundle; only
inference settings may change.
"""

from __future__ import annotations

import time

import torch

from ptycho_engine.data.dataset import group_scan
from ptycho_engine.data.npz import DiffractionData
from ptycho_engine.errors import EngineError
from ptycho_engine.hardware import execution_device, inference_batch_size
from ptycho_engine.network.estimate_table import estimate_table
from ptycho_engine.network.fold import fold_batch_norms
from ptycho_engine.physics.canvas import Stitcher, canvas_frame
from ptycho_engine.physics.probe import (
    PROBE_TOLERANCE,
    probe_difference,
    probe_weight,
)
from ptycho_engine.pinn import LoadedBundle, model_probe
from ptycho_engine.reconstruction import Reconstruction
from ptycho_settings import PyTorchExecutionConfig


@torch.no_grad()
def reconstruct(
    bundle: LoadedBundle,
    data: DiffractionData,
    execution: PyTorchExecutionConfig | None = None,
    *,
    n_groups: int | None = None,
    neighbor_count: int | None = None,
    seed: int | None = None,
    progress: bool = False,
    renormalise: bool = False,
    stitch_probe: torch.Tensor | None = None,
) -> Reconstruction:
    """Predict every group of ``data`` and stitch each channel at its own position.

    The amplitudes are scaled by the bundle's ``input_scale`` (the training data's α, see
    ``ptycho_engine.physics.scaling``), so the network sees them as it saw the training data;
    ``renormalise`` computes α on ``data`` instead, for data of another dose. Patches are
    weighted by the intensity of the network's probe, or of ``stitch_probe`` when given (the
    data's own probe, :func:`choose_probe`).
    """
    execution = execution or PyTorchExecutionConfig.defaults()
    device = execution_device(execution)
    model = bundle.model
    if data.N != model.N:
        raise EngineError(
            f"{data.source}: patterns are {data.N}×{data.N} but the model was "
            f"trained for N={model.N}"
        )
    start = time.perf_counter()
    # without n_groups, as few groups as cover every position (each pattern predicted about
    # once, not gridsize² times); n_groups = the number of positions seeds one group at each
    scan = group_scan(
        data,
        gridsize=model.gridsize,
        neighbor_count=neighbor_count or bundle.training.neighbor_count,
        n_groups=n_groups,
        seed=seed if seed is not None else execution.seed,
        cover=True,
        input_scale=None if renormalise else _stored_input_scale(bundle),
    )
    bundle.to(device)
    network = fold_batch_norms(bundle.module)  # same predictions, ~10 % faster (see fold.py)
    origin, shape = canvas_frame(scan.positions, model.N)
    weight_probe = network.probe.detach() if stitch_probe is None else stitch_probe
    stitcher = Stitcher(shape, origin, probe_weight(weight_probe).to(device))
    batch = inference_batch_size(execution, bundle.training.batch_size, device)
    positions = torch.from_numpy(scan.positions)
    timings = {"predict_s": 0.0, "stitch_s": 0.0}
    tick = time.perf_counter()
    # each distinct pattern's estimate once (gridsize > 1: the covering groups share patterns)
    table = estimate_table(network.generator, scan, device=device)
    timings["predict_s"] += time.perf_counter() - tick
    for first in _batches(scan.n_groups, batch, progress):
        tick = time.perf_counter()
        x = scan.diffraction[first : first + batch].to(device, non_blocking=True)
        offsets = scan.offsets[first : first + batch].to(device)
        estimate = None if table is None else table.for_groups(slice(first, first + batch))
        with prediction_precision(device, execution.precision):
            patches = network.tie(network(x, estimate), offsets)  # (b, C_out, N, N)
        where = positions[first : first + batch]  # (b, C, 2)
        if patches.shape[1] < where.shape[1]:
            where = where.mean(dim=1, keepdim=True)  # one patch per group, at its centre
        _synchronise(device)
        timings["predict_s"] += time.perf_counter() - tick
        tick = time.perf_counter()
        stitcher.add(patches, where)  # float64 on the host: see Stitcher.add
        _synchronise(device)
        timings["stitch_s"] += time.perf_counter() - tick
    obj, weights = stitcher.result()
    timings["total_s"] = time.perf_counter() - start
    return Reconstruction(
        obj.cpu().numpy(),
        origin,
        data.xcoords.copy(),
        data.ycoords.copy(),
        weights.cpu().numpy(),
        timings,
        scan.n_groups,
        scan.input_scale,
    )


_HALF_TYPES = {
    "bf16-mixed": torch.bfloat16,
    "bf16-true": torch.bfloat16,
    "16-mixed": torch.float16,
    "16-true": torch.float16,
}


def prediction_precision(device: str, precision: str):
    """The context the network predicts in: with a half-precision ``execution.precision`` the
    convolutions run in bfloat16 or float16 (autocast), as in training, while the estimate and
    the physics stay in float32; otherwise float32 throughout.
    """
    dtype = _HALF_TYPES.get(precision)
    return torch.autocast(
        device_type=torch.device(device).type, dtype=dtype, enabled=dtype is not None
    )


def _batches(total: int, size: int, progress: bool):
    starts = range(0, total, size)
    if not progress:
        return starts
    from tqdm.auto import tqdm  # tqdm only when a bar is shown

    return tqdm(starts, desc="reconstructing", unit="batch", leave=False)


def _synchronise(device: str) -> None:
    # honest timings on asynchronous devices
    if device == "cuda":
        torch.cuda.synchronize()


def _stored_input_scale(bundle: LoadedBundle) -> float | None:
    # bundles of this package always store it; None (recompute) only for a bundle without one
    value = bundle.scaling.get("input_scale")
    return float(value) if value else None


def choose_probe(bundle: LoadedBundle, data: DiffractionData, choice: str) -> torch.Tensor | None:
    """The probe that stitches (and refines) ``data``: None for the bundle's, or the data's own.

    ``choice`` is ``InferenceConfig.probe``: with ``check`` a ``probeGuess`` that differs from
    the probe the network was trained with (:data:`~ptycho_engine.physics.probe.PROBE_TOLERANCE`
    after the same normalisation) is refused; ``bundle`` keeps the trained probe; ``data``
    returns the data's normalised probe.
    """
    if choice == "bundle":
        return None
    model = bundle.model
    if data.N != model.N:
        return None  # reconstruct refuses the size with its own message
    own, _ = model_probe(data.probe, model)
    if choice == "data":
        return own
    # with a trained probe the data should match the probe training started from
    trained = getattr(bundle.module, "estimate_probe", bundle.module.probe).detach().cpu()
    difference = probe_difference(own, trained)
    if difference > PROBE_TOLERANCE:
        raise EngineError(
            f"{data.source}: its probeGuess differs from the probe of the bundle {bundle.path} "
            f"by {difference:.0%} (relative, after normalisation and a global phase; tolerance "
            f"{PROBE_TOLERANCE:.0%}); choose --probe bundle (stitch and refine with the trained "
            "probe) or --probe data (with the file's probe)"
        )
    return None
