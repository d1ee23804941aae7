"""The method contract: the engine config every method's schema extends, and the LightningModule base.

A method owns its network (a plain ``nn.Module`` of :mod:`antispoof.models`), its losses
and its input spec. The engine calls only these members, each with a default but the
first two:

- ``training_loss(batch) -> (loss, logs)``: the scalar to minimise and named numbers to log;
- ``network() -> nn.Module``: the deployable network; it has ``predict(batch) ->
  {"score": [B], <cue>: [B] or [B, H, W]}`` and ``arch`` (its constructor kwargs), so a
  bundle rebuilds and scores it without Lightning;
- ``input_spec() -> InputSpec``: modalities, clip length, crop vs input size, colour
  order and value range; datasets, augmentation, scoring, the model card, ONNX export
  and the Predictor all read it;
- ``score(batch) -> Tensor[B]``: liveness in [0, 1], higher = bona fide (default: the network's);
- ``explain(batch) -> dict``: cue probabilities ``[B]`` and dense maps ``[B, H, W]`` (default: the network's);
- ``validation_loss(batch)``: the dev-set loss (default: ``training_loss``; methods that
  mix samples at random validate without mixing);
- ``train_sampler(labels, seed, num_replicas, rank)``: a seeded sampler of training
  indices, e.g. 1:1 live/spoof (default None: the engine's seeded shuffle);
- ``init_from_state(state, source)``: start from another run's weights (``init_from=RUN``;
  default: every tensor whose name and shape match);
- ``train_transform(spec)``: the training transform (default: the ``train.augment``
  pipeline; a self-supervised objective returns two views per sample);
- ``training_data(spec)``: ``(train, dev or None)`` datasets, or None (the default) for the
  config's frame store;
- ``stages_for(config)``: the stages of a staged training, each a :class:`Stage` (a name and
  a config overlay), run in order into ``RUN/stages/NAME``, each started from the one before
  (:mod:`antispoof.training.stages`); the last is the run's own network (default []: one stage).

``kind`` is ``"detector"`` for a presentation-attack detector (every method the
quickstart, the benchmark and the contract tests list) or ``"pretraining"`` for an
objective that only makes a backbone (``antispoof pretrain``).

Batches are dicts: one key per modality (``image`` for RGB, ``ir``, ``depth``:
``[B, C, H, W]``, or ``[B, T, C, H, W]`` for clips), ``label`` ``[B]`` (1 = bona fide,
0 = attack), ``attributes`` ``[B, 7]`` (NaN unknown), ``pai_class`` and every other
column of the frame store (strings as lists).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import lightning as L
import numpy as np
import torch
from pydantic import Field
from torch import Tensor, nn

from antispoof.config import DataConfig, ExperimentConfig, TrainConfig
from antispoof.data.inputs import InputSpec

__all__ = ["EngineDataConfig", "EngineTrainConfig", "EngineConfig", "Method", "Stage"]


class EngineDataConfig(DataConfig):
    """Which data a run reads, and where its frame store lives."""

    crop_size: int | None = Field(None, ge=8, description="side of the stored face crop; null = data.image_size")
    store: Path | None = Field(None, description="prepared frame store folder; null prepares the dataset into the cache on first use")
    cache_dir: Path | None = Field(None, description="where prepared frame stores are cached; null uses $ANTISPOOF_CACHE or ~/.cache/antispoof")
    frames_per_video: int | None = Field(None, ge=1, description="frames taken per video when preparing into the cache (evenly spaced); null = every 10th frame")
    exclude_attacks: list[str] = Field(default_factory=list, description="attack species (shell wildcards on pai, e.g. replay_*) left out of train and dev: an unseen-attack protocol; test keeps them")
    exclude_domains: list[str] = Field(default_factory=list, description="capture domains (shell wildcards on domain) left out of train and dev: an unseen-domain protocol; test keeps them")
    train_attacks: list[str] | None = Field(None, description="attack species (shell wildcards on pai) the train set keeps; null = all (a fold of antispoof.training.folds)")
    train_bonafide_subjects: list[str] | None = Field(None, description="subjects whose bona fide frames the train set keeps; null = all")
    dev_from: Literal["dev", "train"] = Field("dev", description="store split the dev (validation) set is read from: dev, or train for a fold held out of it")
    dev_attacks: list[str] | None = Field(None, description="attack species (shell wildcards on pai) the dev set keeps; null = all")
    dev_bonafide_subjects: list[str] | None = Field(None, description="subjects whose bona fide frames the dev set keeps; null = all")
    train_subjects: list[str] | None = Field(None, description="subjects whose frames, bona fide and attack, the train set keeps; null = all (a subject fold)")
    dev_subjects: list[str] | None = Field(None, description="subjects whose frames, bona fide and attack, the dev set keeps; null = all")
    extra_stores: list[Path] = Field(default_factory=list, description="further prepared frame stores (other datasets) whose "
                                     "train and dev splits join this store's: a multi-source protocol such as seed 003's "
                                     "O&C&I to M (Table 2); the data.train_* / dev_* selections apply to data.store only")


class EngineTrainConfig(TrainConfig):
    """How the engine trains: optimiser, precision, devices, augmentation."""

    optimizer: Literal["adamw", "adam"] = Field("adamw", description="adamw (decoupled weight decay) or adam (weight decay as L2)")
    weight_decay: float = Field(0.01, ge=0, description="weight decay of the optimizer")
    lr_schedule: Literal["constant", "onecycle", "exponential", "warmup_step"] = Field(
        "constant", description="constant: train.lr throughout; onecycle: warm up to train.lr, then cosine decay to ~0 (per step); "
                                "exponential: train.lr times lr_gamma after every epoch; warmup_step: linear warm-up over the "
                                "first epoch, then times lr_gamma every lr_step_size steps"
    )
    warmup: float = Field(0.1, gt=0, lt=1, description="onecycle: fraction of the steps spent warming up")
    lr_gamma: float = Field(0.99, gt=0, le=1, description="exponential / warmup_step: the decay factor")
    lr_step_size: int = Field(600, ge=1, description="warmup_step: optimizer steps between two decays")
    augment: str = Field("entry", description="augmentation pipeline name (none, light, entry)")
    precision: str = Field("32-true", description="Lightning precision: 32-true, bf16-mixed, 16-mixed")
    accelerator: str = Field("auto", description="cpu, gpu, auto")
    devices: int | str = Field(1, description="devices per node (an int, or 'auto'); above 1, strategy auto means ddp")
    num_nodes: int = Field(1, ge=1, description="number of machines for multi-node DDP (torchrun or SLURM starts their processes)")
    strategy: str = Field("auto", description="Lightning strategy: auto (ddp on several devices or nodes), ddp, ddp_spawn, ...")
    sync_batchnorm: bool = Field(False, description="synchronise BatchNorm statistics across DDP processes")
    limit_val_batches: int | float = Field(1.0, description="dev batches per validation (a fraction or a count); 0 skips validation")
    log_every_n_steps: int = Field(10, ge=1, description="log the training loss every N steps")
    progress: bool = Field(True, description="show a progress bar")
    deterministic: bool = Field(False, description="ask torch for deterministic kernels (slower)")


class EngineConfig(ExperimentConfig):
    """Base of every method's config: the shared keys plus the engine's."""

    init_from: Path | None = Field(None, description="run folder, bundle or weights file to start from (matching tensors); null = fresh")
    allow_mismatch: bool = Field(False, description="start from init_from weights whose training data was acquired unlike this "
                                                    "run's store (another face source, crop scale, geometry, alignment or views)")
    data: EngineDataConfig = Field(default_factory=EngineDataConfig, description="which data the run reads")
    train: EngineTrainConfig = Field(default_factory=EngineTrainConfig, description="how the run trains")


@dataclass(frozen=True)
class Stage:
    """One stage of a staged training: its name (the run sub-folder ``stages/NAME``) and its config overlay (dotted key -> value)."""

    name: str
    overlay: dict[str, Any] = field(default_factory=dict)


class Method(L.LightningModule):
    """Base of every method: AdamW (or Adam) on the trainable parameters, loss logging, validation loss (see the module docstring)."""

    config_schema: ClassVar[type[EngineConfig]] = EngineConfig
    kind: ClassVar[Literal["detector", "pretraining"]] = "detector"

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

    # -- the contract ---------------------------------------------------------------------

    @abstractmethod
    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        """The loss to minimise on ``batch`` and named values to log."""

    @abstractmethod
    def network(self) -> nn.Module:
        """The deployable network (exported to safetensors, rebuilt by bundles)."""

    @classmethod
    def input_spec_for(cls, config: EngineConfig) -> InputSpec:
        """What the network of ``config`` reads; default: one RGB frame of ``data.image_size``, ImageNet statistics."""
        d = config.data
        return InputSpec.rgb(d.image_size, crop_size=d.crop_size or d.image_size)

    @classmethod
    def stages_for(cls, config: EngineConfig) -> list[Stage]:
        """The stages training ``config`` runs in order (default []: a single plain run); the last trains the run's network."""
        return []

    def input_spec(self) -> InputSpec:
        """What this method's network reads (:meth:`input_spec_for` its config)."""
        return type(self).input_spec_for(self.config)

    def score(self, batch: dict[str, Any]) -> Tensor:
        """Liveness scores ``[B]`` in [0, 1], higher = bona fide."""
        return self.network().predict(batch)["score"]

    def explain(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        """Named cue probabilities ``[B]`` and dense cue maps ``[B, H, W]`` (the explanation a user sees)."""
        out = dict(self.network().predict(batch))
        out.pop("score")
        return out

    def validation_loss(self, batch: dict[str, Any]) -> Tensor:
        """The loss reported on the dev split (no random mixing)."""
        return self.training_loss(batch)[0]

    def train_sampler(self, labels: np.ndarray, seed: int, num_replicas: int, rank: int) -> torch.utils.data.Sampler | None:
        """A seeded sampler yielding ``epoch * n + index`` over the training set, or None for the engine's shuffle.

        ``labels``: 1 = bona fide, 0 = attack, -1 = unlabelled, one per training sample.
        """
        return None

    def init_from_state(self, state: dict[str, Tensor], source: str) -> dict[str, list[str]]:
        """Start from ``state`` (another run's network weights); default: load every tensor matching by name and shape."""
        from antispoof.weights import load_matching

        return load_matching(self.network(), state, source)

    def train_transform(self, spec: InputSpec) -> Any:
        """The transform of training samples (:class:`~antispoof.data.transforms.Transform`); default: ``train.augment``."""
        from antispoof.data.transforms import build_transform

        return build_transform(self.config.train.augment, spec)

    def training_data(self, spec: InputSpec) -> tuple[Any, Any] | None:
        """``(train, dev or None)`` datasets of raw items, or None to read the config's frame store (the default)."""
        return None

    # -- Lightning hooks: the engine's side of the contract -------------------------------

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        loss, logs = self.training_loss(batch)
        bs = int(batch["label"].shape[0])
        self.log("train/loss", loss, prog_bar=True, batch_size=bs, sync_dist=False)
        for key, value in logs.items():
            self.log(f"train/{key}", value, batch_size=bs)
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        loss = self.validation_loss(batch)
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
        make = torch.optim.AdamW if t.optimizer == "adamw" else torch.optim.Adam
        optimizer = make(params, lr=t.lr, weight_decay=t.weight_decay)
        if t.lr_schedule == "constant":
            return optimizer
        if t.lr_schedule == "exponential":
            scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=t.lr_gamma)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
        if t.lr_schedule == "warmup_step":
            epoch_steps = max(int(self.trainer.estimated_stepping_batches) // max(int(self.trainer.max_epochs or 1), 1), 1)

            def factor(step: int) -> float:
                return (step + 1) / epoch_steps if step < epoch_steps else t.lr_gamma ** ((step - epoch_steps) // t.lr_step_size)

            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
        # stepped per batch over the whole run (max_epochs or max_steps); its state is in every checkpoint
        total = int(self.trainer.estimated_stepping_batches)
        if total < 4:  # too few steps for a warm-up and a decay phase: keep train.lr
            return optimizer
        # OneCycleLR divides by the length of each phase: the warm-up gets two steps at least
        pct = min(max(t.warmup, 2.0 / total), 0.5)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=t.lr, total_steps=total, pct_start=pct)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
