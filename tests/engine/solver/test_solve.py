"""The iterative solver: conventions shared with training and stitching, and convergence."""

import dataclasses

import numpy as np
import pytest
import torch

from ptycho_engine.data.npz import load_diffraction
from ptycho_engine.metrics import evaluate_reconstruction
from ptycho_engine.physics.canvas import Stitcher, canvas_frame
from ptycho_engine.physics.probe import prepare_probe
from ptycho_engine.physics.scaling import (
    flat_log_scale,
    input_normalisation,
    nphotons_from_amplitude,
    photon_scale,
)
from ptycho_engine.solver.solve import (
    SolverProblem,
    batch_nll,
    dataset_nll,
    flat_canvas,
    place_initial,
    predicted_amplitude,
    solve,
)
from ptycho_engine.training.lightning_module import PinnModule
from ptycho_settings import ModelConfig, TrainingConfig
from tests.engine.probes import probe_settings
from tests.engine.simdata import simulated_files

N = 16


def _problem(positions, probe=None, diffraction=None, **kwargs) -> SolverProblem:
    m = len(positions)
    probe = torch.ones(1, N, N, dtype=torch.complex64) if probe is None else probe
    diffraction = torch.ones(m, N, N) if diffraction is None else diffraction
    return SolverProblem(
        diffraction,
        torch.as_tensor(positions, dtype=torch.float32),
        probe,
        photon_scale=kwargs.pop("photon_scale", 1.0),
        log_scale=kwargs.pop("log_scale", 0.0),
        **kwargs,
    )


