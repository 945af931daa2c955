"""Learning-rate schedules step once per epoch through Lightning's automatic optimisation.

Upstream's manual loop never stepped its schedulers; here ``train`` runs a few epochs and a
callback reads the optimiser's rate at the start of each.
"""

import lightning as L
import pytest

from ptycho_engine.training import train
from ptycho_engine.training.optim import warmup_cosine
from ptycho_settings import ModelConfig, PyTorchExecutionConfig, TrainingConfig
from tests.engine.simdata import simulated_files

EXECUTION = PyTorchExecutionConfig.from_values(
    {
        "accelerator": "cpu",
        "enable_progress_bar": False,
        "logger": "none",
        "seed": 0,
        "enable_checkpointing": False,
    }
)


class _RateAtEpochStart(L.Callback):
    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_train_epoch_start(self, trainer, module) -> None:
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])


def _rates(tmp_path, **schedule) -> tuple[list[float], TrainingConfig]:
    train_file, _ = simulated_files()
    config = TrainingConfig(
        model=ModelConfig(n_filters_scale=1, estimate_iterations=0),
        train_data_file=train_file,
        output_dir=tmp_path,
        nphotons=1e6,
        n_groups=16,
        batch_size=8,
        nepochs=4,
        learning_rate=1e-3,
        **schedule,
    )
    recorder = _RateAtEpochStart()
    train(config, EXECUTION, callbacks=[recorder])
    return recorder.rates, config


def test_the_exponential_schedule_steps_every_epoch(tmp_path):
    rates, _ = _rates(tmp_path, scheduler="exponential", exponential_gamma=0.5)
    assert rates == pytest.approx([1e-3, 5e-4, 2.5e-4, 1.25e-4])


def test_warmup_cosine_follows_its_curve(tmp_path):
    rates, config = _rates(
        tmp_path, scheduler="warmup-cosine", lr_warmup_epochs=2, lr_min_ratio=0.1
    )
    factor = warmup_cosine(config)
    assert rates == pytest.approx([1e-3 * factor(epoch) for epoch in range(4)])
    assert rates[0] == pytest.approx(1e-4) and rates[1] == pytest.approx(5.5e-4)  # warm-up from 0.1
    assert rates[2] == pytest.approx(1e-3)  # the cosine starts at the full rate


def test_without_a_schedule_the_rate_stays(tmp_path):
    rates, _ = _rates(tmp_path)
    assert rates == [1e-3] * 4
