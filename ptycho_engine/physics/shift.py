"""Extract N×N patches at scan positions and place them back: the one translation operator.

Positions, offsets and the group canvas follow ``ptycho_engine.conventions``. Sub-pixel
positions use bilinear interpolation: it is local (each patch reads an (N+1)×(N+1) window, so
cost does not grow with the canvas), linear and differentiable in the object, exact for integer
positions, and its adjoint is a plain scatter-add with the same weights. A Fourier shift would
be exact for band-limited objects but wraps around the patch and costs an FFT per patch.
Samples outside the canvas read zero, and placed values that fall outside are dropped.
Merging a group and re-extracting it returns patches that agree with one object exactly when
the offsets are whole pixels; at fractional offsets each interpolation low-pass filters a little
(at a half-pixel offset, placing then extracting applies the kernel [1/4, 1/2, 1/4] per axis).

Implementation: a pure translation has one fractional part ``(fx, fy)`` per patch, so the
interpolation is two ``lerp`` passes over a gathered window; :func:`place_patches` applies the
transposed passes and scatter-adds, and is the exact adjoint of :func:`extract_patches`. Each
is therefore the other's backward (two small autograd Functions), which is much cheaper than
autograd through the chain of slices; when the positions require grad, plain autograd runs
instead so that position gradients exist. The canvas is bordered by one zero pixel, and window
indices off the canvas are clamped onto that border, so off-canvas taps read zero (and writes
there are dropped) without masks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ptycho_engine.conventions import centre_index, patch_origin

__all__ = ["extract_group", "extract_patches", "group_canvas_size", "merge_group", "place_patches"]


def _windows(positions_xy: Tensor, n: int, height: int, width: int):
    """Locate the (N+1)×(N+1) window of each patch on the zero-bordered canvas.

    Returns the flat indices (B, K, N+1, N+1) into the bordered (H+2, W+2) canvas and the
    fractional parts ``fy``, ``fx`` (B, K, 1, 1) of the patch origin.
    """
    start = patch_origin(positions_xy, n)  # (B, K, 2) [x, y] of patch pixel [0, 0]
    corner = torch.floor(start)
    frac = (start - corner)[..., None, None]  # (B, K, 2, 1, 1) in [0, 1)
    taps = torch.arange(n + 1, device=positions_xy.device) + 1  # +1: the zero border
    corner = corner.long()
    cols = (corner[..., 0, None] + taps).clamp(0, width + 1)  # (B, K, N+1); off-canvas -> border
    rows = (corner[..., 1, None] + taps).clamp(0, height + 1)  # (B, K, N+1)
    flat = rows[..., :, None] * (width + 2) + cols[..., None, :]  # (B, K, N+1, N+1)
    return flat, frac[..., 1, :, :], frac[..., 0, :, :]


def _batched(positions_xy: Tensor, canvas_batch: int | None):
    """View positions as (B, K, 2); ``canvas_batch=None`` means one shared canvas (B = 1)."""
    lead = positions_xy.shape[:-1]
    if positions_xy.shape[-1] != 2:
        shape = tuple(positions_xy.shape)
        raise ValueError(f"positions must end in a [x, y] axis of 2, got {shape}")
    if canvas_batch is None:
        return positions_xy.reshape(1, -1, 2), lead
    if len(lead) == 0 or lead[0] != canvas_batch:
        shape = tuple(positions_xy.shape)
        raise ValueError(f"positions {shape} must lead with the canvas batch {canvas_batch}")
    return positions_xy.reshape(canvas_batch, -1, 2), lead


def _gather_lerp(canvas: Tensor, flat: Tensor, fy: Tensor, fx: Tensor) -> Tensor:
    """Bilinear extraction: (B, H, W) canvas -> (B, K, N, N) patches."""
    b, k, n = flat.shape[0], flat.shape[1], flat.shape[-1] - 1
    bordered = F.pad(canvas, (1, 1, 1, 1)).reshape(b, -1)  # (B, (H+2)*(W+2))
    window = torch.gather(bordered, 1, flat.reshape(b, -1)).view(b, k, n + 1, n + 1)
    rows = torch.lerp(window[..., :n, :], window[..., 1:, :], fy.to(canvas.dtype))  # (B, K, N, N+1)
    return torch.lerp(rows[..., :n], rows[..., 1:], fx.to(canvas.dtype))  # (B, K, N, N)


def _spread(values: Tensor, fy: Tensor, fx: Tensor) -> Tensor:
    """Transpose of the two lerp passes: (B, K, N, N) values -> (B, K, N+1, N+1) window.

    Window column ``j`` receives ``(1 - fx) * v[j] + fx * v[j - 1]`` (zero past either end),
    which is one lerp over the zero-padded values; rows likewise.
    """
    padded = F.pad(values, (1, 1))  # (B, K, N, N+2)
    cols = torch.lerp(padded[..., 1:], padded[..., :-1], fx.to(values.dtype))  # (B, K, N, N+1)
    padded = F.pad(cols, (0, 0, 1, 1))  # (B, K, N+2, N+1)
    return torch.lerp(padded[..., 1:, :], padded[..., :-1, :], fy.to(values.dtype))


def _scatter(window: Tensor, flat: Tensor, height: int, width: int) -> Tensor:
    """Scatter-add (B, K, N+1, N+1) windows onto (B, H, W) canvases, dropping the border."""
    b = flat.shape[0]
    bordered = window.new_zeros(b, (height + 2) * (width + 2))
    bordered.scatter_add_(1, flat.reshape(b, -1), window.reshape(b, -1))
    return bordered.view(b, height + 2, width + 2)[:, 1:-1, 1:-1]


def _spread_scatter(values: Tensor, flat: Tensor, fy: Tensor, fx: Tensor, height: int, width: int):
    """Bilinear placement: (B, K, N, N) values -> (B, H, W) canvas."""
    return _scatter(_spread(values, fy, fx), flat, height, width)


class _Extract(torch.autograd.Function):
    """Extraction whose backward is placement (its exact adjoint): one pass, not an op chain."""

    @staticmethod
    def forward(ctx, canvas, flat, fy, fx):
        ctx.save_for_backward(flat, fy, fx)
        ctx.canvas_size = canvas.shape[-2:]
        return _gather_lerp(canvas, flat, fy, fx)

    @staticmethod
    def backward(ctx, grad):
        flat, fy, fx = ctx.saved_tensors
        return _spread_scatter(grad, flat, fy, fx, *ctx.canvas_size), None, None, None


class _Place(torch.autograd.Function):
    """Placement whose backward is extraction (its exact adjoint)."""

    @staticmethod
    def forward(ctx, values, flat, fy, fx, height, width):
        ctx.save_for_backward(flat, fy, fx)
        return _spread_scatter(values, flat, fy, fx, height, width)

    @staticmethod
    def backward(ctx, grad):
        flat, fy, fx = ctx.saved_tensors
        return _gather_lerp(grad, flat, fy, fx), None, None, None, None, None


def extract_patches(obj: Tensor, positions_xy: Tensor, n: int) -> Tensor:
    """Cut N×N patches centred at (sub-pixel) scan positions, by bilinear interpolation.

    Parameters
    ----------
    obj : Tensor of shape (H, W) or (B, H, W)
        Complex (or real) canvas. A batched canvas pairs canvas ``b`` with ``positions_xy[b]``.
    positions_xy : Tensor of shape (..., 2)
        ``[x, y]`` patch centres in canvas pixels; with a batched canvas, shape (B, ..., 2).
    n : int
        Patch size N.

    Returns
    -------
    Tensor of shape (..., N, N)
        ``patch[i, j] = obj[y - N//2 + i, x - N//2 + j]`` (see ``ptycho_engine.conventions``),
        interpolated between pixels and zero outside the canvas. Differentiable in ``obj``
        (the backward is :func:`place_patches`), and in ``positions_xy`` when it requires grad.
    """
    batched = obj.ndim == 3
    canvas = obj if batched else obj[None]  # (B, H, W)
    b, height, width = canvas.shape
    pos, lead = _batched(positions_xy.to(canvas.device), b if batched else None)
    flat, fy, fx = _windows(pos, n, height, width)
    if positions_xy.requires_grad:  # plain autograd through the ops, for position gradients
        patches = _gather_lerp(canvas, flat, fy, fx)
    else:
        patches = _Extract.apply(canvas, flat, fy, fx)
    return patches.reshape(*lead, n, n)  # from (B, K, N, N)


def _ones_taps(frac: Tensor, n: int, dtype: torch.dtype) -> Tensor:
    """One axis of :func:`_spread` applied to ones: (B, K, N+1) taps ``[1 - f, 1, ..., 1, f]``."""
    ones = torch.ones(*frac.shape[:-2], n + 2, dtype=dtype, device=frac.device)
    ones[..., 0] = ones[..., -1] = 0  # the zero padding
    return torch.lerp(ones[..., 1:], ones[..., :-1], frac[..., 0].to(dtype))


def place_patches(
    patches: Tensor,
    positions_xy: Tensor,
    canvas_shape: tuple[int, ...],
    *,
    weight: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Scatter-add patches onto a canvas at (sub-pixel) positions: the adjoint of extraction.

    Parameters
    ----------
    patches : Tensor of shape (..., N, N)
        Values to place; with a batched canvas, shape (B, ..., N, N).
    positions_xy : Tensor of shape (..., 2)
        ``[x, y]`` patch centres in canvas pixels, matching the leading axes of ``patches``.
    canvas_shape : (H, W) or (B, H, W)
        A 2-tuple sums every patch onto one canvas; a 3-tuple keeps B canvases.
    weight : Tensor of shape (N, N), optional
        Real per-pixel weight (e.g. a central mask or ``|probe|**2``); patches are multiplied
        by it before placing. Default: ones.

    Returns
    -------
    canvas : Tensor of shape canvas_shape
        ``sum_k T_k(weight * patch_k)`` with ``T_k`` the bilinear placement at position k;
        differentiable in ``patches`` (the backward is :func:`extract_patches`).
    weight_canvas : real Tensor of shape canvas_shape
        ``sum_k T_k(weight)``, the overlap count, so ``canvas / weight_canvas`` averages.
    """
    n = patches.shape[-1]
    batched = len(canvas_shape) == 3
    height, width = canvas_shape[-2:]
    b = canvas_shape[0] if batched else 1
    pos, _ = _batched(positions_xy.to(patches.device), b if batched else None)
    k = pos.shape[1]
    flat, fy, fx = _windows(pos, n, height, width)
    values = patches.reshape(b, k, n, n)
    real_dtype = values.real.dtype if values.is_complex() else values.dtype
    if weight is not None:
        values = values * weight
        weight_window = _spread(weight.to(real_dtype).expand(b, k, n, n), fy, fx)
    else:
        # placed ones: the outer product of the per-axis taps [1 - f, 1, ..., 1, f]
        row_taps, col_taps = _ones_taps(fy, n, real_dtype), _ones_taps(fx, n, real_dtype)
        weight_window = row_taps[..., :, None] * col_taps[..., None, :]  # (B, K, N+1, N+1)
    if positions_xy.requires_grad:
        canvas = _spread_scatter(values, flat, fy, fx, height, width)
    else:
        canvas = _Place.apply(values, flat, fy, fx, height, width)
    counts = _scatter(weight_window, flat, height, width)
    return canvas.reshape(canvas_shape), counts.reshape(canvas_shape)


def group_canvas_size(offsets: Tensor, n: int) -> int:
    """Return the even canvas size ``M >= N + 2*ceil(max|offset|)`` for merging a group.

    Parameters
    ----------
    offsets : Tensor of shape (B, C, 2)
        Channel offsets from the group centre (see ``ptycho_engine.conventions``).
    n : int
        Patch size N.
    """
    reach = math.ceil(float(offsets.detach().abs().max())) if offsets.numel() else 0
    size = n + 2 * reach
    return size + size % 2


def merge_group(
    patches: Tensor,
    offsets: Tensor,
    *,
    weight: Tensor | None = None,
    canvas_size: int | None = None,
) -> Tensor:
    """Merge the C patches of each group onto one canvas, averaging where they overlap.

    Parameters
    ----------
    patches : Tensor of shape (B, C, N, N)
        Complex object patches of each group.
    offsets : Tensor of shape (B, C, 2)
        ``[x, y]`` offset of each channel from its group centre; the group centre is canvas
        pixel ``[M//2, M//2]`` (see ``ptycho_engine.conventions``).
    weight : Tensor of shape (N, N), optional
        Real per-pixel weight of each patch in the average (default: uniform).
    canvas_size : int, optional
        M; default :func:`group_canvas_size`, which keeps every patch on the canvas.

    Returns
    -------
    Tensor of shape (B, M, M)
        ``sum_c T_c(w * O_c) / sum_c T_c(w)`` where the denominator is positive, else 0.
    """
    b, _, n, _ = patches.shape
    m = group_canvas_size(offsets, n) if canvas_size is None else canvas_size
    positions = offsets + centre_index(m)  # (B, C, 2) patch centres on the canvas
    summed, counts = place_patches(patches, positions, (b, m, m), weight=weight)  # (B, M, M) x2
    # uncovered pixels stay 0; the clamp keeps the unused 1/count finite
    covered = counts > torch.finfo(counts.dtype).tiny
    inverse = torch.where(covered, counts.clamp_min(torch.finfo(counts.dtype).tiny).reciprocal(), 0)
    return summed * inverse  # (B, M, M)


def extract_group(canvas: Tensor, offsets: Tensor, n: int) -> Tensor:
    """Re-extract each channel's N×N patch from its group canvas (the second half of object_big).

    Parameters
    ----------
    canvas : Tensor of shape (B, M, M)
        Group canvases with the group centre at pixel ``[M//2, M//2]``.
    offsets : Tensor of shape (B, C, 2)
        ``[x, y]`` channel offsets from the group centre.
    n : int
        Patch size N.

    Returns
    -------
    Tensor of shape (B, C, N, N)
    """
    return extract_patches(canvas, offsets + centre_index(canvas.shape[-1]), n)
