"""The training workflow: data → groups → ``PinnModule`` → Lightning ``Trainer`` → model bundle.

``train(config, execution)`` (:mod:`~ptycho_engine.training.workflow`) is the Python twin of
``ptycho train``; the other modules are its parts (the LightningModule, the Trainer, batches,
sampling, optimisers, callbacks, checkpoint writing, interrupts, the loss curve).
"""

from ptycho_engine.training.workflow import TrainingResult, last_checkpoint_path, train

__all__ = ["TrainingResult", "last_checkpoint_path", "train"]
