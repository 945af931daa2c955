"""Folding BatchNorm into the convolutions for prediction: same outputs, original untouched."""

import torch
from torch import nn

from ptycho_engine.network.cnn import CnnGenerator
from ptycho_engine.network.fold import fold_batch_norms
from ptycho_settings import ModelConfig
from tests.engine.network import disk_probe


def _trained_like(generator: nn.Module) -> nn.Module:
    # running statistics away from (0, 1) and weights away from their initial values, so that
    # a wrong fold (scale, shift, or a skipped layer) changes the output
    torch.manual_seed(0)
    generator.train()
    with torch.no_grad():
        for _ in range(3):
            generator(torch.rand(8, 1, 64, 64) * 3 + 0.5)
        for parameter in generator.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return generator.eval()


def test_the_folded_generator_predicts_the_same_patches():
    generator = _trained_like(CnnGenerator.from_config(ModelConfig(N=64), probe=disk_probe()))
    folded = fold_batch_norms(generator)
    x = torch.rand(5, 1, 64, 64) + 0.1
    with torch.no_grad():
        expected, got = generator(x), folded(x)
    assert (expected - generator.estimate(x)).abs().max() > 0.05  # the network contributes
    # float32 rounding through eight layers in another order (folded weights): about 1e-5
    # relative; a wrong fold is off by the network's contribution (above)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_the_fold_is_exact_in_double_precision():
    torch.manual_seed(2)
    stack = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
    ).double()
    stack.train()(torch.rand(6, 3, 16, 16, dtype=torch.float64) * 4 - 1)  # running statistics
    for norm in (stack[1], stack[4]):
        with torch.no_grad():
            norm.weight.uniform_(0.5, 2.0), norm.bias.uniform_(-1.0, 1.0)
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    folded = fold_batch_norms(stack)
    torch.testing.assert_close(folded(x), stack.eval()(x), rtol=1e-12, atol=1e-12)


def test_no_batch_norm_is_left_and_the_original_keeps_its_own():
    generator = _trained_like(CnnGenerator.from_config(ModelConfig(N=64), probe=disk_probe()))
    norms = sum(isinstance(layer, nn.BatchNorm2d) for layer in generator.modules())
    before = {name: value.clone() for name, value in generator.state_dict().items()}
    folded = fold_batch_norms(generator)
    assert norms > 0
    assert not any(isinstance(layer, nn.BatchNorm2d) for layer in folded.modules())
    assert sum(isinstance(layer, nn.BatchNorm2d) for layer in generator.modules()) == norms
    for name, value in generator.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert not folded.training


def test_folded_convolutions_keep_the_channels_last_layout():
    folded = fold_batch_norms(
        _trained_like(CnnGenerator.from_config(ModelConfig(N=64), probe=disk_probe()))
    )
    weights = [layer.weight for layer in folded.modules() if isinstance(layer, nn.Conv2d)]
    assert all(weight.is_contiguous(memory_format=torch.channels_last) for weight in weights)


def test_a_batch_norm_after_anything_but_a_convolution_stays():
    torch.manual_seed(1)
    sequence = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(3))
    sequence.train()(torch.rand(4, 2, 8, 8))  # running statistics
    folded = fold_batch_norms(sequence)
    assert isinstance(folded[2], nn.BatchNorm2d)
    x = torch.rand(2, 2, 8, 8)
    torch.testing.assert_close(folded(x), sequence.eval()(x))


def test_the_folded_scale_and_shift_are_exact_for_a_single_pixel():
    # conv 1×1 of weight w and bias b, then BatchNorm (μ, σ², γ, β): one affine map per channel
    conv = nn.Conv2d(1, 1, 1)
    norm = nn.BatchNorm2d(1, eps=0.0)
    with torch.no_grad():
        conv.weight.fill_(2.0), conv.bias.fill_(1.0)
        norm.running_mean.fill_(3.0), norm.running_var.fill_(4.0)
        norm.weight.fill_(5.0), norm.bias.fill_(-1.0)
    folded = fold_batch_norms(nn.Sequential(conv, norm))
    assert isinstance(folded[1], nn.Identity)
    # x = 7: conv gives 15, normalised (15 − 3)/2 = 6, scaled 5·6 − 1 = 29
    assert folded(torch.full((1, 1, 1, 1), 7.0)).item() == 29.0


def test_sync_batch_norms_of_multi_gpu_training_fold_too():
    generator = _trained_like(CnnGenerator.from_config(ModelConfig(N=64), probe=disk_probe()))
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(generator).eval()
    assert any(isinstance(layer, nn.SyncBatchNorm) for layer in synced.modules())
    folded = fold_batch_norms(synced)
    assert not any(isinstance(layer, nn.modules.batchnorm._BatchNorm) for layer in folded.modules())
    x = torch.rand(2, 1, 64, 64) + 0.1
    with torch.no_grad():
        torch.testing.assert_close(folded(x), generator(x), rtol=1e-4, atol=1e-4)
