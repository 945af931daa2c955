"""The coordinate, offset, tensor-layout, Fourier and scaling conventions of the engine.

Every other module cites this docstring ("see ``ptycho_engine.conventions``") instead of
restating it; two tests pin it (a single bright pixel through extract/place, and a known-shift
round trip in ``tests/engine/physics/test_shift.py``).

Coordinates
    ``y`` is the row and ``x`` the column, both in object pixels. The origin is the centre of
    the top-left pixel of the object array, so ``object[row, col]`` sits at ``(x=col, y=row)``.
    Positions are stored and passed as ``[..., 2]`` arrays ordered ``[x, y]``.

Scan positions
    A scan position is the *centre* of its N×N patch. For an integer position ``(x, y)``::

        patch[i, j] = object[y - N//2 + i, x - N//2 + j]

    so patch pixel ``[N//2, N//2]`` sits on the position (:func:`centre_index`). Non-integer
    positions sample the object by bilinear interpolation (``ptycho_engine.physics.shift``);
    pixels outside the object read zero.

Groups and offsets
    A group is ``C = gridsize**2`` scan positions. Its centre is the mean of its positions and
    ``offset = position - group centre`` (no sign flip). On a group canvas of size M×M the
    centre sits at pixel ``[M//2, M//2]``, so a channel's patch centre is at
    ``M//2 + offset`` (:func:`group_offsets`).

Tensor layout
    Patches and diffraction are ``(B, C, N, N)``: B groups, C channels, N×N pixels. Probe
    modes are ``(P, N, N)``.

Far field
    ``far_field(psi) = fftshift(fft2(psi, norm="ortho"))`` over the last two axes: zero
    frequency at pixel ``[N//2, N//2]`` and energy preserved (Parseval,
    ``sum |far_field(psi)|**2 == sum |psi|**2``). Probe modes add incoherently: the intensity
    is ``sum_p |far_field(probe_p * object)|**2``.

Measured data
    Stored diffraction is the *amplitude* ``sqrt(counts)``, centred like ``far_field``.
    Scaling (``ptycho_engine.physics.scaling``): the network input is multiplied by ``alpha``
    so the mean pattern energy ``sum_uv X**2`` is ``(N/2)**2``; the photon scale
    ``S = sqrt(nphotons) / (N/2)`` turns normalised amplitudes back into sqrt(counts), and the
    Poisson likelihood compares the rate ``(S * A_pred)**2`` with the counts ``(S * X)**2``.
"""

from __future__ import annotations

__all__ = ["centre_index", "channels", "group_offsets", "patch_origin", "photon_target_energy"]


def centre_index(n: int) -> int:
    """Return the index of the centre pixel of an axis of length ``n`` (``n // 2``).

    It is where a patch's scan position sits, where the zero frequency of ``far_field`` sits
    and where a group centre sits on a group canvas.
    """
    return n // 2


def patch_origin(position: float, n: int) -> float:
    """Return the coordinate of patch pixel 0 (one axis) of a patch centred at ``position``."""
    return position - centre_index(n)


def channels(gridsize: int) -> int:
    """Return the number of channels ``C`` of a group: ``gridsize**2``."""
    return gridsize * gridsize


def photon_target_energy(n: int) -> float:
    """Return ``(N/2)**2``, the mean pattern energy ``sum_uv X**2`` after input normalisation."""
    return (n / 2) ** 2


def group_offsets(positions_xy):
    """Split group positions into group centres and offsets (``offset = position - centre``).

    Parameters
    ----------
    positions_xy : Tensor or ndarray of shape (B, C, 2)
        ``[x, y]`` scan positions of each channel of each group, in object pixels.

    Returns
    -------
    centres : same type, shape (B, 2)
        Mean position of each group.
    offsets : same type, shape (B, C, 2)
        ``positions_xy - centres[:, None]``.
    """
    if positions_xy.ndim != 3 or positions_xy.shape[-1] != 2:
        raise ValueError(f"positions_xy must have shape (B, C, 2), got {tuple(positions_xy.shape)}")
    centres = positions_xy.mean(axis=1)  # (B, 2); numpy and torch both accept `axis`
    return centres, positions_xy - centres[:, None]
