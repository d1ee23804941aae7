"""Self-supervised pretraining of a backbone on unlabelled face crops (seed 000's premise): MoCo v2.

Seed 000 freezes a backbone pretrained without labels on many images and trains only its
heads; this objective makes such a backbone from any frame store (every frame, labels
ignored) or a folder of face crops. The run writes ``RUN/backbone.safetensors`` (the
backbone's own tensor names: ``model.weights=RUN/backbone.safetensors`` for ``entry`` or
any method with that backbone) and ``RUN/backbone.json``, the card of what it was
trained on.

Why MoCo v2 (Chen et al. 2020, arXiv:2003.04297) on a CPU budget: its negatives come from
a queue of past keys, so batches of 32-64 still see thousands of negatives (SimCLR needs
batches of thousands; BYOL and DINO have no negatives but need long schedules, and DINO
multi-crop views multiply the cost). The loss is :class:`MoCoLoss` (InfoNCE against a
queue, MoCo Eq. 1); the head is lightly's ``MoCoProjectionHead`` (2-layer MLP, MoCo v2's
head) and ``update_momentum`` moves the key encoder with a cosine schedule of the
momentum from ``ssl.momentum`` to 1.

Choices (configurable): the loss is symmetrised (both views act as query; our choice, as
lightly's MoCo examples do: twice the pairs per image on a small data set), and both
halves see the same queue, the keys of both views joining it after the step (adding one
view's keys between the halves would put each second-half query's own momentum key among
its negatives); the optimiser is the engine's Adam/AdamW with a one-cycle schedule (MoCo
v2: SGD, lr 0.03, cosine, 200 epochs, batch 256, which no CPU affords); augmentation
``moco_v2`` is MoCo v2's recipe (random resized crop 0.2-1, colour jitter
0.4/0.4/0.4/0.1 p 0.8, grey p 0.2, Gaussian blur p 0.5, flip).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor, nn

from antispoof._registry import METHODS
from antispoof.config import ModelConfig, Section
from antispoof.data.inputs import InputSpec
from antispoof.data.transforms import PIPELINES, Transform, build_transform
from antispoof.methods._pretraining import BACKBONE_CARD, BACKBONE_FILE
from antispoof.methods._pretraining import write_backbone as write_backbone_file
from antispoof.methods.base import EngineConfig, EngineTrainConfig, Method
from antispoof.models.ssl import SSLEncoder

__all__ = ["SSLConfig", "SSLMethod", "TwoViews", "FolderImages", "MoCoLoss", "queue_advice", "BACKBONE_FILE", "BACKBONE_CARD"]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@PIPELINES.register("moco_v2")
def _moco_v2(size: int) -> list[Any]:
    """MoCo v2's augmentation (Chen et al. 2020, Sec. 2): crop 0.2-1, colour jitter p 0.8, grey p 0.2, blur p 0.5, flip."""
    import albumentations as A

    return [
        A.RandomResizedCrop(size=(size, size), scale=(0.2, 1.0)),
        A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=0.8),
        A.ToGray(p=0.2),
        A.GaussianBlur(sigma_limit=(0.1, 2.0), p=0.5),
        A.HorizontalFlip(p=0.5),
    ]


class TwoViews:
    """Two independent draws of ``transform`` on one sample: ``image`` and ``image_view`` (the engine's seeding applies)."""

    def __init__(self, transform: Transform) -> None:
        self.transform = transform
        self.spec = transform.spec

    def seed(self, seed: int) -> None:
        self.transform.seed(seed)

    def apply(self, sample: Mapping[str, Any]) -> dict[str, Any]:
        first = self.transform.apply(sample)  # the second draw continues the same seeded generator: another view
        first["image_view"] = self.transform.apply(sample)["image"]
        return first


