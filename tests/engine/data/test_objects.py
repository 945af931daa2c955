"""Objects made from the scikit-image sample images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ptycho_engine.data.objects import IMAGE_NAMES, image_object, sample_image
from ptycho_engine.data.simulate import simulate
from ptycho_engine.data.synthetic import complex_object
from ptycho_engine.errors import EngineError


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_every_offered_image_loads_offline_as_a_unit_range_square():
    """Each name loads from the installed package files, greyscale, in [0, 1]."""
    for name in IMAGE_NAMES:
        image = sample_image(name, 24)
        assert image.shape == (24, 24) and image.dtype == np.float64, name
        assert image.min() == pytest.approx(0.0) and image.max() == pytest.approx(1.0), name
    with pytest.raises(ValueError, match="unknown image"):
        sample_image("eagle", 24)  # in skimage.data, but only through a download


def test_amplitude_and_phase_come_from_two_different_images():
    """The amplitude follows one image, the phase the other, in the documented ranges."""
    obj = image_object(64, amplitude_image="camera", phase_image="moon")
    assert obj.shape == (64, 64) and obj.dtype == np.complex128
    amplitude, phase = np.abs(obj), np.angle(obj)
    assert amplitude.min() == pytest.approx(0.5) and amplitude.max() == pytest.approx(1.0)
    assert phase.min() == pytest.approx(-1.0) and phase.max() == pytest.approx(1.0)
    camera, moon = sample_image("camera", 64), sample_image("moon", 64)
    assert _corr(amplitude, camera) > 0.999 and _corr(phase, moon) > 0.999
    assert abs(_corr(amplitude, phase)) < 0.5  # two different images, not one twice
    swapped = image_object(64, amplitude_image="moon", phase_image="camera")
    assert _corr(np.abs(swapped), moon) > 0.999


def test_image_objects_through_the_simulator_and_complex_object(rng):
    """``object_source="image"`` uses the named images, at the size the scan needs."""
    data = simulate(
        n=32,
        n_positions=16,
        nphotons=1e4,
        object_source="image",
        image_amplitude="coins",
        image_phase="astronaut",
    )
    obj = data["objectGuess"]
    size = obj.shape[0]
    assert _corr(np.abs(obj), sample_image("coins", size)) > 0.999
    assert _corr(np.angle(obj), sample_image("astronaut", size)) > 0.999
    assert json.loads(str(data["_metadata"]))["images"] == {
        "image_amplitude": "coins",
        "image_phase": "astronaut",
    }
    default = complex_object("image", 40, rng)  # camera and astronaut
    np.testing.assert_allclose(default, image_object(40))


def test_image_options_need_the_image_object_and_a_known_name():
    """Image names with another object kind, or an unknown name, are errors."""
    with pytest.raises(EngineError, match="image_phase"):
        simulate(n=16, n_positions=4, object_source="lines", image_phase="moon")
    with pytest.raises(EngineError, match="unknown image"):
        simulate(n=16, n_positions=4, object_source="image", image_amplitude="nope")
