"""Training batches: named tensors, and each pattern's estimate computed once and reused exactly."""

import torch
from torch.utils.data import DataLoader

from ptycho_engine.network.estimate_table import estimate_table
from ptycho_engine.training.batches import GroupBatches
from tests.engine.training.test_lightning_module import _setup


def test_the_table_holds_each_distinct_pattern_once():
    module, scan = _setup(gridsize=2)
    estimates = estimate_table(module.generator, scan)
    table, rows = estimates.values, estimates.rows
    distinct = len(set(scan.indices.reshape(-1).tolist()))
    assert table.shape == (distinct, 64, 64) and table.dtype == torch.complex64
    assert rows.shape == scan.indices.shape
    # the row of each group channel is its pattern's own estimate
    with torch.no_grad():
        direct = module.generator.estimate(scan.diffraction[:3])  # (3, 4, N, N)
    torch.testing.assert_close(table[rows[:3]], direct, rtol=1e-5, atol=1e-6)
    same = scan.indices.reshape(-1) == scan.indices.reshape(-1)[0]
    assert (
        len(set(rows.reshape(-1)[torch.from_numpy(same)].tolist())) == 1
    )  # shared patterns share a row


def test_over_budget_or_without_an_estimate_nothing_is_cached():
    module, scan = _setup(gridsize=2)
    assert estimate_table(module.generator, scan, budget_bytes=64 * 64 * 8) is None
    assert estimate_table(None, scan) is None


def test_batches_are_named_and_carry_the_cached_estimate():
    module, scan = _setup(gridsize=2)
    batches = GroupBatches(scan, estimate_table(module.generator, scan))
    batch = next(iter(DataLoader(batches, batch_size=5)))
    assert set(batch) == {"diffraction", "offsets", "estimate"}
    assert batch["diffraction"].shape == (5, 4, 64, 64) and batch["estimate"].shape == (
        5,
        4,
        64,
        64,
    )
    torch.testing.assert_close(batch["offsets"], scan.offsets[:5])
    assert set(next(iter(DataLoader(GroupBatches(scan), batch_size=2)))) == {
        "diffraction",
        "offsets",
    }


def test_a_cached_estimate_gives_the_loss_and_gradients_of_computing_it():
    # the cache holds E(X) at the stored amplitude scale; the module scales it by e^{-δ} as it
    # scales the amplitudes, so the loss and every gradient (the log-scale's included) agree
    module, scan = _setup(gridsize=2, intensity_scale_trainable=True)
    with torch.no_grad():
        module.log_scale.add_(0.3)  # away from the value the estimate was computed at
        for head in module.generator._heads():
            # an untrained (zero) correction makes the loss independent of the scale: e^{-δ}
            # into the estimate, e^{δ} out of the physics
            torch.nn.init.normal_(head.weight, std=0.05)
    estimates = estimate_table(module.generator, scan)
    plain = {"diffraction": scan.diffraction[:4], "offsets": scan.offsets[:4]}
    cached = {**plain, "estimate": estimates.for_groups(slice(0, 4))}
    results = []
    for batch in (plain, cached):
        module.zero_grad()
        loss = module.compute_losses(batch)["loss"]
        loss.backward()
        # the heads' gradients: those of the batch-normalised layers below them are sums with
        # heavy cancellation, which thread scheduling alone moves by ~1 %
        heads = torch.cat([head.weight.grad.reshape(-1) for head in module.generator._heads()])
        results.append((loss.detach(), module.log_scale.grad.clone(), heads))
    (loss_a, scale_a, weight_a), (loss_b, scale_b, weight_b) = results
    torch.testing.assert_close(loss_b, loss_a, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(scale_b, scale_a, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(
        weight_b, weight_a, rtol=1e-3, atol=1e-4 * float(weight_a.abs().max())
    )
    assert scale_a.abs() > 1e-3  # the comparison is not between two zeros


def test_inference_through_the_table_reconstructs_what_per_batch_estimates_give(monkeypatch):
    # at gridsize 2 the covering groups hold some patterns twice; inference estimates each once
    import ptycho_engine.inference.predict as infer
    from ptycho_engine.data.npz import load_diffraction
    from ptycho_settings import PyTorchExecutionConfig
    from tests.engine.simdata import simulated_files

    module, _ = _setup(gridsize=2)
    with torch.no_grad():
        for head in module.generator._heads():
            torch.nn.init.normal_(head.weight, std=0.05)  # a network that does not return its input
    bundle = infer.LoadedBundle(
        module.eval(), module.model_config, module.training_config, {}, {}, {}, path=None
    )
    data = load_diffraction(simulated_files()[0])
    execution = PyTorchExecutionConfig.from_values(
        {"accelerator": "cpu", "inference_batch_size": 8}
    )
    cached = infer.reconstruct(bundle, data, execution)
    monkeypatch.setattr(infer, "estimate_table", lambda *args, **kwargs: None)
    direct = infer.reconstruct(bundle, data, execution)
    assert cached.n_groups == direct.n_groups
    torch.testing.assert_close(
        torch.from_numpy(cached.object), torch.from_numpy(direct.object), rtol=1e-4, atol=1e-5
    )
