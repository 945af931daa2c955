"""The keyword arguments of ``physics.probe.prepare_probe`` that a ``ModelConfig`` sets."""

from __future__ import annotations

from ptycho_settings import ModelConfig


def probe_settings(model: ModelConfig) -> dict:
    """``n``, ``probe_scale`` and ``probe_mask`` of ``model``, as the workflows pass them."""
    return {"n": model.N, "probe_scale": model.probe_scale, "probe_mask": model.probe_mask}
