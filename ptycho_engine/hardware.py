"""Probe the machine's accelerators for :func:`ptycho_settings.resolve_execution`."""

from __future__ import annotations

import os

import torch

from ptycho_settings import HardwareDescription, PyTorchExecutionConfig, resolve_execution


def probe_hardware() -> HardwareDescription:
    """Return the CUDA device count, MPS availability and CPU count of this machine."""
    mps = getattr(torch.backends, "mps", None)
    return HardwareDescription(
        cuda_device_count=torch.cuda.device_count() if torch.cuda.is_available() else 0,
        mps_available=bool(mps is not None and mps.is_available()),
        cpu_count=os.cpu_count() or 1,
    )


def execution_device(execution: PyTorchExecutionConfig) -> str:
    """The device (``cpu``, ``cuda``, ``mps``) a single-process job of ``execution`` runs on."""
    return resolve_execution(execution, probe_hardware()).device