class FolderImages(torch.utils.data.Dataset):
    """Every image under a folder (recursively) as an unlabelled item: RGB ``uint8`` resized to ``size`` px, label -1."""

    def __init__(self, root: str | Path, size: int) -> None:
        self.root, self.size = Path(root), int(size)
        if not self.root.is_dir():
            raise FileNotFoundError(f"image folder {self.root} not found")
        self.paths = sorted(p for p in self.root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise ValueError(f"{self.root} holds no images ({', '.join(IMAGE_SUFFIXES)}); give a folder of face crops")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import cv2

        path = self.paths[index]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{path} is not a readable image; remove it from {self.root}")
        image = cv2.resize(image, (self.size, self.size), interpolation=cv2.INTER_AREA)[:, :, ::-1]
        return {"image": np.ascontiguousarray(image), "label": -1, "path": str(path.relative_to(self.root))}


class MoCoLoss(nn.Module):
    """InfoNCE against a queue of past keys, MoCo Eq. 1 (He et al. 2020, arXiv:1911.05722; MoCo v2 keeps it).

    ``L_q = -log exp(q.k+ / t) / (exp(q.k+ / t) + sum_{k- in queue} exp(q.k- / t))`` on unit
    vectors. ``forward(queries, keys)`` takes pairs: ``queries[i]`` ``[B, D]`` (with gradient)
    and its positives ``keys[i]`` ``[B, D]`` (momentum encoder, no gradient); it returns the
    mean of the pairs' losses, every pair against the same queue ``[size, D]``, then (in
    training mode) all the pairs' keys join the queue, oldest out. Our choices: the queue
    starts as random unit vectors, as lightly's memory bank does; it is not saved with the
    checkpoint (a resumed run starts a fresh one, as before); more keys than the queue holds
    keep the newest.
    """

    def __init__(self, temperature: float, size: int, dim: int) -> None:
        super().__init__()
        if temperature <= 0 or size < 1 or dim < 1:
            raise ValueError(f"MoCoLoss needs temperature > 0, size >= 1 and dim >= 1, got {temperature}, {size}, {dim}")
        self.temperature = float(temperature)
        self.register_buffer("queue", nn.functional.normalize(torch.randn(size, dim), dim=1), persistent=False)
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long), persistent=False)

    def infonce(self, query: Tensor, key: Tensor, queue: Tensor) -> Tensor:
        """Eq. 1 for one pair ``[B, D]``, ``[B, D]`` against ``queue`` ``[K, D]``: the mean over the batch."""
        q, k = nn.functional.normalize(query, dim=1), nn.functional.normalize(key.detach(), dim=1)
        logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / self.temperature
        return nn.functional.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))

    def forward(self, queries: list[Tensor] | tuple[Tensor, ...], keys: list[Tensor] | tuple[Tensor, ...]) -> Tensor:
        if len(queries) != len(keys) or not queries:
            raise ValueError(f"MoCoLoss takes pairs: as many queries as keys (at least one), got {len(queries)} and {len(keys)}")
        queue = self.queue.clone()  # every pair sees the queue as the step found it
        loss = torch.stack([self.infonce(q, k, queue) for q, k in zip(queries, keys)]).mean()
        if self.training:
            self.enqueue(torch.cat([nn.functional.normalize(k.detach(), dim=1) for k in keys]))
        return loss

    @torch.no_grad()
    def enqueue(self, keys: Tensor) -> None:
        """``keys`` ``[N, D]`` replace the oldest entries (a ring); of more than the queue holds, the newest stay."""
        size = len(self.queue)
        keys = keys[-size:]
        slots = (int(self.pointer) + torch.arange(len(keys), device=keys.device)) % size
        self.queue[slots] = keys.to(self.queue.dtype)
        self.pointer.fill_((int(self.pointer) + len(keys)) % size)


