"""Checkpoints: Lightning checkpoints (weights + optimizer + loop state) every epoch and at the end,
and the deployable network's weights in safetensors with the facts needed to use them."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

from antispoof.data.transforms import MEAN, STD

__all__ = ["WEIGHTS_FILE", "LAST_CHECKPOINT", "ExportWeights", "save_weights", "load_weights"]

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def save_weights(module: Any, path: Path, metadata: dict[str, str]) -> None:
    """Write ``module``'s state dict to ``path`` (safetensors), atomically."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def load_weights(module: Any, path: Path) -> dict[str, str]:
    """Load safetensors weights into ``module`` (strict); returns the file's metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found; is this a finished or checkpointed training run?")
    module.load_state_dict(load_file(str(path)))
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


class ExportWeights(Callback):
    """After every epoch and at the end: the network to ``<run>/model.safetensors``; at the end also ``last.ckpt``."""

    def __init__(self, run_dir: Path, facts: dict[str, Any]) -> None:
        self.run_dir = Path(run_dir)
        self.metadata = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in facts.items()}
        self.metadata.setdefault("mean", json.dumps(MEAN))
        self.metadata.setdefault("std", json.dumps(STD))
        self.metadata.setdefault("score", "liveness in [0, 1], higher = bona fide")

    def _export(self, trainer: L.Trainer, pl_module: Any) -> None:
        if trainer.is_global_zero:
            meta = dict(self.metadata, epoch=str(trainer.current_epoch), global_step=str(trainer.global_step))
            save_weights(pl_module.network(), self.run_dir / WEIGHTS_FILE, meta)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._export(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._export(trainer, pl_module)
        trainer.save_checkpoint(self.run_dir / LAST_CHECKPOINT)
        if trainer.is_global_zero:
            log.info("weights: %s; checkpoint: %s", self.run_dir / WEIGHTS_FILE, self.run_dir / LAST_CHECKPOINT)
