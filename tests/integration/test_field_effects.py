"""Every setting has an effect, or a value other than its default is refused.

``EFFECTS`` maps each field (``section.field``) of ``ModelConfig``, ``TrainingConfig``,
``InferenceConfig``, ``SolverConfig``, ``ReconstructionConfig`` and ``PyTorchExecutionConfig``
to a proof: two values give different results of a small run or of a pure function (the
network, the grouping, the losses, the optimiser, the Trainer's arguments, the solver, the
outputs), or a value other than the default is refused with one line saying the field has no
effect in this engine. A field without a proof fails :func:`test_every_field_has_a_proof`, so a
new setting needs one before it is accepted.

Training runs stop where the Trainer would fit (``build_trainer`` is replaced by a recorder of
its arguments, whose ``fit`` records the loaders), so a proof costs a grouping and a network,
not an epoch; the Trainer's own arguments are proved on a real ``build_trainer``. The fields a command only hands on (paths,
figure ranges) are proved through the command itself, with the step after them replaced by a
recorder.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from pydantic import ValidationError

import ptycho_engine.solver.workflow as solver_workflow
import ptycho_engine.training.workflow as workflow
from ptycho_engine.cli import main
from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.hardware import inference_batch_size
from ptycho_engine.network import build_generator
from ptycho_engine.training import trainer as trainer_module
from ptycho_engine.training.optim import build_optimizer, build_scheduler
from ptycho_settings import (
    HardwareDescription,
    InferenceConfig,
    ModelConfig,
    PyTorchExecutionConfig,
    ReconstructionConfig,
    TrainingConfig,
    resolve_execution,
)
from ptycho_settings.solver import SolverConfig
from tests.engine.simdata import simulated_files

SECTIONS = {
    "model": ModelConfig,
    "training": TrainingConfig,
    "inference": InferenceConfig,
    "solver": SolverConfig,
    "reconstruction": ReconstructionConfig,
    "execution": PyTorchExecutionConfig,
}
FIELDS = sorted(
    f"{section}.{name}" for section, cls in SECTIONS.items() for name in cls.model_fields
)


TRAIN_2 = {"model": {"gridsize": 2}}


class _Stop(Exception):
    """Raised by a recorder to end a run once it has what the proof needs."""

    def __init__(self, **seen: Any) -> None:
        super().__init__("recorded")
        self.seen = seen


@dataclass
class Context:
    monkeypatch: pytest.MonkeyPatch
    tmp_path: Path
    bundle_dir: Callable[[], Path]
    counter: int = 0

    def fresh(self, name: str = "run") -> Path:
        self.counter += 1
        return self.tmp_path / f"{name}{self.counter}"


def _differ(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return True
        return a.shape != b.shape or not torch.equal(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape != b.shape or not np.array_equal(a, b)
    return a != b


def _refused(build: Callable[[], Any], *words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()
    message = caught.value.errors()[0]["msg"]
    assert "\n" not in message
    for word in words:
        assert word in message, message


# ---------------------------------------------------------------- training runs, stopped early


def _training(ctx: Context, model: dict | None = None, execution: dict | None = None, **fields):
    """Run ``train`` up to the Trainer and return what it built: module, scan, the Trainer's
    arguments, and the loaders (``fit`` is recorded).
    """
    seen: dict[str, Any] = {}
    real_module, real_group = workflow.PinnModule, workflow.group_for_training

    def module(*args, **kwargs):
        seen["module"] = real_module(*args, **kwargs)
        return seen["module"]

    def group(*args, **kwargs):
        scan = real_group(*args, **kwargs)
        seen.setdefault("scan", scan)  # the training groups (validation groups come next)
        return scan

    class _Trainer:
        is_global_zero = True

        def fit(self, module, *loaders, ckpt_path=None):
            raise _Stop(loaders=loaders)

    def build(execution, resolved, **kwargs):
        seen.update(execution=execution, resolved=resolved, trainer_args=kwargs)
        return _Trainer()

    with ctx.monkeypatch.context() as patch:
        patch.setattr(workflow, "PinnModule", module)
        patch.setattr(workflow, "group_for_training", group)
        patch.setattr(workflow, "build_trainer", build)
        train_file, _ = simulated_files()
        config = TrainingConfig(
            **{
                "model": ModelConfig(**{"n_filters_scale": 1, **(model or {})}),
                "train_data_file": train_file,
                "output_dir": ctx.fresh(),
                "nphotons": 1e6,
                "n_groups": 8,
                "batch_size": 8,
                **fields,
            }
        )
        values = {"accelerator": "cpu", "enable_progress_bar": False, **(execution or {})}
        with pytest.raises(_Stop) as stop:
            workflow.train(config, PyTorchExecutionConfig.from_values(values))
    seen["loaders"] = stop.value.seen["loaders"]
    return SimpleNamespace(config=config, **seen)


def _batch(run, groups: int = 2) -> dict[str, torch.Tensor]:
    scan = run.scan
    batch = {"diffraction": scan.diffraction[:groups], "offsets": scan.offsets[:groups]}
    if scan.truth is not None:
        batch["truth"] = scan.truth[:groups]
    return batch


@torch.no_grad()
def _patches(run) -> torch.Tensor:
    return run.module.eval()(run.scan.diffraction[:2])


@torch.no_grad()
def _losses(run) -> dict[str, float]:
    return {key: float(value) for key, value in run.module.compute_losses(_batch(run)).items()}


def _training_effect(get: Callable, a: dict, b: dict) -> Callable[[Context], None]:
    """Proof: the runs with settings ``a`` and ``b`` differ in ``get(run)``.

    ``a`` and ``b`` hold training fields, ``model`` and ``execution`` dicts.
    """

    def prove(ctx: Context) -> None:
        first, second = get(_training(ctx, **a)), get(_training(ctx, **b))
        assert _differ(first, second), (first, second)

    return prove


def _model_effect(get: Callable, change: dict, base: dict | None = None, **training):
    base = base or {}
    return _training_effect(
        get, {"model": base, **training}, {"model": {**base, **change}, **training}
    )


def _state_keys(run) -> set[str]:
    return set(run.module.state_dict())


def _parameter_count(run) -> int:
    return sum(p.numel() for p in run.module.parameters())


def _parameters(run) -> set[str]:
    return set(dict(run.module.named_parameters()))


@torch.no_grad()
def _amplitude(run) -> torch.Tensor:
    module = run.module.eval()
    return module.predict_amplitude(module(run.scan.diffraction[:2]), run.scan.offsets[:2])


def _amplitude_head(run) -> torch.Tensor:
    # the amplitude activation on a range of pre-activations (the heads start at zero, where
    # every residual multiplier is 1, so the untrained patches do not show it)
    activation = run.module.generator.decoders()[0].activations[0]
    return activation(torch.linspace(-2, 2, 9))


def _probe(run) -> torch.Tensor:
    return run.module.probe.detach()


def _prove_n(ctx: Context) -> None:
    # the generator's patch size; the training run refuses an N other than the data's
    for n in (64, 128):
        out = build_generator(ModelConfig(N=n, n_filters_scale=1))(torch.ones(1, 1, n, n))
        assert out.shape == (1, 1, n, n)
    from ptycho_engine.errors import EngineError

    with pytest.raises(EngineError, match="patterns are 64×64 but model.N is 128"):
        _training(ctx, model={"N": 128})


def _prove_architecture(ctx: Context) -> None:
    from ptycho_engine.network.registry import GENERATORS

    assert set(GENERATORS) == {"cnn"}  # the one allowed value selects the generator
    _refused(lambda: ModelConfig(architecture="unet"), "cnn")


def _optimizer(**fields) -> torch.optim.Optimizer:
    return build_optimizer([torch.nn.Parameter(torch.ones(2))], TrainingConfig(**fields))


def _optimizer_effect(get: Callable, a: dict, b: dict) -> Callable[[Context], None]:
    def prove(ctx: Context) -> None:
        first, second = get(_optimizer(**a)), get(_optimizer(**b))
        assert _differ(first, second), (first, second)

    return prove


def _lr_after(epochs: int, falling: bool = False, **fields) -> float:
    """The learning rate after ``epochs`` scheduler steps (a plateau sees a flat loss, or one
    falling by 5 % an epoch).
    """
    optimizer = _optimizer(**fields)
    schedule = build_scheduler(optimizer, TrainingConfig(**fields))
    for epoch in range(epochs if schedule is not None else 0):
        optimizer.step()
        if fields.get("scheduler") == "plateau":
            schedule["scheduler"].step(0.95**epoch if falling else 1.0)
        else:
            schedule["scheduler"].step()
    return optimizer.param_groups[0]["lr"]


def _schedule_effect(
    epochs: int, a: dict, b: dict, falling: bool = False
) -> Callable[[Context], None]:
    def prove(ctx: Context) -> None:
        first, second = _lr_after(epochs, falling, **a), _lr_after(epochs, falling, **b)
        assert not math.isclose(first, second), (first, second)

    return prove


def _prove_enable_oversampling(ctx: Context) -> None:
    # more groups than positions: refused without it, drawn with it
    from ptycho_engine.errors import DataError

    with pytest.raises(DataError, match="enable_oversampling"):
        _training(ctx, **TRAIN_2, n_groups=100)
    assert _training(ctx, **TRAIN_2, n_groups=100, enable_oversampling=True).scan.n_groups == 100


def _prove_train_data_file(ctx: Context) -> None:
    other, _ = simulated_files(n_positions=120, seed=3)
    first = _training(ctx).scan.diffraction
    second = _training(ctx, train_data_file=other).scan.diffraction
    assert _differ(first, second)


def _prove_test_data_file(ctx: Context) -> None:
    _, test_file = simulated_files()
    assert _training(ctx).trainer_args["has_validation"] is False
    run = _training(ctx, test_data_file=test_file)
    assert run.trainer_args["has_validation"] is True and len(run.loaders) == 2


def _prove_output_dir(ctx: Context) -> None:
    out = ctx.fresh("chosen")
    assert _training(ctx, output_dir=out).trainer_args["output_dir"] == out


def _prove_positions_provided(ctx: Context) -> None:
    _refused(lambda: TrainingConfig(positions_provided=False), "no effect in this engine")


def _prove_backend(section: str) -> Callable[[Context], None]:
    def prove(ctx: Context) -> None:
        cls = SECTIONS[section]
        extra = _INFERENCE_PATHS if cls is InferenceConfig else {}
        _refused(lambda: cls(**extra, backend="tensorflow"), "no TensorFlow engine")

    return prove


# ---------------------------------------------------------------- execution: Trainer and loaders


def _resolved(hardware: HardwareDescription | None = None, **values):
    execution = PyTorchExecutionConfig.from_values(values)
    return execution, resolve_execution(execution, hardware or HardwareDescription(cpu_count=2))


def _resolved_effect(get: Callable, a: dict, b: dict, hardware=None) -> Callable[[Context], None]:
    def prove(ctx: Context) -> None:
        first, second = get(_resolved(hardware, **a)[1]), get(_resolved(hardware, **b)[1])
        assert _differ(first, second), (first, second)

    return prove


def _trainer(ctx: Context, **values):
    execution, resolved = _resolved(**{"accelerator": "cpu", **values})
    return trainer_module.build_trainer(
        execution, resolved, output_dir=ctx.fresh(), max_epochs=1, has_validation=True
    )


def _trainer_effect(get: Callable, a: dict, b: dict) -> Callable[[Context], None]:
    def prove(ctx: Context) -> None:
        first, second = get(_trainer(ctx, **a)), get(_trainer(ctx, **b))
        assert _differ(first, second), (first, second)

    return prove


def _logger(ctx: Context, **values):
    execution = PyTorchExecutionConfig.from_values({"accelerator": "cpu", **values})
    return trainer_module.build_logger(execution, ctx.fresh())


def _prove_logger(ctx: Context) -> None:
    assert type(_logger(ctx)).__name__ == "AtomicCSVLogger"
    assert _logger(ctx, logger="none") is False


def _prove_logger_dir(ctx: Context) -> None:
    where = ctx.fresh("logs")
    assert Path(_logger(ctx, logger_dir=where).save_dir) == where


def _prove_experiment_name(ctx: Context) -> None:
    assert _logger(ctx, experiment_name="other").name == "other"


def _prove_mlflow_tracking_uri(ctx: Context) -> None:
    # MLflow is an optional extra: its logger is replaced by a recorder of its arguments
    import sys

    import lightning.pytorch.loggers as loggers

    seen = {}

    def recorder(**kwargs):
        seen.update(kwargs)
        return "mlflow logger"

    ctx.monkeypatch.setattr(trainer_module, "_require", lambda module, extra: None)
    ctx.monkeypatch.setattr(loggers, "MLFlowLogger", recorder)
    fake = SimpleNamespace(MlflowException=RuntimeError)
    ctx.monkeypatch.setitem(sys.modules, "mlflow", SimpleNamespace(exceptions=fake))
    ctx.monkeypatch.setitem(sys.modules, "mlflow.exceptions", fake)
    _logger(ctx, logger="mlflow", mlflow_tracking_uri="http://tracking:5000")
    assert seen["tracking_uri"] == "http://tracking:5000"
    _logger(ctx, logger="mlflow")
    assert seen["tracking_uri"].startswith("file:")


def _prove_seed(ctx: Context) -> None:
    # seeded before the weights are drawn: another seed, other weights
    first = _training(ctx, execution={"seed": 1}).module.state_dict()
    second = _training(ctx, execution={"seed": 2}).module.state_dict()
    assert any(_differ(first[key], second[key]) for key in first)


def _loader_effect(get: Callable, a: dict, b: dict) -> Callable[[Context], None]:
    def prove(ctx: Context) -> None:
        first = get(_training(ctx, execution=a).loaders[0])
        second = get(_training(ctx, execution=b).loaders[0])
        assert _differ(first, second), (first, second)

    return prove


def _prove_inference_batch_size(ctx: Context) -> None:
    default = PyTorchExecutionConfig.from_values({})
    chosen = PyTorchExecutionConfig.from_values({"inference_batch_size": 3})
    assert inference_batch_size(default, 16, "cpu") != inference_batch_size(chosen, 16, "cpu")
    assert inference_batch_size(chosen, 16, "cpu") == 3


def _prove_deterministic(ctx: Context) -> None:
    # the Trainer sets torch's process-wide switch: read it, then put it back
    def state() -> tuple[bool, bool]:
        return (
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
        )

    before = state()
    try:
        seen = []
        for value in ("warn", True, False):
            _trainer(ctx, deterministic=value)
            seen.append(state())
        assert seen == [(True, True), (True, False), (False, False)]
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


def _prove_precision(ctx: Context) -> None:
    assert _trainer(ctx).precision != _trainer(ctx, precision="bf16-mixed").precision


# ---------------------------------------------------------------- inference: `ptycho infer`

_INFERENCE_PATHS = {"model_path": Path("m"), "test_data_file": Path("t.npz")}


@dataclass
class _Infer:
    loaded: list
    read: list
    reconstruct_kwargs: dict
    reconstruction: Any
    refine: dict
    written: dict


def _infer(ctx: Context, *flags: str, refine: bool = False) -> _Infer:
    """Run ``ptycho infer`` on the tiny bundle; the output writer (or, with ``refine``, the
    solver) records what it was handed and ends the run.
    """
    import ptycho_engine.data.npz as npz
    import ptycho_engine.inference as inference
    import ptycho_engine.outputs as outputs
    import ptycho_engine.pinn as pinn
    import ptycho_engine.solver as solver

    seen = _Infer([], [], {}, None, {}, {})
    real_load, real_read, real_reconstruct = pinn.load_bundle, npz.load_diffraction, None
    real_reconstruct = inference.reconstruct

    def load(path, *args, **kwargs):
        seen.loaded.append(Path(path))
        return real_load(path, *args, **kwargs)

    def read(path, *args, **kwargs):
        seen.read.append(Path(path))
        return real_read(path, *args, **kwargs)

    def reconstruct(*args, **kwargs):
        seen.reconstruct_kwargs.update(kwargs)
        seen.reconstruction = real_reconstruct(*args, **kwargs)
        return seen.reconstruction

    def write(*args, **kwargs):
        seen.written.update(kwargs, args=args)
        raise _Stop()

    def refine_recorder(bundle, data, reconstruction, config, **kwargs):
        seen.refine.update(kwargs, solver=config)
        raise _Stop()

    _, test_file = simulated_files()
    with ctx.monkeypatch.context() as patch:
        patch.setattr(pinn, "load_bundle", load)
        patch.setattr(npz, "load_diffraction", read)
        patch.setattr(inference, "reconstruct", reconstruct)
        patch.setattr(outputs, "write_outputs", write)
        patch.setattr(solver, "refine_reconstruction", refine_recorder)
        arguments = ["infer", "--model-path", str(ctx.bundle_dir()), "--test-data-file"]
        arguments += [str(test_file), "--output-dir", str(ctx.fresh("infer")), "--quiet"]
        if refine:
            arguments += ["--refine-iterations", "2"]
        with pytest.raises(_Stop):
            main([*arguments, "--accelerator", "cpu", *flags])
    return seen


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _infer_effect(get: Callable, a: tuple = (), b: tuple = ()) -> Callable[[Context], None]:
    def prove(ctx: Context) -> None:
        first, second = get(_infer(ctx, *a)), get(_infer(ctx, *b))
        assert _differ(first, second), (first, second)

    return prove


def _prove_inference_model(ctx: Context, capsys: pytest.CaptureFixture) -> None:
    # the model settings come from the bundle: another value is refused, naming the reason
    status = main(
        [
            "infer",
            "--model-path",
            str(ctx.bundle_dir()),
            "--test-data-file",
            str(simulated_files()[1]),
            "--output-dir",
            str(ctx.fresh("infer")),
            "--gridsize",
            "2",
        ]
    )
    assert status == 2 and "model settings come from the bundle" in capsys.readouterr().err


def _prove_model_path(ctx: Context) -> None:
    assert _infer(ctx).loaded == [ctx.bundle_dir()]


def _prove_inference_test_data_file(ctx: Context) -> None:
    assert _infer(ctx).read == [simulated_files()[1]]


def _prove_inference_output_dir(ctx: Context) -> None:
    written = _infer(ctx).written
    assert str(written["args"][2]).startswith(str(ctx.tmp_path / "infer"))


def _prove_refine_iterations(ctx: Context) -> None:
    assert _infer(ctx, refine=True).refine["iterations"] == 2  # without it the writer ends the run
    assert _infer(ctx).refine == {}


def _prove_handed_to_solver(name: str, value: Any) -> Callable[[Context], None]:
    # `ptycho infer --refine-iterations` hands the InferenceConfig to the solver as its
    # SolverConfig: the `solver.*` proofs show what the solver does with the field
    def prove(ctx: Context) -> None:
        handed = _infer(ctx, _flag(name), str(value), refine=True).refine["solver"]
        assert isinstance(handed, SolverConfig) and getattr(handed, name) == value

    return prove


def _no_effect_at_inference(name: str, value: Any) -> Callable[[Context], None]:
    def prove(ctx: Context) -> None:
        model = ModelConfig(gridsize=2) if name == "enable_oversampling" else ModelConfig()
        _refused(
            lambda: InferenceConfig(**_INFERENCE_PATHS, model=model, **{name: value}),
            f"`{name}` has no effect in this engine",
        )

    return prove


# ---------------------------------------------------------------- the solver and `ptycho reconstruct`


def _solve(ctx: Context, **fields):
    """``reconstruct_iteratively`` on the held-out simulated scan (48 positions)."""
    _, test_file = simulated_files()
    data = load_diffraction(test_file)
    config = ReconstructionConfig(
        **{"data_file": test_file, "iterations": 2, "refine_batch_size": 16, **fields}
    )
    return solver_workflow.reconstruct_iteratively(data, config, seed=0)


def _solver_effect(get: Callable, a: dict, b: dict) -> Callable[[Context], None]:
    def prove(ctx: Context) -> None:
        first, second = get(_solve(ctx, **a)), get(_solve(ctx, **b))
        assert _differ(first, second), (first, second)

    return prove


def _refined_object(result) -> np.ndarray:
    return result[0].object


def _iterations_run(result) -> int:
    return result[1].iterations


def _prove_init(ctx: Context) -> None:
    first = _solve(ctx)[0]
    start = ctx.tmp_path / "start.npz"
    np.savez(start, object=(first.object * 0.5 + 0.2).astype(np.complex64), origin=first.origin)
    assert _differ(first.object, _solve(ctx, init=start)[0].object)


def _reconstruct_cli(ctx: Context, *flags: str) -> dict:
    """Run ``ptycho reconstruct``; the writer records its arguments and ends the run."""
    import ptycho_engine.data.npz as npz
    import ptycho_engine.solver as solver

    seen: dict[str, Any] = {"read": []}
    real_read = npz.load_diffraction

    def read(path, *args, **kwargs):
        seen["read"].append(Path(path))
        return real_read(path, *args, **kwargs)

    def write(*args, **kwargs):
        seen.update(kwargs, args=args)
        raise _Stop()

    _, test_file = simulated_files()
    with ctx.monkeypatch.context() as patch:
        patch.setattr(npz, "load_diffraction", read)
        patch.setattr(solver, "write_solver_outputs", write)
        with pytest.raises(_Stop):
            main(
                [
                    "reconstruct",
                    "--data-file",
                    str(test_file),
                    "--output-dir",
                    str(ctx.fresh("solve")),
                    "--iterations",
                    "1",
                    "--accelerator",
                    "cpu",
                    "--quiet",
                    *flags,
                ]
            )
    return seen


def _prove_data_file(ctx: Context) -> None:
    assert _reconstruct_cli(ctx)["read"] == [simulated_files()[1]]


def _prove_reconstruction_output_dir(ctx: Context) -> None:
    args = _reconstruct_cli(ctx)["args"]
    assert any(str(a).startswith(str(ctx.tmp_path / "solve")) for a in args)


def _phase_range(command: str, name: str) -> Callable[[Context], None]:
    def prove(ctx: Context) -> None:
        run = _infer if command == "infer" else _reconstruct_cli
        seen = run(ctx, _flag(name), "-0.5")
        written = seen.written if command == "infer" else seen
        assert written[name] == -0.5
        default = run(ctx)
        assert (default.written if command == "infer" else default)[name] != -0.5

    return prove


def _prove_inference_probe(ctx: Context) -> None:
    # another engineer's field: `data` stitches with the file's probe, `check` with the bundle's
    first = _infer(ctx).reconstruct_kwargs.get("stitch_probe")
    second = _infer(ctx, "--probe", "data").reconstruct_kwargs.get("stitch_probe")
    assert first is None and second is not None


# ---------------------------------------------------------------- the registry

EFFECTS: dict[str, Callable] = {
    # ModelConfig
    "model.N": _prove_n,
    "model.gridsize": _model_effect(lambda r: r.scan.diffraction.shape, {"gridsize": 2}),
    "model.n_filters_scale": _model_effect(_parameter_count, {"n_filters_scale": 2}),
    "model.model_type": _model_effect(
        lambda r: set(_losses(r)), {"model_type": "supervised"}, realspace_weight=0.0
    ),
    "model.architecture": _prove_architecture,
    "model.amp_activation": _model_effect(_amplitude_head, {"amp_activation": "softplus"}),
    "model.object_big": _model_effect(
        lambda r: _patches(r).shape, {"object_big": False}, {"gridsize": 2}
    ),
    "model.estimate_iterations": _model_effect(_patches, {"estimate_iterations": 2}),
    "model.training_patch_weighting": _model_effect(
        _amplitude, {"training_patch_weighting": "uniform"}, {"gridsize": 2}
    ),
    "model.probe_big": _model_effect(_state_keys, {"probe_big": False}),
    "model.probe_mask": _model_effect(_probe, {"probe_mask": True}),
    "model.pad_object": _model_effect(_state_keys, {"pad_object": False}),
    "model.probe_scale": _model_effect(_probe, {"probe_scale": 2.0}),
    "model.gaussian_smoothing_sigma": _model_effect(_amplitude, {"gaussian_smoothing_sigma": 1.0}),
    # TrainingConfig: data and grouping
    "training.model": _training_effect(lambda r: r.scan.diffraction.shape, {}, TRAIN_2),
    "training.train_data_file": _prove_train_data_file,
    "training.test_data_file": _prove_test_data_file,
    "training.output_dir": _prove_output_dir,
    "training.n_groups": _training_effect(lambda r: r.scan.n_groups, {}, {"n_groups": 4}),
    "training.n_subsample": _training_effect(
        lambda r: r.scan.indices, {"subsample_seed": 1}, {"subsample_seed": 1, "n_subsample": 20}
    ),
    "training.subsample_seed": _training_effect(
        lambda r: r.scan.indices, {"subsample_seed": 1}, {"subsample_seed": 2}
    ),
    "training.neighbor_count": _training_effect(
        lambda r: r.scan.indices, TRAIN_2, {**TRAIN_2, "neighbor_count": 8}
    ),
    "training.enable_oversampling": _prove_enable_oversampling,
    "training.neighbor_pool_size": _training_effect(
        lambda r: r.scan.indices,
        {**TRAIN_2, "n_groups": 150, "enable_oversampling": True},
        {**TRAIN_2, "n_groups": 150, "enable_oversampling": True, "neighbor_pool_size": 7},
    ),
    "training.sequential_sampling": _training_effect(
        lambda r: r.scan.indices, {}, {"sequential_sampling": True}
    ),
    "training.batch_size": _training_effect(
        lambda r: r.loaders[0].batch_size, {}, {"batch_size": 4}
    ),
    "training.nepochs": _training_effect(
        lambda r: r.trainer_args["max_epochs"], {}, {"nepochs": 3}
    ),
    "training.nphotons": _training_effect(lambda r: r.module.photon_scale, {}, {"nphotons": 1e8}),
    # losses
    "training.nll_weight": _training_effect(lambda r: _losses(r)["loss"], {}, {"nll_weight": 0.5}),
    "training.mae_weight": _training_effect(lambda r: _losses(r)["loss"], {}, {"mae_weight": 0.5}),
    "training.realspace_weight": _training_effect(
        lambda r: _losses(r)["loss"],
        {"realspace_weight": 0.5, "realspace_mae_weight": 0.5},
        {"realspace_weight": 1.0, "realspace_mae_weight": 0.5},
    ),
    "training.realspace_mae_weight": _training_effect(
        lambda r: _losses(r)["loss"],
        {"realspace_weight": 0.5, "realspace_mae_weight": 0.5},
        {"realspace_weight": 0.5, "realspace_mae_weight": 1.0},
    ),
    "training.positions_provided": _prove_positions_provided,
    "training.probe_trainable": _training_effect(_parameters, {}, {"probe_trainable": True}),
    "training.intensity_scale_trainable": _training_effect(
        _parameters, {}, {"intensity_scale_trainable": False}
    ),
    "training.backend": _prove_backend("training"),
    # optimiser and schedule
    "training.learning_rate": _optimizer_effect(
        lambda o: o.defaults["lr"], {}, {"learning_rate": 0.1}
    ),
    "training.optimizer": _optimizer_effect(type, {}, {"optimizer": "sgd"}),
    "training.momentum": _optimizer_effect(
        lambda o: o.defaults["momentum"],
        {"optimizer": "sgd"},
        {"optimizer": "sgd", "momentum": 0.5},
    ),
    "training.weight_decay": _optimizer_effect(
        lambda o: o.defaults["weight_decay"], {}, {"weight_decay": 0.01}
    ),
    "training.adam_beta1": _optimizer_effect(
        lambda o: o.defaults["betas"], {}, {"adam_beta1": 0.5}
    ),
    "training.adam_beta2": _optimizer_effect(
        lambda o: o.defaults["betas"], {}, {"adam_beta2": 0.9}
    ),
    "training.scheduler": _schedule_effect(2, {}, {"scheduler": "exponential"}),
    "training.exponential_gamma": _schedule_effect(
        2, {"scheduler": "exponential"}, {"scheduler": "exponential", "exponential_gamma": 0.5}
    ),
    "training.lr_warmup_epochs": _schedule_effect(
        1,
        {"scheduler": "warmup-cosine", "nepochs": 10},
        {"scheduler": "warmup-cosine", "nepochs": 10, "lr_warmup_epochs": 3},
    ),
    "training.lr_min_ratio": _schedule_effect(
        9,
        {"scheduler": "warmup-cosine", "nepochs": 10},
        {"scheduler": "warmup-cosine", "nepochs": 10, "lr_min_ratio": 0.5},
    ),
    "training.plateau_factor": _schedule_effect(
        6, {"scheduler": "plateau"}, {"scheduler": "plateau", "plateau_factor": 0.2}
    ),
    "training.plateau_patience": _schedule_effect(
        4, {"scheduler": "plateau"}, {"scheduler": "plateau", "plateau_patience": 5}
    ),
    "training.plateau_min_lr": _schedule_effect(
        12, {"scheduler": "plateau"}, {"scheduler": "plateau", "plateau_min_lr": 4e-4}
    ),
    "training.plateau_threshold": _schedule_effect(
        # a loss falling 5 % an epoch improves, unless the threshold asks for more
        4,
        {"scheduler": "plateau"},
        {"scheduler": "plateau", "plateau_threshold": 0.5},
        falling=True,
    ),
    # InferenceConfig (`ptycho infer`)
    "inference.model": _prove_inference_model,
    "inference.model_path": _prove_model_path,
    "inference.test_data_file": _prove_inference_test_data_file,
    "inference.output_dir": _prove_inference_output_dir,
    "inference.n_groups": _infer_effect(
        lambda s: s.reconstruction.n_groups, (), ("--n-groups", "5")
    ),
    "inference.neighbor_count": _infer_effect(
        lambda s: s.reconstruct_kwargs["neighbor_count"], (), ("--neighbor-count", "6")
    ),
    "inference.subsample_seed": _infer_effect(
        lambda s: s.reconstruct_kwargs["seed"], (), ("--subsample-seed", "5")
    ),
    "inference.renormalise": _infer_effect(
        lambda s: s.reconstruction.input_scale, (), ("--renormalise", "true")
    ),
    "inference.refine_iterations": _prove_refine_iterations,
    "inference.phase_vmin": _phase_range("infer", "phase_vmin"),
    "inference.phase_vmax": _phase_range("infer", "phase_vmax"),
    "inference.backend": _prove_backend("inference"),
    "inference.debug": _no_effect_at_inference("debug", True),
    "inference.n_subsample": _no_effect_at_inference("n_subsample", 10),
    "inference.enable_oversampling": _no_effect_at_inference("enable_oversampling", True),
    "inference.neighbor_pool_size": _no_effect_at_inference("neighbor_pool_size", 8),
    "inference.probe": _prove_inference_probe,
    # SolverConfig (the solver itself, through `reconstruct_iteratively`)
    "solver.refine_method": _solver_effect(_refined_object, {}, {"refine_method": "adam"}),
    "solver.refine_lr": _solver_effect(
        _refined_object, {"refine_method": "adam"}, {"refine_method": "adam", "refine_lr": 0.1}
    ),
    "solver.refine_batch_size": _solver_effect(_refined_object, {}, {"refine_batch_size": 48}),
    "solver.refine_probe": _solver_effect(
        lambda r: r[0].probe is None, {"iterations": 3}, {"iterations": 3, "refine_probe": True}
    ),
    "solver.refine_tolerance": _solver_effect(
        _iterations_run,
        {"iterations": 12, "refine_tolerance": 0.0},
        {"iterations": 12, "refine_tolerance": 0.9, "refine_patience": 1},
    ),
    "solver.refine_patience": _solver_effect(
        _iterations_run,
        {"iterations": 12, "refine_tolerance": 0.9, "refine_patience": 1},
        {"iterations": 12, "refine_tolerance": 0.9, "refine_patience": 4},
    ),
    # ReconstructionConfig (`ptycho reconstruct`)
    "reconstruction.model": _solver_effect(
        _refined_object, {}, {"model": ModelConfig(probe_scale=2.0)}
    ),
    "reconstruction.data_file": _prove_data_file,
    "reconstruction.output_dir": _prove_reconstruction_output_dir,
    "reconstruction.iterations": _solver_effect(_iterations_run, {}, {"iterations": 1}),
    "reconstruction.init": _prove_init,
    # the Poisson likelihood's counts (rPIE and Adam steps are scale-free; the NLL reported is not)
    "reconstruction.nphotons": _solver_effect(lambda r: r[1].nll_before, {}, {"nphotons": 1e3}),
    "reconstruction.phase_vmin": _phase_range("reconstruct", "phase_vmin"),
    "reconstruction.phase_vmax": _phase_range("reconstruct", "phase_vmax"),
    # PyTorchExecutionConfig: resolution, the Trainer, the loaders, the logger
    "execution.accelerator": _resolved_effect(
        lambda r: r.device, {}, {"accelerator": "cpu"}, HardwareDescription(cuda_device_count=1)
    ),
    "execution.strategy": _resolved_effect(
        lambda r: r.trainer_kwargs["strategy"], {}, {"strategy": "ddp"}
    ),
    "execution.devices": _resolved_effect(
        lambda r: r.trainer_kwargs["devices"], {}, {"devices": 2, "strategy": "ddp"}
    ),
    "execution.num_nodes": _resolved_effect(lambda r: r.world_size, {}, {"num_nodes": 2}),
    "execution.precision": _prove_precision,
    "execution.deterministic": _prove_deterministic,
    "execution.seed": _prove_seed,
    "execution.num_workers": _loader_effect(lambda d: d.num_workers, {}, {"num_workers": 1}),
    "execution.pin_memory": _resolved_effect(
        lambda r: r.dataloader_kwargs["pin_memory"],
        {"accelerator": "cuda"},
        {"accelerator": "cuda", "pin_memory": True},
        HardwareDescription(cuda_device_count=1),
    ),
    "execution.persistent_workers": _loader_effect(
        lambda d: d.persistent_workers,
        {"num_workers": 1},
        {"num_workers": 1, "persistent_workers": True},
    ),
    "execution.prefetch_factor": _loader_effect(
        lambda d: d.prefetch_factor, {"num_workers": 1}, {"num_workers": 1, "prefetch_factor": 5}
    ),
    "execution.accumulate_grad_batches": _trainer_effect(
        lambda t: t.accumulate_grad_batches, {}, {"accumulate_grad_batches": 3}
    ),
    "execution.gradient_clip_val": _trainer_effect(
        lambda t: t.gradient_clip_val, {}, {"gradient_clip_val": 1.0}
    ),
    "execution.gradient_clip_algorithm": _trainer_effect(
        lambda t: str(t.gradient_clip_algorithm),
        {"gradient_clip_val": 1.0},
        {"gradient_clip_val": 1.0, "gradient_clip_algorithm": "value"},
    ),
    "execution.logger": _prove_logger,
    "execution.logger_dir": _prove_logger_dir,
    "execution.experiment_name": _prove_experiment_name,
    "execution.mlflow_tracking_uri": _prove_mlflow_tracking_uri,
    "execution.enable_progress_bar": _trainer_effect(
        lambda t: t.progress_bar_callback is None, {}, {"enable_progress_bar": False}
    ),
    "execution.enable_checkpointing": _trainer_effect(
        lambda t: t.checkpoint_callback is None, {}, {"enable_checkpointing": False}
    ),
    "execution.checkpoint_save_top_k": _trainer_effect(
        lambda t: t.checkpoint_callback.save_top_k, {}, {"checkpoint_save_top_k": 3}
    ),
    "execution.checkpoint_monitor": _trainer_effect(
        lambda t: t.checkpoint_callback.monitor, {}, {"checkpoint_monitor": "val_nll"}
    ),
    "execution.checkpoint_mode": _trainer_effect(
        lambda t: t.checkpoint_callback.mode, {}, {"checkpoint_mode": "max"}
    ),
    "execution.early_stop_patience": _trainer_effect(
        lambda t: t.early_stopping_callback is None, {}, {"early_stop_patience": 3}
    ),
    "execution.inference_batch_size": _prove_inference_batch_size,
    "execution.log_every_n_steps": _trainer_effect(
        lambda t: t.log_every_n_steps, {}, {"log_every_n_steps": 3}
    ),
}
# `ptycho infer --refine-iterations` hands its InferenceConfig to the solver: every solver field
EFFECTS.update(
    {
        f"inference.{name}": _prove_handed_to_solver(name, value)
        for name, value in {
            "refine_method": "adam",
            "refine_lr": 0.2,
            "refine_batch_size": 7,
            "refine_probe": True,
            "refine_tolerance": 0.2,
            "refine_patience": 5,
        }.items()
    }
)
# `ptycho reconstruct` hands its ReconstructionConfig to the same solver (the `solver.*`
# proofs run through it)
EFFECTS.update(
    {
        f"reconstruction.{name}": EFFECTS[f"solver.{name}"]
        for name in SolverConfig.model_fields
        if f"solver.{name}" in EFFECTS
    }
)


@cache
def _tiny_bundle(folder: str) -> Path:
    train_file, _ = simulated_files()
    out = Path(folder) / "bundle"
    config = TrainingConfig(
        model=ModelConfig(n_filters_scale=1),
        train_data_file=train_file,
        output_dir=out,
        nphotons=1e6,
        n_groups=8,
        nepochs=1,
        batch_size=8,
    )
    execution = {"accelerator": "cpu", "enable_progress_bar": False, "logger": "none"}
    workflow.train(config, PyTorchExecutionConfig.from_values(execution))
    return out


@pytest.fixture(scope="module")
def bundle_folder(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("field-effects"))


@pytest.mark.parametrize("path", FIELDS)
def test_every_field_has_a_proof(path, monkeypatch, tmp_path, bundle_folder, capsys):
    assert path in EFFECTS, (
        f"{path} has no proof of an effect: add one to EFFECTS (two values, two results), "
        "or refuse a value other than the default with one line saying why it has no effect"
    )
    ctx = Context(monkeypatch, tmp_path, lambda: _tiny_bundle(bundle_folder))
    proof = EFFECTS[path]
    if proof is _prove_inference_model:
        proof(ctx, capsys)
    else:
        proof(ctx)
