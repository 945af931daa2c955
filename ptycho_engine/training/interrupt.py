"""Stopping a run on SIGINT or SIGTERM: one exception, raised wherever the program is.

Lightning turns a ``KeyboardInterrupt`` inside ``Trainer.fit`` into ``sys.exit(1)`` and, on
SIGTERM, raises a ``SystemExit`` without a status (exit status 0), so neither tells a shell
or a batch system that the run was stopped. :func:`stop_on_signals` makes both signals raise
:class:`TrainingInterrupted` instead; Lightning lets it through after its own clean-up
(callbacks' ``on_exception``, loggers finalised), and every output being atomic, whatever
was being written is simply not there. The program exits with ``128 + signal``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path


class TrainingInterrupted(BaseException):
    """SIGINT or SIGTERM arrived (a ``BaseException``, like ``KeyboardInterrupt``).

    Attributes
    ----------
    signum : int
        The signal number.
    epoch, max_epochs : int or None
        The epoch that was running (1-based) and the planned number, when training had begun.
    checkpoint : Path or None
        The last checkpoint this run wrote or resumed from, when there is one.
    writing_outputs : bool
        Training had finished and the outputs were being written.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.epoch: int | None = None
        self.max_epochs: int | None = None
        self.checkpoint: Path | None = None
        self.writing_outputs = False

    @property
    def signal_name(self) -> str:
        """``SIGINT`` or ``SIGTERM``."""
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """The shell convention for a process stopped by a signal: 128 + its number."""
        return 128 + self.signum

    def describe(self) -> str:
        """One line: what stopped, what was kept and how to continue."""
        if self.writing_outputs:
            where = " while writing the outputs (training had finished)"
        elif self.epoch is not None:
            where = f" in epoch {self.epoch}/{self.max_epochs}, before writing the bundle"
        else:
            where = " before training began"
        if self.checkpoint is None:
            kept = "no checkpoint had been written; run the same command again to start over"
        else:
            kept = (
                f"last checkpoint {self.checkpoint} (saved at each epoch end); "
                "continue with the same command plus --resume"
            )
        return f"training stopped by {self.signal_name}{where}; {kept}"


def _raise_interrupted(signum: int, _frame) -> None:
    raise TrainingInterrupted(signum)


@contextlib.contextmanager
def stop_on_signals(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Raise :class:`TrainingInterrupted` on ``signals`` inside the block (main thread only).

    A signal the process was started with ignored stays ignored (a job started in the
    background of a script, or under ``trap '' INT``, is meant not to stop on it). The
    previous handlers come back when the block ends. Lightning chains its own SIGTERM
    handler (which forwards the signal to the other processes of a multi-process run) in
    front of this one while it trains.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = {number: signal.getsignal(number) for number in signals}
    previous = {
        number: handler for number, handler in previous.items() if handler is not signal.SIG_IGN
    }
    for number in previous:
        signal.signal(number, _raise_interrupted)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
