"""The one LightningModule base every method subclasses.

The contract (DESIGN.md): a method owns its network and its losses. The engine calls
only these members:

- ``training_loss(batch) -> (loss, logs)``: the scalar to minimise and named numbers to log;
- ``score(batch) -> Tensor[B]``: liveness in [0, 1], higher = bona fide;
- ``explain(batch) -> dict[str, Tensor[B]]``: optional named cue probabilities;
- ``network() -> nn.Module``: the deployable network whose weights are exported.

Batches are dicts in the frame-store item contract: ``image`` ``[B, 3, H, W]``,
``label`` ``[B]`` (1 = bona fide, 0 = attack), ``attributes`` ``[B, 7]`` (NaN unknown),
and the strings ``pai``, ``video``, ``subject``, ``domain``.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import lightning as L
import torch
from torch import Tensor, nn

from antispoof.training.config import EngineConfig

__all__ = ["Method"]


class Method(L.LightningModule):
    """Base of every method: AdamW on the trainable parameters, loss logging, validation loss."""

    config_schema: ClassVar[type[EngineConfig]] = EngineConfig

    def __init__(self, config: EngineConfig) -> None:
        super().__init__()
        self.config = config

    @classmethod
    def from_config(cls, config: EngineConfig) -> Method:
        """Build the method a config describes (the config's own schema must be ``cls.config_schema``)."""
        return cls(config)

    @classmethod
    def for_inference(cls, config: EngineConfig) -> Method:
        """Build the method for scoring only (e.g. without a distillation teacher); weights are loaded after."""
        return cls.from_config(config)

    @abstractmethod
    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        """The loss to minimise on ``batch`` and named values to log."""

    @abstractmethod
    def score(self, batch: dict[str, Any]) -> Tensor:
        """Liveness scores ``[B]`` in [0, 1], higher = bona fide."""

    def explain(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """Named per-sample cue probabilities (the explanation a user sees); none by default."""
        return {}

    @abstractmethod
    def network(self) -> nn.Module:
        """The deployable network (what is exported to safetensors and loaded for evaluation)."""

    # -- Lightning hooks: the engine's side of the contract -------------------------------

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        loss, logs = self.training_loss(batch)
        bs = int(batch["label"].shape[0])
        self.log("train/loss", loss, prog_bar=True, batch_size=bs, sync_dist=False)
        for key, value in logs.items():
            self.log(f"train/{key}", value, batch_size=bs)
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        loss, _ = self.training_loss(batch)
        scores = self.score(batch)
        pred_live = scores >= 0.5
        acc = (pred_live.long() == batch["label"].long()).float().mean()
        bs = int(batch["label"].shape[0])
        self.log("val/loss", loss, prog_bar=True, batch_size=bs, sync_dist=True)
        self.log("val/acc@0.5", acc, prog_bar=True, batch_size=bs, sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer | dict[str, Any]:
        params = [p for p in self.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the method has no trainable parameters; unfreeze the backbone or add heads")
        t = self.config.train
        optimizer = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
        if t.lr_schedule == "constant":
            return optimizer
        # stepped per batch over the whole run (max_epochs or max_steps); its state is in every checkpoint
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=t.lr, total_steps=max(total, 1), pct_start=t.warmup)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