def test_a_bright_pixel_at_a_position_is_the_patch_centre():
    # A flat probe sees the canvas patch centred on the position: a single bright pixel at
    # (x, y) gives a flat far field (|F(delta)| is constant) only when it lies in the patch,
    # and its patch pixel is [N/2, N/2] (ptycho_engine.conventions).
    canvas = torch.zeros(40, 40, dtype=torch.complex64)
    canvas[22, 13] = 1.0  # row y = 22, column x = 13
    problem = _problem([[13.0, 22.0], [13.0 + N, 22.0]])
    amplitude = predicted_amplitude(problem, canvas, problem.probe, torch.arange(2))
    assert torch.allclose(amplitude[0], torch.full((N, N), 1.0 / N), atol=1e-6)  # orthonormal FFT
    assert float(amplitude[1].max()) < 1e-5  # out of the second patch (amplitude floor 1e-6)
    from ptycho_engine.physics.shift import extract_patches

    patch = extract_patches(canvas, problem.positions[:1], N)[0]
    assert patch[N // 2, N // 2] == 1.0 and float(patch.abs().sum()) == 1.0


def test_the_solver_forward_is_the_training_physics():
    # Predicted amplitudes of the solver equal PinnModule.predict_amplitude on the same patches.
    rng = np.random.default_rng(0)
    obj = torch.from_numpy(
        (rng.uniform(0.5, 1, (48, 48)) * np.exp(1j * rng.uniform(-1, 1, (48, 48)))).astype(
            np.complex64
        )
    )
    probe = torch.from_numpy(
        (rng.normal(size=(1, N, N)) + 1j * rng.normal(size=(1, N, N))).astype(np.complex64)
    )
    positions = torch.tensor([[20.0, 21.5], [26.25, 24.0], [18.0, 30.0]])
    problem = _problem(positions, probe=probe, log_scale=0.3)
    ours = predicted_amplitude(problem, obj, probe, torch.arange(3))  # (3, N, N)
    model = ModelConfig(N=64)  # N only sizes the generator, which is not used here
    module = PinnModule(model, TrainingConfig(model=model), probe, photon_scale=1.0)
    module.log_scale.data.fill_(0.3)
    from ptycho_engine.physics.shift import extract_patches

    patches = extract_patches(obj, positions, N)[:, None]  # (3, 1, N, N)
    theirs = module.predict_amplitude(patches, torch.zeros(3, 1, 2))[:, 0]
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_a_stitched_object_reappears_at_the_same_positions_on_the_solver_canvas():
    # Stitcher frame → place_initial → extract at (position - origin): the same patches.
    positions = np.array([[30.0, 40.0], [55.0, 41.0], [42.0, 60.0]])
    origin, shape = canvas_frame(positions, N)
    patches = torch.from_numpy(np.random.default_rng(1).normal(size=(3, N, N)).astype(np.complex64))
    stitcher = Stitcher(shape, origin, torch.ones(N, N))
    stitcher.add(patches, torch.from_numpy(positions).float())
    stitched, _ = stitcher.result()
    wider_origin = (origin[0] - 7, origin[1] - 3)
    wider = place_initial(
        stitched.numpy(), origin, (shape[0] + 10, shape[1] + 12), wider_origin, fill=0
    )
    from ptycho_engine.physics.shift import extract_patches

    local = torch.from_numpy(positions - np.asarray(wider_origin)).float()
    again = extract_patches(wider, local, N)
    assert torch.allclose(again, patches, atol=1e-6)  # no overlap: each patch exactly back


def test_zero_iterations_only_evaluate_and_dataset_nll_is_the_mean_of_batches():
    rng = np.random.default_rng(2)
    positions = rng.uniform(10, 30, (20, 2))
    problem = _problem(
        positions,
        diffraction=torch.from_numpy(rng.uniform(0, 2, (20, N, N)).astype(np.float32)),
        photon_scale=3.0,
        input_scale=0.7,
    )
    canvas = flat_canvas((45, 45), 0.8)
    result = solve(problem, canvas, iterations=0, lr=0.01, batch_size=7)
    whole = float(batch_nll(problem, canvas, problem.probe, torch.arange(20)))
    assert result.nll_before == result.nll_after == pytest.approx(whole, rel=1e-6)
    assert dataset_nll(problem, canvas, problem.probe, batch_size=3) == pytest.approx(
        whole, rel=1e-6
    )
    assert torch.equal(result.object, canvas) and result.history == []


def test_flat_log_scale_reproduces_the_mean_energy():
    probe = torch.from_numpy(np.random.default_rng(3).normal(size=(2, N, N)).astype(np.complex64))
    delta = flat_log_scale(probe, N, amplitude=0.5)
    problem = _problem([[20.0, 20.0]], probe=probe, log_scale=delta)
    amplitude = predicted_amplitude(problem, flat_canvas((40, 40), 0.5), probe, torch.arange(1))
    assert float(amplitude.square().sum()) == pytest.approx((N / 2) ** 2, rel=1e-4)


def _simulated_problem(probe_perturbation: float = 0.0):
    train_file, _ = simulated_files()
    data = load_diffraction(train_file)
    model = ModelConfig(N=64)
    probe, _ = prepare_probe(data.probe, **probe_settings(model))
    if probe_perturbation:
        probe = probe * (1 + probe_perturbation * torch.linspace(-1, 1, 64)[None, None, :])
    origin, shape = canvas_frame(data.positions_xy, 64)
    problem = SolverProblem(
        torch.from_numpy(data.diffraction),
        torch.from_numpy(data.positions_xy - np.asarray(origin)).float(),
        probe.to(torch.complex64),
        photon_scale(nphotons_from_amplitude(data.diffraction), 64),
        flat_log_scale(probe, 64),
        input_scale=input_normalisation(data.diffraction),
    )
    return data, problem, origin, shape


def _ssim(data, obj, origin):
    scores = evaluate_reconstruction(
        obj, data.object, origin=origin, positions_xy=data.positions_xy, patch_size=data.N
    ).to_dict()
    return scores["amplitude"]["ssim"], scores["phase"]["ssim"]


def test_from_a_flat_start_the_solver_recovers_the_simulated_object():
    # 53 positions, 1e6 photons: 30 passes take about half a second on one core.
    data, problem, origin, shape = _simulated_problem()
    flat = flat_canvas(shape)
    flat_scores = _ssim(data, flat.numpy(), origin)
    result = solve(problem, flat, iterations=30, lr=0.02, batch_size=16, seed=0)
    amplitude, phase = _ssim(data, result.object.numpy(), origin)
    assert result.nll_after < result.nll_before
    assert result.history[-1] < result.history[0]
    assert amplitude >= 0.75 and phase >= 0.82, (amplitude, phase)  # measured 0.83 / 0.89
    assert amplitude > flat_scores[0] + 0.4 and phase > flat_scores[1] + 0.5


def test_probe_refinement_recovers_likelihood_lost_to_a_wrong_probe():
    data, problem, origin, shape = _simulated_problem(probe_perturbation=0.3)
    fixed = solve(problem, flat_canvas(shape), iterations=12, lr=0.01, batch_size=32)
    refined = solve(
        problem, flat_canvas(shape), iterations=12, lr=0.01, batch_size=32, refine_probe=True
    )
    assert refined.nll_after < fixed.nll_after
    assert not torch.equal(refined.probe, problem.probe) and torch.equal(fixed.probe, problem.probe)


def test_the_truth_is_nearly_a_fixed_point():
    data, problem, origin, shape = _simulated_problem()
    truth = place_initial(data.object, (0.0, 0.0), shape, origin)  # objectGuess: origin (0, 0)
    # the flat object of the truth's mean amplitude, at the δ that suits both
    level = float(np.abs(data.object).mean())
    problem = dataclasses.replace(problem, log_scale=flat_log_scale(problem.probe, 64, level))
    from_truth = solve(problem, truth, iterations=3, lr=0.002, batch_size=32)
    flat = dataset_nll(problem, flat_canvas(shape, level), problem.probe)
    assert from_truth.nll_before < flat  # the truth explains the data better than a flat object
    amplitude, phase = _ssim(data, from_truth.object.numpy(), origin)
    assert amplitude > 0.9 and phase > 0.9


def test_batch_nll_gradient_matches_finite_differences():
    # gradcheck of batch_nll itself (the solver's loss), in float64/complex128, with respect to
    # both things the solver steps: the canvas and the probe.
    rng = np.random.default_rng(4)
    positions = torch.tensor([[9.0, 10.5], [12.25, 11.0]], dtype=torch.float64)
    probe = torch.from_numpy(rng.normal(size=(1, N, N)) + 1j * rng.normal(size=(1, N, N)))
    data = torch.from_numpy(rng.uniform(0.1, 2, (2, N, N)))
    problem = SolverProblem(
        data, positions, probe, photon_scale=2.0, log_scale=0.1, input_scale=0.5
    )
    canvas = torch.from_numpy(rng.uniform(0.5, 1, (24, 24)) + 0.1j).requires_grad_()
    probe = probe.clone().requires_grad_()
    which = torch.arange(2)

    def loss(c, p):
        return batch_nll(problem, c, p, which)

    value = loss(canvas, probe)
    assert value.dtype == torch.float64  # no float32 step in the graph: gradcheck is exact
    assert torch.autograd.gradcheck(loss, (canvas, probe), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_refinement_uses_the_probe_it_is_given():
    # --probe data: the refinement's physics uses the data's probe instead of the bundle's
    import types

    from ptycho_engine.physics.canvas import canvas_frame
    from ptycho_engine.reconstruction import Reconstruction
    from ptycho_engine.solver import refine_reconstruction
    from ptycho_settings import InferenceConfig

    data = load_diffraction(simulated_files()[0])
    model = ModelConfig(N=64)
    right, _ = prepare_probe(data.probe, **probe_settings(model))
    # the bundle's probe with a defocus (a shift alone would not do: |F(P·O)| of a flat object
    # does not see where the probe sits)
    yy, xx = torch.meshgrid(torch.arange(64.0) - 32, torch.arange(64.0) - 32, indexing="ij")
    wrong = right * torch.exp(1j * 0.01 * (xx**2 + yy**2))
    module = PinnModule(model, TrainingConfig(model=model), wrong, photon_scale=1.0)
    bundle = types.SimpleNamespace(module=module, model=model, scaling={})
    origin, shape = canvas_frame(data.positions_xy, 64)
    flat = Reconstruction(np.ones(shape, np.complex64), origin, data.xcoords, data.ycoords,
                          np.ones(shape, np.float32), input_scale=1.0)  # fmt: skip
    solver = InferenceConfig(model_path="m", test_data_file="d", refine_tolerance=0.0)
    _, with_wrong = refine_reconstruction(bundle, data, flat, solver, iterations=3)
    _, with_right = refine_reconstruction(bundle, data, flat, solver, iterations=3, probe=right)
    assert with_right.nll_after < with_wrong.nll_after  # the data's probe explains the data
