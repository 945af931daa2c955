"""Inference: load a bundle, predict every group in batches on the device, stitch.

``load_bundle(path)`` and ``reconstruct(bundle, data, execution)`` are the Python twins of
``ptycho infer``. Settings come from the bundle; only inference settings may change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ptycho_engine.batches import estimate_table
from ptycho_engine.data.dataset import group_scan
from ptycho_engine.data.npz import DiffractionData
from ptycho_engine.errors import EngineError
from ptycho_engine.network.fold import fold_batch_norms
from ptycho_engine.physics.probe import probe_weight
from ptycho_engine.pinn import Pinn
from ptycho_engine.stitch import Stitcher, canvas_frame
from ptycho_settings import ModelConfig, PyTorchExecutionConfig, TrainingConfig


@dataclass(eq=False)
class LoadedBundle:
    """A trained model ready to predict, with the settings it was trained with."""

    module: Pinn
    model: ModelConfig
    training: TrainingConfig
    params: dict
    settings: dict
    scaling: dict
    path: Path

    def to(self, device: str | torch.device) -> LoadedBundle:
        """Move the network to a device (``cpu``, ``cuda``, ``mps``) and return self."""
        self.module.to(device)
        return self

    @torch.no_grad()
    def diffraction_to_obj(self, x: Tensor, positions: Tensor | None = None) -> Tensor:
        """Object patches from amplitudes, in the layout Ptychodus expects.

        Parameters
        ----------
        x : float32 Tensor of shape (B, C, N, N)
            Normalised diffraction amplitudes (mean pattern energy (N/2)²).
        positions : Tensor of shape (B, C, 1, 2), optional
            ``[x, y]`` positions relative to each group centre; with C > 1 and object_big the
            patches are tied through their overlaps, as in training.

        Returns
        -------
        complex64 Tensor of shape (B, C, N, N)
        """
        device = next(self.module.parameters()).device
        patches = self.module(x.to(device, torch.float32))
        if positions is not None:
            patches = self.module.tie(
                patches, positions.reshape(*positions.shape[:2], 2).to(device).float()
            )
        return patches.to(torch.complex64)


@dataclass(frozen=True, eq=False)
class Reconstruction:
    """A stitched object and where it sits in the input frame.

    ``object[y - origin[1], x - origin[0]]`` is the object at input position ``(x, y)``.
    ``input_scale`` is the α the measured amplitudes were multiplied by (the object's units
    follow from it); ``probe`` is set when the iterative solver refined the probe.
    """

    object: np.ndarray
    origin: tuple[float, float]
    xcoords: np.ndarray
    ycoords: np.ndarray
    weights: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    n_groups: int = 0
    input_scale: float = 1.0
    probe: np.ndarray | None = None


def load_bundle(path: str | Path, *, device: str = "cpu") -> LoadedBundle:
    """Load ``wts.h5.zip`` (a directory holding it, or the file) safely: no unpickling."""
    from ptycho_engine.bundle import read_bundle

    contents = read_bundle(path)
    try:
        model = ModelConfig.model_validate(contents.settings["model"])
        training = TrainingConfig.model_validate({**contents.settings["training"], "model": model})
    except (KeyError, ValueError) as error:
        raise EngineError(
            f"{path}: the settings stored in the bundle are not usable ({error})"
        ) from error
    probe = torch.from_numpy(np.asarray(contents.probe, dtype=np.complex64))
    module = Pinn(model, training, probe, contents.scaling["photon_scale"])  # no Lightning
    state = {
        key: torch.from_numpy(np.asarray(value))
        for key, value in contents.weights["diffraction_to_obj"].items()
    }
    state["probe"] = probe
    written_by = contents.manifest.get("package_version", "an unknown version")
    hint = (
        f"the bundle was written by version {written_by} of this package, whose network "
        "may differ; train it again with this version"
    )
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as error:  # a layer of another shape (torch lists every one)
        first = str(error).strip().splitlines()[-1].strip()
        raise EngineError(
            f"{path}: the weights do not fit this network ({first}); {hint}"
        ) from error
    if missing or unexpected:
        raise EngineError(
            f"{path}: the weights do not fit this network (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); {hint}"
        )
    module.eval()
    return LoadedBundle(
        module, model, training, contents.params, contents.settings, contents.scaling, Path(path)
    ).to(device)


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
) -> Reconstruction:
    """Predict every group of ``data`` and stitch each channel at its own position."""
    from ptycho_engine.hardware import execution_device

    execution = execution or PyTorchExecutionConfig()
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
    )
    bundle.to(device)
    network = fold_batch_norms(bundle.module)  # same predictions, ~10 % faster (see fold.py)
    origin, shape = canvas_frame(scan.positions, model.N)
    stitcher = Stitcher(shape, origin, probe_weight(network.probe.detach()).to(device))
    batch = inference_batch_size(execution, bundle.training, device)
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
        stitcher.add(patches, where.to(device))
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


CPU_INFERENCE_BATCHES = 2
"""Training batches per inference batch on a CPU, by default (elsewhere 4). Activations that
stay nearer the cache predict faster: the folded N = 64 generator on 2 cores predicts 256
gridsize-1 groups in 304, 313–335, 358 and 488 ms at 16, 32, 64 and 256 groups per batch
(gridsize 2: 428–469, 430, 419–488, 633–679 ms; N = 128, gridsize 1, 64 groups: 290, 355,
422–474 ms at 16, 32, 64)."""


def inference_batch_size(
    execution: PyTorchExecutionConfig, training: TrainingConfig, device: str
) -> int:
    """Groups per batch without gradients: the setting, else two training batches on a CPU
    (:data:`CPU_INFERENCE_BATCHES`) and four on accelerators.
    """
    batches = CPU_INFERENCE_BATCHES if torch.device(device).type == "cpu" else 4
    return execution.inference_batch_size or batches * training.batch_size


def _batches(total: int, size: int, progress: bool):
    starts = range(0, total, size)
    if not progress:
        return starts
    from tqdm.auto import tqdm

    return tqdm(starts, desc="reconstructing", unit="batch", leave=False)


def _synchronise(device: str) -> None:
    # honest timings on asynchronous devices
    if device == "cuda":
        torch.cuda.synchronize()
