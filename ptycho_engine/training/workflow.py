"""The training workflow: data → groups → PinnModule → Trainer.fit → model bundle.

``train(config, execution)`` is the Python twin of ``ptycho train``. Only rank 0 writes, and
every file appears whole or not at all (docs/reliability.md). The order of the training
batches depends only on the seed and the epoch, so a run resumed from a checkpoint sees
the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from ptycho_engine.bundle import write_bundle
from ptycho_engine.data.dataset import GroupedScan, group_scan
from ptycho_engine.data.npz import DiffractionData, load_diffraction
from ptycho_engine.errors import DataError, EngineError
from ptycho_engine.hardware import inference_batch_size, probe_hardware
from ptycho_engine.network.estimate_table import estimate_table
from ptycho_engine.physics.scaling import photon_scale
from ptycho_engine.pinn import model_probe
from ptycho_engine.training.batches import GroupBatches
from ptycho_engine.training.callbacks import LossHistory, StopOnNonFiniteLoss
from ptycho_engine.training.interrupt import TrainingInterrupted
from ptycho_engine.training.lightning_module import PinnModule
from ptycho_engine.training.loss_curve import save_loss_curve
from ptycho_engine.training.sampling import EpochSampler
from ptycho_engine.training.trainer import build_trainer
from ptycho_settings import (
    PyTorchExecutionConfig,
    TrainingConfig,
    ValueSource,
    resolve_execution,
    to_legacy_params,
)
from ptycho_settings.bundle_format import BUNDLE_FILENAME


@dataclass(frozen=True)
class TrainingResult:
    """What a training run produced (paths are None on ranks other than 0)."""

    output_dir: Path
    bundle_path: Path | None
    checkpoint_path: Path | None
    metrics_path: Path | None
    loss_curve_path: Path | None
    history: dict[str, list[float]] = field(default_factory=dict)
    intensity_scale: float = 1.0
    epochs_run: int = 0
    module: PinnModule | None = field(default=None, repr=False)


def train(
    config: TrainingConfig,
    execution: PyTorchExecutionConfig | None = None,
    *,
    provenance: Mapping[str, ValueSource] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callbacks: Sequence[L.Callback] = (),
) -> TrainingResult:
    """Train PtychoPINN and write the bundle ``<output_dir>/wts.h5.zip``.

    Parameters
    ----------
    config : TrainingConfig
        Canonical settings; ``train_data_file`` is required.
    execution : PyTorchExecutionConfig, optional
        How to run; default: the documented defaults (the environment is not read: resolve
        ``PTYCHO_*`` with :func:`ptycho_settings.create_training_config`).
    provenance : mapping, optional
        Sources of the settings, stored in the bundle.
    resume : bool
        Continue from ``<output_dir>/checkpoints/last.ckpt`` (saved at every epoch end); with
        the same settings and ``deterministic=true`` the result is the uninterrupted run's.
    overwrite : bool
        Replace an existing bundle in ``output_dir``, or start again beside the checkpoints of
        a run that wrote none. Without it, and without ``resume``, either is refused.
    callbacks : sequence of lightning.Callback
        Extra callbacks (progress reporting, timing).

    Raises
    ------
    NonFiniteLossError
        The loss became NaN or infinite; no bundle is written, the last good checkpoint stays.
    TrainingInterrupted
        A signal arrived inside :func:`ptycho_engine.training.interrupt.stop_on_signals`; it carries
        the epoch and the last checkpoint.
    """
    if config.train_data_file is None:
        raise EngineError("training.train_data_file is required: pass --train-data-file FILE")
    execution = execution or PyTorchExecutionConfig.defaults()
    output_dir = Path(config.output_dir)
    last = last_checkpoint_path(output_dir)
    _check_outputs(output_dir, last, resume=resume, overwrite=overwrite)
    resolved = resolve_execution(execution, probe_hardware())
    if execution.seed is not None:
        L.seed_everything(execution.seed, workers=True, verbose=False)  # before any draw or weight
    train_data = load_diffraction(config.train_data_file)
    if config.model.N == 0:  # "from the data" (how Ptychodus builds settings): resolved here
        model = config.model.model_copy(update={"N": train_data.N})
        config = config.model_copy(update={"model": model})
        source = f"probeGuess of {Path(config.train_data_file).name} (N=0 given)"
        provenance = {**(provenance or {}), "model.N": ValueSource("inferred", source)}
    scan = group_for_training(train_data, config, execution)
    validation = _validation(config, execution, scan.input_scale)
    probe, q = model_probe(train_data.probe, config.model)
    module = PinnModule(config.model, config, probe, photon_scale(config.nphotons, config.model.N))
    history = LossHistory()
    stop_on_nan = StopOnNonFiniteLoss(check_every_n_steps=execution.log_every_n_steps)
    trainer = build_trainer(
        execution,
        resolved,
        output_dir=output_dir,
        max_epochs=config.nepochs,
        has_validation=validation is not None,
        callbacks=[history, stop_on_nan, *callbacks],
    )
    loaders = _loaders(module, scan, validation, config, execution, resolved)
    try:
        trainer.fit(module, *loaders, ckpt_path=str(last) if resume else None)
    except TrainingInterrupted as stop:
        stop.epoch, stop.max_epochs = trainer.current_epoch + 1, config.nepochs
        stop.checkpoint = _saved_checkpoint(trainer)
        raise
    except RuntimeError as error:
        if resume and "loading state_dict" in str(
            error
        ):  # torch lists every layer: one line instead
            raise EngineError(
                f"--resume: {last} does not fit this network (another version of this package, or "
                "other model settings, wrote it); pass --overwrite instead of --resume to start again"
            ) from error
        raise
    if not trainer.is_global_zero:
        return TrainingResult(output_dir, None, None, None, None)
    try:
        return _write_outputs(
            trainer,
            module,
            config,
            execution,
            resolved,
            provenance,
            scan,
            q,
            history,
            overwrite=overwrite or resume,
        )
    except TrainingInterrupted as stop:
        stop.writing_outputs, stop.checkpoint = True, _saved_checkpoint(trainer)
        raise


def last_checkpoint_path(output_dir: str | Path) -> Path:
    """Return ``<output_dir>/checkpoints/last.ckpt``, the checkpoint ``--resume`` continues."""
    return Path(output_dir) / "checkpoints" / "last.ckpt"


def _saved_checkpoint(trainer: L.Trainer) -> Path | None:
    # The checkpoint this run wrote or resumed from; an older file of another run is not it.
    saved = getattr(trainer.checkpoint_callback, "last_model_path", "")
    return Path(saved) if saved and Path(saved).is_file() else None


def _check_outputs(output_dir: Path, last: Path, *, resume: bool, overwrite: bool) -> None:
    if resume and not last.is_file():
        raise EngineError(f"--resume: no checkpoint at {last}; train without --resume first")
    if not resume and not overwrite and (output_dir / BUNDLE_FILENAME).exists():
        raise EngineError(
            f"{output_dir / BUNDLE_FILENAME} exists; pass --overwrite to replace it "
            "or --resume to continue its training"
        )
    if not resume and not overwrite and last.is_file():
        raise EngineError(
            f"{last} exists from an earlier run that wrote no bundle; pass --resume "
            "to continue it or --overwrite to start again"
        )


def group_for_training(
    data: DiffractionData,
    config: TrainingConfig,
    execution,
    *,
    input_scale: float | None = None,
    n_groups: int | None = None,
) -> GroupedScan:
    """Group ``data`` with the sampling settings of ``config`` (``n_groups`` overrides them)."""
    seed = config.subsample_seed if config.subsample_seed is not None else execution.seed
    if data.N != config.model.N:
        raise DataError(
            f"{data.source}: patterns are {data.N}×{data.N} but model.N is {config.model.N}; "
            f"set model.N = {data.N} (the CLI infers it from probeGuess)"
        )
    supervised = config.model.model_type == "supervised"
    needs_truth = config.realspace_weight > 0 or supervised
    if needs_truth and data.object is None:
        why, fix = (
            ("supervised training (model_type = supervised) learns from", "model_type = pinn")
            if supervised
            else (
                "the real-space loss (realspace_weight > 0) compares with",
                "realspace_weight = 0",
            )
        )
        raise DataError(
            f"{data.source}: {why} the ground-truth object `objectGuess`, which this file does "
            f"not have; use a file with `objectGuess` (`ptycho simulate` writes one) or set {fix}"
        )
    return group_scan(
        data,
        gridsize=config.model.gridsize,
        neighbor_count=config.neighbor_count,
        n_groups=config.n_groups if n_groups is None else n_groups,
        n_subsample=config.n_subsample,
        seed=seed,
        sequential=config.sequential_sampling,
        enable_oversampling=config.enable_oversampling,
        neighbor_pool_size=config.neighbor_pool_size,
        input_scale=input_scale,
        with_truth=needs_truth,
        truth_at_centre=not config.model.object_big,  # the one patch per group is centred there
    )


def _validation(config: TrainingConfig, execution, input_scale: float) -> GroupedScan | None:
    if config.test_data_file is None:
        return None
    data = load_diffraction(config.test_data_file)
    groups = min(config.n_groups, data.n_positions)
    return group_for_training(data, config, execution, input_scale=input_scale, n_groups=groups)


def _loaders(module, scan, validation, config, execution, resolved) -> list[Any]:
    # Our samplers deal the groups out to the processes themselves (Lightning's
    # DistributedSampler would shuffle a second time; build_trainer turns it off).
    sampler = EpochSampler(
        scan.n_groups, seed=execution.seed, shuffle=not config.sequential_sampling
    )
    train_loader = DataLoader(
        GroupBatches(scan, estimate_table(module.generator, scan)),
        batch_size=config.batch_size,
        sampler=sampler,
        drop_last=False,
        **resolved.dataloader_kwargs,
    )
    if validation is None:
        return [train_loader]
    size = inference_batch_size(execution, config.batch_size, resolved.device)
    in_order = EpochSampler(validation.n_groups, seed=0, shuffle=False)
    return [
        train_loader,
        DataLoader(
            GroupBatches(validation, estimate_table(module.generator, validation)),
            batch_size=size,
            sampler=in_order,
            **resolved.dataloader_kwargs,
        ),
    ]


def _write_outputs(
    trainer, module, config, execution, resolved, provenance, scan, q, history, *, overwrite: bool
) -> TrainingResult:
    output_dir = Path(config.output_dir)
    params = {**to_legacy_params(config), "intensity_scale": module.intensity_scale}
    settings = training_settings_record(config, execution, resolved, provenance)
    scaling = {
        "intensity_scale": module.intensity_scale,
        "photon_scale": module.photon_scale,
        "log_scale": float(module.log_scale.detach()),
        "input_scale": scan.input_scale,
        "probe_normalisation": q,
        "nphotons": config.nphotons,
    }
    extras = {
        "train_loss": np.asarray(history.history.get("train_loss", []), dtype=np.float64),
        "group_indices": scan.indices.astype(np.int64),
    }
    bundle = write_bundle(
        output_dir,
        weights={"diffraction_to_obj": _weights(module)},
        probe=module.probe.detach().cpu().numpy(),
        scaling=scaling,
        params=params,
        settings=settings,
        extras=extras,
        overwrite=overwrite,
    )
    curve = save_loss_curve(output_dir / "loss_curve.png", history.history)
    metrics = _metrics_file(trainer)
    last = last_checkpoint_path(output_dir)
    return TrainingResult(
        output_dir,
        bundle,
        last if last.exists() else None,
        metrics,
        curve,
        dict(history.history),
        module.intensity_scale,
        trainer.current_epoch,
        module,
    )


def _weights(module: PinnModule) -> dict[str, torch.Tensor]:
    return {key: value for key, value in module.state_dict().items() if key != "probe"}


def _metrics_file(trainer) -> Path | None:
    logger = trainer.logger
    if logger is None or not getattr(logger, "log_dir", None):
        return None
    candidate = Path(logger.log_dir) / "metrics.csv"
    return candidate if candidate.exists() else None


def training_settings_record(config, execution, resolved, provenance) -> dict[str, Any]:
    """Return the JSON record of the settings a bundle was trained with."""
    sources = {
        path: {"source": s.kind, "detail": s.describe()} for path, s in (provenance or {}).items()
    }
    return json.loads(
        json.dumps(
            {
                "mode": "training",
                "model": config.model.model_dump(mode="json"),
                "training": config.model_dump(mode="json", exclude={"model"}),
                "execution": execution.model_dump(mode="json"),
                "resolved_execution": {k: v for k, v in resolved.trainer_kwargs.items()},
                "provenance": sources,
            },
            default=str,
        )
    )
