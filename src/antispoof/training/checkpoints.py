"""Checkpoints: Lightning checkpoints (weights + optimizer + loop state) every epoch and at the end,
and the deployable network's weights in safetensors with the facts needed to rebuild and feed it
(:mod:`antispoof.weights`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from antispoof.weights import WEIGHTS_FILE, save_weights
from antispoof.weights import weights_metadata as _metadata

__all__ = ["WEIGHTS_FILE", "LAST_CHECKPOINT", "ExportWeights", "weights_metadata"]

log = logging.getLogger(__name__)

LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def weights_metadata(method: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """The metadata of a method's weights file: its network spec, input spec, and ``facts``."""
    return _metadata(method.network(), method.input_spec(), **facts)


class ExportWeights(Callback):
    """After every epoch and at the end: the network to ``<run>/model.safetensors``; at the end also ``last.ckpt``."""

    def __init__(self, run_dir: Path, facts: dict[str, Any]) -> None:
        self.run_dir = Path(run_dir)
        self.facts = dict(facts)

    def _export(self, trainer: L.Trainer, pl_module: Any) -> None:
        if trainer.is_global_zero:
            meta = weights_metadata(pl_module, {**self.facts, "epoch": trainer.current_epoch, "global_step": trainer.global_step})
            save_weights(pl_module.network(), self.run_dir / WEIGHTS_FILE, meta)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._export(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._export(trainer, pl_module)
        trainer.save_checkpoint(self.run_dir / LAST_CHECKPOINT)
        if trainer.is_global_zero:
            log.info("weights: %s; checkpoint: %s", self.run_dir / WEIGHTS_FILE, self.run_dir / LAST_CHECKPOINT)
