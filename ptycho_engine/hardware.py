"""The machine's accelerators (for :func:`ptycho_settings.resolve_execution`), and what follows
from the device a job runs on: the batch size of work without gradients.
"""

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


CPU_INFERENCE_BATCHES = 2
"""Training batches per inference batch on a CPU, by default (elsewhere 4): on a CPU,
activations that stay nearer the cache predict faster than one large batch."""


def inference_batch_size(
    execution: PyTorchExecutionConfig, training_batch_size: int, device: str
) -> int:
    """Groups per batch without gradients: the setting, else two training batches on a CPU
    (:data:`CPU_INFERENCE_BATCHES`) and four on accelerators.
    """
    batches = CPU_INFERENCE_BATCHES if torch.device(device).type == "cpu" else 4
    return execution.inference_batch_size or batches * training_batch_size
