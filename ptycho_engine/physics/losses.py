"""Loss functions: the Poisson negative log-likelihood and the MAE diagnostics.

Amplitudes and the photon scale ``S`` follow ``ptycho_engine.conventions`` and
``ptycho_engine.physics.scaling``.

Reductions are explicit. ``"mean"`` (the default) averages over every element (batch,
channels and pixels), as the TF reference does, so the loss value and its gradient do not
depend on the batch size, gridsize or N. ``"sum"`` adds every element; ``"none"`` returns the
elementwise map. The Poisson NLL grows like the dose: its gradient with respect to a
predicted amplitude is ``2 S**2 (A - X**2 / A) / numel`` under ``"mean"``. Adam and other
scale-invariant optimisers step the same for any constant factor, so their learning rate
carries over between doses and batch sizes; with plain SGD the effective learning rate is
``lr * S**2`` and must be scaled by hand.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

__all__ = [
    "PHASE_FLOOR",
    "RATE_FLOOR",
    "amplitude_mae",
    "phase_difference",
    "poisson_nll",
    "realspace_mae",
]

Reduction = Literal["mean", "sum", "none"]

RATE_FLOOR = 1e-8
"""Lower clamp of the Poisson rate, so ``log(rate)`` stays finite for dark predicted pixels."""


def _reduce(values: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def poisson_nll(
    pred_amplitude: Tensor,
    measured_amplitude: Tensor,
    scale: float | Tensor,
    *,
    reduction: Reduction = "mean",
    full: bool = False,
) -> Tensor:
    """Poisson negative log-likelihood of the measured counts under the predicted rate.

    With ``lam = max((S * A_pred)**2, RATE_FLOOR)`` and ``k = (S * X)**2`` per pixel::

        nll = lam - k * log(lam)                  (full=False)
        nll = lam - k * log(lam) + lgamma(k + 1)  (full=True)

    ``lgamma(k + 1) = log(k!)`` does not depend on the prediction, so it changes neither the
    gradient nor the optimum; ``full=True`` gives the true NLL (non-negative for integer k),
    useful to compare runs. Non-integer ``k`` are allowed.

    Parameters
    ----------
    pred_amplitude : Tensor of shape (B, C, N, N)
        Predicted amplitude ``A_pred`` (normalised units).
    measured_amplitude : Tensor of shape (B, C, N, N)
        Measured amplitude ``X`` in the same units.
    scale : float or Tensor broadcastable to (B, C, N, N)
        Photon scale ``S``; a tensor may carry a gradient (a learnable log-scale).
    reduction : {"mean", "sum", "none"}
        See the module docstring; ``"mean"`` averages over all elements.
    full : bool
        Include the ``lgamma(k + 1)`` constant.

    Returns
    -------
    Tensor
        0-d, or shape (B, C, N, N) for ``reduction="none"``.
    """
    rate = (scale * pred_amplitude).square().clamp_min(RATE_FLOOR)  # (B, C, N, N)
    counts = (scale * measured_amplitude).square()  # (B, C, N, N)
    nll = torch.addcmul(rate, counts, torch.log(rate), value=-1)  # rate - counts * log(rate)
    if full:
        nll = nll + torch.lgamma(counts + 1)
    return _reduce(nll, reduction)


def amplitude_mae(pred: Tensor, measured: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Mean absolute error ``|pred - measured|`` of amplitudes (shapes (B, C, N, N)).

    Callers that want photon units multiply both by ``S`` first.
    """
    return _reduce((pred - measured).abs(), reduction)


def realspace_mae(pred_obj: Tensor, true_obj: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Complex-object error: ``|(|p| - |t|)| + |angle(p * conj(t))|`` per pixel.

    The phase term uses the wrapped phase difference, so phases near +pi and -pi agree. It is
    0, with no gradient, where either object is (nearly) zero (:func:`phase_difference`).

    Parameters
    ----------
    pred_obj, true_obj : complex Tensor of shape (..., H, W)
    """
    amplitude_error = (pred_obj.abs() - true_obj.abs()).abs()
    phase_error = phase_difference(pred_obj, true_obj).abs()
    return _reduce(amplitude_error + phase_error, reduction)


PHASE_FLOOR = 1e-12
"""Below this ``|p·conj(t)|`` the phase difference counts as 0: ``angle``'s gradient,
``1/|z|``, overflows to NaN for tiny non-zero products (a sigmoid amplitude head, or a physics
estimate that is dark outside the probe, gives them), which would stop training at once."""


def phase_difference(pred_obj: Tensor, true_obj: Tensor) -> Tensor:
    """Wrapped phase difference ``angle(p * conj(t))`` in (-pi, pi], 0 with no gradient where
    ``|p * conj(t)| <= PHASE_FLOOR`` (the phase is undefined there).
    """
    product = pred_obj * true_obj.conj()
    defined = product.abs() > PHASE_FLOOR
    safe = torch.where(defined, product, torch.ones_like(product))  # finite gradient everywhere
    return torch.where(defined, torch.angle(safe), torch.zeros_like(product.real))
