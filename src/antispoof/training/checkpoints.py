"""Checkpoints: a Lightning checkpoint (weights, optimizer, scheduler, loop and random state) at
each epoch boundary, and the deployable network's weights in safetensors, with the facts
needed to rebuild and feed it (:mod:`antispoof.weights`), written once, when training ends.

A run folder holds ``model.safetensors`` only when its training finished, so a stopped or
killed run is never read as a trained one. Its ``checkpoints/last.ckpt`` is taken at the
end of each epoch (after validation), written through a temporary file. A resumed run
continues from the next epoch and reaches the uninterrupted run's weights: the epoch's
order and augmentation are functions of ``(seed, epoch)`` (:mod:`antispoof.training.data`),
and the global random state (dropout and anything else that draws from it) is reseeded
from ``(seed, epoch)`` at each epoch's first batch.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import lightning as L
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import Callback

from antispoof.weights import WEIGHTS_FILE, save_weights
from antispoof.weights import weights_metadata as _metadata

__all__ = ["WEIGHTS_FILE", "LAST_CHECKPOINT", "ExportWeights", "EpochCheckpoint", "WeightsOnlyCheckpointIO", "weights_metadata"]

log = logging.getLogger(__name__)

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def weights_metadata(method: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """The metadata of a method's weights file: its network spec, input spec, and ``facts``."""
    return _metadata(method.network(), method.input_spec(), **facts)


class WeightsOnlyCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint reader with ``weights_only=True`` on every load (a checkpoint cannot run code)."""

    def load_checkpoint(self, path: Any, map_location: Any = lambda storage, loc: storage,
                        weights_only: bool | None = None) -> dict[str, Any]:
        return super().load_checkpoint(path, map_location=map_location, weights_only=True)


def save_checkpoint_atomic(trainer: L.Trainer, path: Path) -> None:
    """``trainer.save_checkpoint`` to ``path`` through a temporary file (a kill never leaves a torn checkpoint)."""
    tmp = path.with_name(path.name + ".tmp")
    # every rank takes part, rank 0 writes; weights_only=False = the whole state (Lightning logs a line when it is unset)
    trainer.save_checkpoint(tmp, weights_only=False)
    if trainer.is_global_zero:
        os.replace(tmp, path)


class EpochCheckpoint(Callback):
    """``<run>/checkpoints/last.ckpt`` at the end of every epoch; the global random state reseeded from ``(seed, epoch)``
    at the first batch of every epoch after the first (so a resumed run draws what the uninterrupted one drew)."""

    def __init__(self, run_dir: Path, seed: int) -> None:
        self.path = Path(run_dir) / LAST_CHECKPOINT
        self.seed = int(seed)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint_atomic(trainer, self.path)
        if trainer.is_global_zero:
            from antispoof._runs import set_run_state

            # what a SIGKILL leaves behind says how far the run got: epochs done, the checkpoint to resume from
            set_run_state(self.path.parent.parent, "running", epochs_done=trainer.current_epoch + 1, step=trainer.global_step)

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if batch_idx == 0 and trainer.current_epoch > 0:
            from lightning.fabric.utilities.seed import seed_everything

            from antispoof.data.samplers import mix_seed

            # a resumed process has another history of draws (loaders made in another order): replay from here
            seed_everything(mix_seed(self.seed, trainer.current_epoch) % 2**32, workers=True, verbose=False)


class ExportWeights(Callback):
    """When training ends: the network to ``<run>/model.safetensors`` and the final ``last.ckpt``."""

    def __init__(self, run_dir: Path, facts: dict[str, Any]) -> None:
        self.run_dir = Path(run_dir)
        self.facts = dict(facts)

    def _export(self, trainer: L.Trainer, pl_module: Any) -> None:
        if trainer.is_global_zero:
            meta = weights_metadata(pl_module, {**self.facts, "epoch": trainer.current_epoch, "global_step": trainer.global_step})
            save_weights(pl_module.network(), self.run_dir / WEIGHTS_FILE, meta)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._export(trainer, pl_module)
        save_checkpoint_atomic(trainer, self.run_dir / LAST_CHECKPOINT)
        if trainer.is_global_zero:
            log.info("weights: %s; checkpoint: %s", self.run_dir / WEIGHTS_FILE, self.run_dir / LAST_CHECKPOINT)
