"""Inference: every channel is stitched at its own position, in batches, in the input frame."""

import numpy as np
import pytest
import torch
from torch import nn

from ptycho_engine.data.npz import validate_arrays
from ptycho_engine.hardware import inference_batch_size
from ptycho_engine.inference import reconstruct
from ptycho_engine.pinn import LoadedBundle
from ptycho_engine.training.lightning_module import PinnModule
from ptycho_settings import ModelConfig, PyTorchExecutionConfig, TrainingConfig

N = 64


class _DeltaGenerator(nn.Module):
    """Returns, for every channel, a patch with one bright pixel at its centre."""

    def __init__(self, channels_out: int) -> None:
        super().__init__()
        self.channels_out = channels_out
        self.anchor = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = torch.full((x.shape[0], self.channels_out, N, N), 0.01, dtype=torch.complex64)
        patches[..., N // 2, N // 2] = 1.0
        return patches


def _scan(positions: np.ndarray) -> object:
    m = len(positions)
    return validate_arrays(
        {
            "diff3d": np.ones((m, N, N), np.float32),
            "xcoords": positions[:, 0],
            "ycoords": positions[:, 1],
            "probeGuess": np.ones((N, N), np.complex64),
        }
    )


def _bundle(gridsize: int, object_big: bool = True) -> LoadedBundle:
    model = ModelConfig(gridsize=gridsize, object_big=object_big, n_filters_scale=1)
    training = TrainingConfig(model=model, neighbor_count=max(4, gridsize**2))
    module = PinnModule(
        model, training, torch.ones(1, N, N, dtype=torch.complex64), photon_scale=1.0
    )
    module.generator = _DeltaGenerator(model.C if object_big else 1)
    return LoadedBundle(module.eval(), model, training, {}, {}, {}, path=None)


@pytest.mark.parametrize("n_groups", [None, 25], ids=["cover", "one-per-position"])
@pytest.mark.parametrize("gridsize", [1, 2])
def test_every_position_gets_its_bright_pixel(gridsize, n_groups):
    # a 5×5 grid 70 px apart: patches do not overlap. With gridsize 2 the group merge at
    # fractional offsets spreads a bright pixel bilinearly (to 1/4 at worst, offsets of half a
    # pixel both ways), but its peak stays on the position. Without n_groups, the fewest
    # groups that hold every position are predicted.
    grid = np.arange(5) * 70.0 + 100
    positions = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    execution = PyTorchExecutionConfig.from_values(
        {"accelerator": "cpu", "inference_batch_size": 7}
    )
    result = reconstruct(_bundle(gridsize), _scan(positions), execution, n_groups=n_groups)
    obj = np.abs(result.object)
    for x, y in positions:
        row, col = int(y - result.origin[1]), int(x - result.origin[0])
        window = obj[row - 1 : row + 2, col - 1 : col + 2]
        assert obj[row, col] == window.max() >= 0.25 - 1e-6  # the peak sits on the position
        if gridsize == 1:
            assert obj[row, col] == pytest.approx(1.0)  # no merge: exact
    assert np.count_nonzero(obj > 0.3) <= 9 * len(positions)
    if gridsize == 2 and n_groups is None:
        assert 7 <= result.n_groups <= 12  # the cover: about 25/4 groups
    else:
        assert result.n_groups == 25
    assert result.object.dtype == np.complex64


def test_one_patch_per_group_goes_to_the_group_centre():
    positions = np.array([[100.0, 100.0], [104.0, 100.0], [100.0, 104.0], [104.0, 104.0]])
    execution = PyTorchExecutionConfig.from_values({"accelerator": "cpu"})
    result = reconstruct(
        _bundle(2, object_big=False), _scan(positions), execution, n_groups=1, neighbor_count=3
    )
    row, col = np.unravel_index(np.argmax(np.abs(result.object)), result.object.shape)
    assert (col + result.origin[0], row + result.origin[1]) == (102.0, 102.0)


def test_timings_are_reported():
    positions = np.random.default_rng(1).uniform(60, 140, size=(10, 2))
    result = reconstruct(
        _bundle(1), _scan(positions), PyTorchExecutionConfig.from_values({"accelerator": "cpu"})
    )
    assert set(result.timings) == {"predict_s", "stitch_s", "total_s"}
    assert result.timings["total_s"] >= result.timings["predict_s"] + result.timings["stitch_s"]


def test_wrong_patch_size_is_refused():
    from ptycho_engine.errors import EngineError

    small = validate_arrays(
        {
            "diff3d": np.ones((4, 128, 128), np.float32),
            "xcoords": np.arange(4.0) + 100,
            "ycoords": np.arange(4.0) + 100,
            "probeGuess": np.ones((128, 128), np.complex64),
        }
    )
    with pytest.raises(EngineError, match="N=64"):
        reconstruct(_bundle(1), small, PyTorchExecutionConfig.from_values({"accelerator": "cpu"}))


class _DtypeRecorder(_DeltaGenerator):
    """The delta generator that also records the dtype a convolution computes in."""

    def __init__(self, channels_out: int) -> None:
        super().__init__(channels_out)
        self.conv = nn.Conv2d(1, 1, 1)
        self.seen: list[torch.dtype] = []

    def __deepcopy__(self, memo):
        # reconstruct predicts with a copy (BatchNorms folded): it records into the same list
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(self.conv(x[:, :1]).dtype)
        return super().forward(x)


@pytest.mark.parametrize(
    "precision,dtype",
    [("32-true", torch.float32), ("bf16-mixed", torch.bfloat16), ("bf16-true", torch.bfloat16)],
)
def test_prediction_follows_the_execution_precision(precision, dtype):
    # a half-precision run predicts as it trained: convolutions in bfloat16 (autocast), while
    # the stitched object stays complex64
    bundle = _bundle(1)
    bundle.module.generator = recorder = _DtypeRecorder(1)
    grid = np.arange(3) * 70.0 + 100
    positions = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    execution = PyTorchExecutionConfig.from_values({"accelerator": "cpu", "precision": precision})
    result = reconstruct(bundle, _scan(positions), execution)
    assert set(recorder.seen) == {dtype}
    assert result.object.dtype == np.complex64


def test_inference_does_not_import_lightning():
    # importing Lightning costs a `ptycho infer` process about 2.5 s on 2 cores; inference,
    # the solver and the outputs use the plain Pinn module
    import subprocess
    import sys

    code = (
        "import sys, ptycho_engine.inference.predict, ptycho_engine.solver.workflow, ptycho_engine.outputs, "
        "ptycho_engine.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'lightning'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_default_inference_batch_is_smaller_on_a_cpu():
    training = TrainingConfig(model=ModelConfig(), batch_size=8)
    default = PyTorchExecutionConfig.from_values({"accelerator": "cpu"})
    assert inference_batch_size(default, training.batch_size, "cpu") == 2 * 8
    assert inference_batch_size(default, training.batch_size, "cuda") == 4 * 8
    chosen = PyTorchExecutionConfig.from_values({"accelerator": "cpu", "inference_batch_size": 5})
    assert (
        inference_batch_size(chosen, training.batch_size, "cpu")
        == inference_batch_size(chosen, training.batch_size, "cuda")
        == 5
    )


class _InputEcho(nn.Module):
    """Returns each channel's input amplitudes as the patch: the object shows the input scale."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.complex64)


@pytest.mark.parametrize("renormalise", [False, True])
def test_the_network_sees_the_test_data_as_it_saw_the_training_data(renormalise):
    # the bundle stores the training data's α; test data of twice the amplitude (4x the dose)
    # reach the network twice as large unless the user asks to renormalise
    bundle = _bundle(1)
    bundle.module.generator = _InputEcho()
    with torch.no_grad():
        bundle.module.log_scale.fill_(0.0)  # the network sees α·X exactly
    stored = 0.25
    bundle = LoadedBundle(bundle.module, bundle.model, bundle.training, {}, {},
                          {"input_scale": stored}, path=None)  # fmt: skip
    positions = np.array([[100.0, 100.0], [180.0, 100.0]])
    data = _scan(positions)
    data = validate_arrays({"diff3d": 2.0 * data.diffraction, "xcoords": positions[:, 0],
                            "ycoords": positions[:, 1], "probeGuess": data.probe})  # fmt: skip
    execution = PyTorchExecutionConfig.from_values({"accelerator": "cpu"})
    result = reconstruct(bundle, data, execution, renormalise=renormalise)
    own = (N / 2) / np.sqrt((data.diffraction.astype(np.float64) ** 2).sum(axis=(1, 2)).mean())
    expected = own if renormalise else stored
    assert result.input_scale == pytest.approx(expected)
    row, col = int(100 - result.origin[1]), int(100 - result.origin[0])
    assert abs(result.object[row, col]) == pytest.approx(2.0 * expected, rel=1e-5)


def test_a_test_file_with_another_probe_is_refused_unless_a_probe_is_chosen():
    from ptycho_engine.errors import EngineError
    from ptycho_engine.inference import choose_probe
    from ptycho_engine.physics.probe import prepare_probe

    bundle = _bundle(1)
    positions = np.array([[100.0, 100.0], [150.0, 100.0]])
    same = _scan(positions)
    model = bundle.model  # trained with the flat probe of the data, normalised as training does
    trained, _ = prepare_probe(same.probe, n=N, probe_scale=model.probe_scale,
                               probe_mask=model.probe_mask)  # fmt: skip
    bundle.module.probe.copy_(trained)
    assert choose_probe(bundle, same, "check") is None  # same probe: nothing to choose
    yy, xx = np.mgrid[:N, :N] - N / 2
    gaussian = np.exp(-(xx**2 + yy**2) / (2 * 8.0**2)).astype(np.complex64)
    other = validate_arrays({"diff3d": same.diffraction, "xcoords": positions[:, 0],
                             "ycoords": positions[:, 1], "probeGuess": gaussian})  # fmt: skip
    with pytest.raises(EngineError, match=r"probeGuess differs .* --probe bundle .* --probe data"):
        choose_probe(bundle, other, "check")
    assert choose_probe(bundle, other, "bundle") is None
    chosen = choose_probe(bundle, other, "data")
    # the data's probe, normalised as training normalises: same shape as the Gaussian
    ratio = np.abs(chosen.numpy()[0]) / np.abs(gaussian)
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-4)
    # a global phase alone is no difference
    turned = validate_arrays({"diff3d": same.diffraction, "xcoords": positions[:, 0],
                              "ycoords": positions[:, 1],
                              "probeGuess": np.exp(1j * 0.7) * same.probe})  # fmt: skip
    assert choose_probe(bundle, turned, "check") is None


def test_the_data_probe_sets_the_stitching_weights():
    bundle = _bundle(1)
    positions = np.array([[100.0, 100.0]])
    execution = PyTorchExecutionConfig.from_values({"accelerator": "cpu"})
    flat = reconstruct(bundle, _scan(positions), execution)
    yy, xx = np.mgrid[:N, :N] - N / 2
    gaussian = torch.from_numpy(np.exp(-(xx**2 + yy**2) / 50.0).astype(np.complex64))[None]
    lit = reconstruct(bundle, _scan(positions), execution, stitch_probe=gaussian)
    assert flat.weights.max() == pytest.approx(1.0) and flat.weights[flat.weights > 0].min() > 0.99
    row, col = int(100 - lit.origin[1]), int(100 - lit.origin[0])
    assert lit.weights[row, col] == pytest.approx(1.0, abs=1e-3)
    assert lit.weights[row, col + 20] < 0.01  # the Gaussian's tail weighs little
