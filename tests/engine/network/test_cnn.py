"""The CNN generator: shapes for every N, the object_big/probe_big/pad_object semantics, heads."""

import math

import pytest
import torch

from ptycho_engine.network import GENERATORS, build_generator
from ptycho_engine.network.cnn import CnnGenerator
from ptycho_settings import ModelConfig


@pytest.mark.parametrize("n", [64, 128, 256])
@pytest.mark.parametrize("gridsize", [1, 2])
def test_output_shape_and_dtype(n, gridsize):
    generator = CnnGenerator(n=n, channels=gridsize**2, n_filters_scale=1)
    out = generator(torch.rand(2, gridsize**2, n, n))
    assert out.shape == (2, gridsize**2, n, n) and out.dtype == torch.complex64


def test_object_big_false_gives_one_patch_per_group():
    out = CnnGenerator(n=64, channels=4, object_big=False, n_filters_scale=1)(torch.rand(3, 4, 64, 64))
    assert out.shape == (3, 1, 64, 64)


def test_pad_object_without_probe_big_leaves_the_border_empty():
    generator = CnnGenerator(n=64, channels=1, pad_object=True, probe_big=False, n_filters_scale=1)
    out = generator(torch.rand(2, 1, 64, 64))
    border = torch.ones(64, 64, dtype=torch.bool)
    border[16:48, 16:48] = False
    assert torch.all(out[..., border] == 0) and torch.all(out[..., 16:48, 16:48].abs() > 0)


def test_probe_big_fills_the_border():
    out = CnnGenerator(n=64, channels=1, probe_big=True, n_filters_scale=1)(torch.rand(2, 1, 64, 64))
    assert out[..., :16, :].abs().sum() > 0


def test_without_pad_object_the_whole_patch_is_predicted():
    out = CnnGenerator(n=64, channels=1, pad_object=False, probe_big=False, n_filters_scale=1)(
        torch.rand(2, 1, 64, 64))
    assert torch.all(out.abs() > 0)


@pytest.mark.parametrize("activation,function", [
    ("sigmoid", torch.sigmoid), ("relu", torch.relu),
    ("softplus", torch.nn.functional.softplus), ("swish", torch.nn.functional.silu)])
def test_every_amplitude_activation_is_honoured(activation, function):
    torch.manual_seed(0)
    generator = CnnGenerator(n=64, channels=1, amp_activation=activation, probe_big=False, n_filters_scale=1)
    decoder = generator.amplitude
    features = generator.encoder(torch.rand(2, 1, 64, 64))
    x = features
    for stage in decoder.stages:
        x = stage(torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
    expected = function(decoder.centre_head(x))  # (B, 1, N/2, N/2)
    assert torch.allclose(decoder(features)[..., 16:48, 16:48], expected)


def test_phase_head_is_bounded_by_pi():
    generator = CnnGenerator(n=64, channels=1, n_filters_scale=1)
    torch.nn.init.normal_(generator.phase.centre_head.weight, std=10.0)
    phase = torch.angle(generator(torch.rand(2, 1, 64, 64)))
    assert phase.abs().max() <= math.pi


def test_registry_builds_from_settings():
    assert set(GENERATORS) == {"cnn"}
    generator = build_generator(ModelConfig(N=128, gridsize=2, n_filters_scale=1))
    assert generator(torch.rand(1, 4, 128, 128)).shape == (1, 4, 128, 128)


def test_filter_scale_sets_the_width():
    small = sum(p.numel() for p in CnnGenerator(n=64, channels=1, n_filters_scale=1).parameters())
    large = sum(p.numel() for p in CnnGenerator(n=64, channels=1, n_filters_scale=2).parameters())
    assert 3.5 < large / small < 4.5  # conv weights scale with the square of the width