def queue_advice(images: int, batch_size: int, queue_size: int) -> str | None:
    """None when ``queue_size`` fits ``images`` (at most ``images - batch_size``), else what to change, as overrides.

    Our rule: a queue holding more keys than the images trained on between two visits of an
    image holds that image's own old keys as its negatives. The advice keeps a queue of at
    least one step's keys (``2 * batch_size``, both views), else gives a smaller batch.
    """
    room = images - batch_size
    if queue_size <= room:
        return None
    head = (f"ssl.queue_size={queue_size} does not fit {images} images with train.batch_size={batch_size}: the queue would "
            "still hold keys of the images being trained on, as their own negatives, and the loss stalls at chance; ")
    if room >= 2 * batch_size:
        return head + f"give ssl.queue_size={room} or less, or more images"
    batch = images // 3  # the largest batch whose queue, images - batch, still holds one step's keys (2 * batch)
    if batch < 1:
        return head + f"{images} images are too few for MoCo; give at least 3"
    return head + (f"give a smaller batch with a queue that fits, train.batch_size={batch} ssl.queue_size={images - batch}, "
                   "or more images")


class SSLModelConfig(ModelConfig):
    """The backbone to pretrain and its projection head."""

    method: str = Field("ssl", description="method name")
    backbone: str = Field("tf_efficientnet_lite0", description="backbone to pretrain (timm name or registered)")
    projection_hidden: int = Field(1024, ge=8, description="hidden width of the projection MLP (MoCo v2: 2048)")
    projection_dim: int = Field(128, ge=8, description="output width of the projection (MoCo v2: 128)")


class SSLSettings(Section):
    """The objective and the unlabelled data."""

    objective: Literal["moco_v2"] = Field("moco_v2", description="self-supervised objective (see the module doc)")
    temperature: float = Field(0.2, gt=0, description="InfoNCE temperature (MoCo v2: 0.2)")
    queue_size: int = Field(4096, ge=1, description="negatives kept in the queue (MoCo: 65536; small data needs fewer)")
    momentum: float = Field(0.99, gt=0, lt=1, description="start of the momentum encoder's cosine schedule to 1 (MoCo: 0.999)")
    folder: Path | None = Field(None, description="a folder of face-crop images to train on instead of the frame store")
    splits: list[Literal["train", "dev", "test"]] = Field(
        default_factory=lambda: ["train", "dev"],
        description="splits of the frame store whose frames are used (labels ignored); test stays unseen by default")


class SSLTrainConfig(EngineTrainConfig):
    """CPU defaults: Adam with a one-cycle schedule (MoCo v2: SGD lr 0.03, cosine, batch 256)."""

    lr: float = Field(1e-3, gt=0, description="peak learning rate")
    lr_schedule: Literal["constant", "onecycle", "exponential", "warmup_step"] = Field("onecycle", description="schedule")
    weight_decay: float = Field(1e-4, ge=0, description="weight decay (MoCo: 1e-4)")
    augment: str = Field("moco_v2", description="augmentation of each view")
    limit_val_batches: int | float = Field(0, description="no labels, no validation")


class SSLConfig(EngineConfig):
    """A self-supervised pretraining run."""

    model: SSLModelConfig = Field(default_factory=SSLModelConfig, description="backbone and projection head")
    ssl: SSLSettings = Field(default_factory=SSLSettings, description="objective and data")
    train: SSLTrainConfig = Field(default_factory=SSLTrainConfig, description="how the run trains")


