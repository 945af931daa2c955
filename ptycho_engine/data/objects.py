"""Complex objects made from the sample images that scikit-image ships (no download).

Amplitude and phase come from two different images, so a reconstruction that mixes them up
(amplitude leaking into phase or back) is visible. Images are read with ``skimage.data``, made
greyscale, cropped to their central square and resized to the object size; the ranges are those
of the synthetic objects (``ptycho_engine.data.synthetic.complex_object``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEFAULT_AMPLITUDE_IMAGE",
    "DEFAULT_PHASE_IMAGE",
    "IMAGE_NAMES",
    "image_object",
    "sample_image",
]

IMAGE_NAMES = (
    "camera",
    "astronaut",
    "moon",
    "coins",
    "brick",
    "grass",
    "gravel",
    "text",
    "page",
    "clock",
    "cell",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "shepp_logan_phantom",
)
"""``skimage.data`` images that load offline (files installed with scikit-image 0.21+).

Others (``eagle``, ``lily``, ``kidney``, ``skin`` …) need the optional ``pooch`` download and
are not offered.
"""

DEFAULT_AMPLITUDE_IMAGE = "camera"
DEFAULT_PHASE_IMAGE = "astronaut"


def sample_image(name: str, size: int) -> np.ndarray:
    """Return the greyscale ``skimage.data`` image ``name`` as (size, size) float64 in [0, 1].

    The image is cropped to its central square, resized (anti-aliased) and rescaled linearly
    so its minimum is 0 and its maximum 1.

    Parameters
    ----------
    name : str
        One of :data:`IMAGE_NAMES`.
    size : int
        Side of the returned array, in pixels.
    """
    if name not in IMAGE_NAMES:
        raise ValueError(f"unknown image {name!r}; use one of {', '.join(IMAGE_NAMES)}")
    # scikit-image is imported here, only by the callers that need an image (import cost)
    from skimage import data as skdata
    from skimage.color import rgb2gray
    from skimage.transform import resize

    image = np.asarray(getattr(skdata, name)())
    if image.ndim == 3:
        image = rgb2gray(image[..., :3])
    image = image.astype(np.float64)
    height, width = image.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    image = image[top : top + side, left : left + side]
    if side != size:
        image = resize(image, (size, size), order=1, anti_aliasing=side > size)
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def image_object(
    size: int,
    *,
    amplitude_image: str = DEFAULT_AMPLITUDE_IMAGE,
    phase_image: str = DEFAULT_PHASE_IMAGE,
) -> np.ndarray:
    """Return a (size, size) complex128 object from two sample images.

    The amplitude is ``0.5 + 0.5 * A`` (in [0.5, 1]) and the phase ``2 * B - 1`` rad (in
    [-1, 1]), with ``A`` and ``B`` the images ``amplitude_image`` and ``phase_image`` from
    :func:`sample_image`.

    Parameters
    ----------
    size : int
        Side of the object, in pixels.
    amplitude_image, phase_image : str
        Names from :data:`IMAGE_NAMES`; defaults ``camera`` and ``astronaut``.
    """
    amplitude = 0.5 + 0.5 * sample_image(amplitude_image, size)
    phase = 2.0 * sample_image(phase_image, size) - 1.0
    return amplitude * np.exp(1j * phase)
