"""Config sections of the training engine, shared by every method's schema.

A method's schema subclasses :class:`EngineConfig` (itself an
:class:`antispoof.config.ExperimentConfig`), so every method accepts the shared keys
(``data.dataset``, ``data.root``, ``data.protocol``, ``data.image_size``,
``model.backbone``, ``train.max_epochs``, ``train.max_steps``, ``train.batch_size``,
``train.lr``, ``seed``) plus the engine's own below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from antispoof.config import DataConfig, ExperimentConfig, TrainConfig

__all__ = ["EngineDataConfig", "EngineTrainConfig", "EngineConfig"]


class EngineDataConfig(DataConfig):
    """Which data a run reads, and where its frame store lives."""

    store: Path | None = Field(None, description="prepared frame store folder; null prepares the dataset into the cache on first use")
    cache_dir: Path | None = Field(None, description="where prepared frame stores are cached; null uses $ANTISPOOF_CACHE or ~/.cache/antispoof")
    frames_per_video: int | None = Field(None, ge=1, description="frames taken per video when preparing into the cache (evenly spaced); null = every 10th frame")


class EngineTrainConfig(TrainConfig):
    """How the engine trains: optimiser, precision, devices, augmentation."""

    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay")
    lr_schedule: Literal["constant", "onecycle"] = Field(
        "constant", description="constant: train.lr throughout; onecycle: warm up to train.lr, then cosine decay to ~0 (per step)"
    )
    warmup: float = Field(0.1, gt=0, lt=1, description="onecycle: fraction of the steps spent warming up")
    augment: str = Field("entry", description="augmentation pipeline name (none, light, entry)")
    precision: str = Field("32-true", description="Lightning precision: 32-true, bf16-mixed, 16-mixed")
    accelerator: str = Field("auto", description="cpu, gpu, auto")
    devices: int | str = Field(1, description="devices per node (an int, or 'auto')")
    num_nodes: int = Field(1, ge=1, description="number of machines for multi-node DDP")
    strategy: str = Field("auto", description="Lightning strategy: auto, ddp, ddp_spawn, ...")
    sync_batchnorm: bool = Field(False, description="synchronise BatchNorm statistics across DDP processes")
    limit_val_batches: int | float = Field(1.0, description="dev batches per validation (a fraction or a count); 0 skips validation")
    log_every_n_steps: int = Field(10, ge=1, description="log the training loss every N steps")
    progress: bool = Field(True, description="show a progress bar")
    deterministic: bool = Field(False, description="ask torch for deterministic kernels (slower)")


class EngineConfig(ExperimentConfig):
    """Base of every method's config: the shared keys plus the engine's."""

    data: EngineDataConfig = Field(default_factory=EngineDataConfig, description="which data the run reads")
    train: EngineTrainConfig = Field(default_factory=EngineTrainConfig, description="how the run trains")