@METHODS.register("ssl")
class SSLMethod(Method):
    """MoCo v2 on a backbone (see the module doc); ``network()`` is the backbone, written as ``backbone.safetensors``."""

    config_schema = SSLConfig
    kind: ClassVar[Literal["detector", "pretraining"]] = "pretraining"

    def __init__(self, config: SSLConfig) -> None:
        super().__init__(config)
        from lightly.models.modules import MoCoProjectionHead
        from lightly.models.utils import deactivate_requires_grad

        m, s = config.model, config.ssl
        self.encoder = SSLEncoder(m.backbone, weights=m.weights)
        self.head = MoCoProjectionHead(self.encoder.num_features, m.projection_hidden, m.projection_dim)
        self.encoder_momentum = copy.deepcopy(self.encoder)
        self.head_momentum = copy.deepcopy(self.head)
        deactivate_requires_grad(self.encoder_momentum)
        deactivate_requires_grad(self.head_momentum)
        self.criterion = MoCoLoss(s.temperature, s.queue_size, m.projection_dim)

    def network(self) -> nn.Module:
        return self.encoder

    def score(self, batch: dict[str, Any]) -> Tensor:
        raise TypeError("ssl pretrains a backbone and scores nothing; train a method on RUN/backbone.safetensors")

    def train_transform(self, spec: InputSpec) -> TwoViews:
        return TwoViews(build_transform(self.config.train.augment, spec))

    def training_data(self, spec: InputSpec) -> tuple[Any, None]:
        """The folder's images, or the chosen splits of the frame store (every frame, labels ignored)."""
        s = self.config.ssl
        if s.folder is not None:
            data: Any = FolderImages(s.folder, spec.crop_size)
        else:
            from torch.utils.data import ConcatDataset

            from antispoof.data._cache import store_for
            from antispoof.data.store import FrameDataset

            d = self.config.data
            store = store_for(d.dataset, d.root, d.protocol, size=spec.crop_size, store=d.store, cache_dir=d.cache_dir,
                              frames_per_video=d.frames_per_video, progress=self.config.train.progress)
            parts = [FrameDataset.for_spec(store, split, spec, exclude_pai=d.exclude_attacks, exclude_domains=d.exclude_domains)
                     for split in s.splits]
            parts = [p for p in parts if len(p)]
            if not parts:
                raise ValueError(f"the frame store {store} has no frames in splits {s.splits}")
            data = parts[0] if len(parts) == 1 else ConcatDataset(parts)
        advice = queue_advice(len(data), self.config.train.batch_size, s.queue_size)
        if advice is not None:
            raise ValueError(advice)
        log.info("ssl: %d unlabelled images from %s", len(data), s.folder or "the frame store")
        self.trained_on = {"images": len(data), "folder": str(s.folder) if s.folder else None,
                           "dataset": self.config.data.dataset, "splits": list(s.splits) if s.folder is None else None}
        return data, None

    def _momentum(self) -> float:
        from lightly.utils.scheduler import cosine_schedule

        trainer = getattr(self, "_trainer", None)
        total = int(trainer.estimated_stepping_batches) if trainer is not None else 1
        return cosine_schedule(int(self.global_step), max(total, 1), self.config.ssl.momentum, 1.0)

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        from lightly.models.utils import update_momentum

        m = self._momentum()
        if self.training:
            update_momentum(self.encoder, self.encoder_momentum, m)
            update_momentum(self.head, self.head_momentum, m)
        views = (batch["image"], batch["image_view"])
        queries = [self.head(self.encoder(v)) for v in views]
        with torch.no_grad():
            keys = [self.head_momentum(self.encoder_momentum(v)) for v in views]
        loss = self.criterion(queries, keys[::-1])  # each view's query against the other view's key, one queue
        return loss, {"momentum": m}

    def validation_loss(self, batch: dict[str, Any]) -> Tensor:
        raise TypeError("ssl has no labelled validation; train.limit_val_batches stays 0")

    def on_train_end(self) -> None:
        """Write the backbone file and its card into the run folder."""
        if self.trainer.is_global_zero:
            write_backbone(self, Path(self.trainer.default_root_dir))


def write_backbone(method: SSLMethod, run_dir: Path) -> Path:
    """``run_dir/backbone.safetensors`` (the backbone's own tensor names) and ``backbone.json`` (what it learnt from)."""
    c = method.config
    facts = {"backbone": c.model.backbone, "objective": c.ssl.objective, "store": str(c.data.store) if c.data.store else None,
             "excluded_attacks": list(c.data.exclude_attacks), "excluded_domains": list(c.data.exclude_domains)}
    return write_backbone_file(method, method.encoder.backbone, run_dir, facts, f"model.backbone={c.model.backbone}")
