"""Stopping a training on SIGTERM or SIGINT: at the next batch boundary, with nothing half-done passed off as done.

A cluster scheduler sends SIGTERM before it preempts a job; a user presses Ctrl-C
(SIGINT). Either one, during any stage, fold or seed of a training, makes
:class:`StopOnSignal` stop the fit at the end of the batch in flight (a second SIGINT
stops at once). In a run of several processes all of them stop at the same batch
boundary, whichever of them the signal reached. The fit then raises :class:`TrainingInterrupted`; the run keeps the
checkpoint of its last finished epoch, writes no final weights, records ``interrupted``
in its ``run.json`` and ``antispoof train`` exits with ``128 + signal`` as shells do.

Resuming continues from the start of the interrupted epoch: Lightning cannot restart a
loader in the middle of an epoch exactly, and an epoch's order and augmentation are a
function of ``(seed, epoch)`` (:mod:`antispoof.training.data`), so the redone part is
what the uninterrupted run computed.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from lightning.pytorch.callbacks import Callback

__all__ = ["StopOnSignal", "TrainingInterrupted", "STOP_SIGNALS"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TrainingInterrupted(BaseException):
    """A training stopped by a signal; ``exit_code`` is ``128 + signal`` as shells report it.

    A ``BaseException`` like ``KeyboardInterrupt``: a stop is not an error, so the ``except Exception`` of a
    command that goes on past one failed run (a benchmark row) does not swallow it.

    ``run_dir`` and ``resume`` (the command that continues it) are filled in by the code that
    knows them (the run's trainer, a grid of runs).
    """

    def __init__(self, signum: int, epoch: int, step: int) -> None:
        self.signum, self.epoch, self.step = signum, epoch, step
        self.signal_name = signal.Signals(signum).name
        self.run_dir: Any = None
        self.resume: str | None = None
        super().__init__(f"training interrupted by {self.signal_name} at epoch {epoch}, step {step}")

    def message(self) -> str:
        where = f"{self.run_dir}: " if self.run_dir is not None else ""
        hint = f"; resume it with `{self.resume}`" if self.resume else ""
        return (f"{where}training interrupted by {self.signal_name} at epoch {self.epoch} (step {self.step}); "
                f"no final weights were written, the last finished epoch is kept{hint}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _Stop(Exception):
    """Raised in a callback hook to leave ``trainer.fit`` at a batch boundary."""


class StopOnSignal(Callback):
    """Catches SIGTERM and SIGINT for the length of a ``with`` block and stops the fit at the next batch boundary.

    Install it around ``trainer.fit`` *and* pass it as a callback: as a callback it keeps Lightning
    from installing a SIGTERM handler of its own (see :meth:`setup`) and stops at batch boundaries.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():  # signals can only be caught there
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) is signal.SIG_IGN:  # ignored on purpose (a background job's SIGINT, nohup)
                    continue
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.signum = signum

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        # Lightning (2.6) installs a SIGTERM handler of its own when the fit starts, after this hook. Under DDP that
        # handler runs a broadcast inside the signal handler, wherever the process is: a process signalled in the
        # middle of an epoch-end write broadcasts while the other waits in another collective, and both wait
        # forever. Its stop points are not agreed between processes either. This callback is the one SIGTERM handler.
        trainer._signal_connector.register_signal_handlers = lambda: None

    def _check(self, trainer: Any) -> None:
        signum = self.signum or 0
        if trainer.world_size > 1:
            # Every process must leave at the same batch boundary: a signal reaches the processes at different
            # moments (or only one of them), and a process that goes on into the next batch would wait forever
            # in its gradient all-reduce for one that stopped. One scalar all-reduce a batch (the largest signal).
            import torch

            signum = int(trainer.strategy.reduce(torch.tensor(signum, device=trainer.strategy.root_device), reduce_op="max"))
        if signum:
            self.signum = self.signum or signum
            raise _Stop

    def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
        self._check(trainer)

    def on_validation_batch_end(self, trainer: Any, *args: Any) -> None:
        self._check(trainer)

    def on_train_epoch_start(self, trainer: Any, *args: Any) -> None:
        self._check(trainer)

    def interrupted(self, trainer: Any) -> TrainingInterrupted | None:
        """The exception to raise once ``trainer.fit`` has left because of a signal (None when no signal came)."""
        if self.signum is None:
            return None
        return TrainingInterrupted(self.signum, trainer.current_epoch, trainer.global_step)
