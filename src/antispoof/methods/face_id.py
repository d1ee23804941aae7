"""Face-identity pretraining of the face ResNet (seed 001's initialisation, made here): ``antispoof pretrain face-id``.

Seed 001's main finding is that branches initialised from face recognition transfer
best (Table 3: ImageNet 92.12 against CASIA-WebFace 99.80 TPR at FPR 1e-4). No
face-recognition weights can be downloaded here, so this objective makes them from any
frame store whose ``subject`` column names identities (the synthetic generator's
subjects; a user's face dataset prepared with ``antispoof prepare``): the
:class:`~antispoof.models.face_resnet.FaceResNet` (stem + res1-res4, GAP) learns to tell
the subjects apart. The run writes ``RUN/backbone.safetensors`` (the FaceResNet's own
tensor names: ``model.weights=RUN/backbone.safetensors`` of ``multimodal``, which maps
stem/res1-res3 into each branch, res2-res4 into the aggregation blocks and res4 into
res4) and ``RUN/backbone.json`` (what it learnt from).

The identity head (``face_id.head``):
- ``softmax``: a linear layer and cross-entropy over the identities (the authors' code
  pretrains with it, ``cce``, as well as with a margin);
- ``arcface``: additive angular margin, Deng et al. 2019 (ArcFace) Eq. 3:
  ``-log(e^{s cos(theta_y + m)} / (e^{s cos(theta_y + m)} + sum_{j != y} e^{s cos theta_j}))``
  with ``cos theta_j`` the cosine between the L2-normalised feature and class weight j.

Choices (configurable): bona fide frames only by default (a face-recognition set holds
live faces; ``face_id.bonafide_only=false`` adds the attacks, which show the same
identities); the splits ``face_id.splits`` (default ``[train]``: the anti-spoofing dev
and test subjects stay unseen when the store is the one the detector trains on; a store
of other people, e.g. a second synthetic dataset generated with another seed, may give
every split, as the paper's face datasets are other people, Table 2); the centre crop + flip of
seed 001 Sec. 5.2 (it pretrained its gender network with the same recipe).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor, nn
from torch.nn import functional as F

from antispoof._registry import METHODS
from antispoof.config import ModelConfig, Section
from antispoof.data.inputs import InputSpec
from antispoof.methods._pretraining import BACKBONE_CARD, BACKBONE_FILE
from antispoof.methods._pretraining import write_backbone as write_backbone_file
from antispoof.methods.base import EngineConfig, EngineTrainConfig, Method
from antispoof.methods.multimodal import PAPER_CROP, PAPER_INPUT, modality_spec, paper_transform
from antispoof.models.face_resnet import BACKBONE_LAYOUTS, FaceResNet

__all__ = ["FaceIDConfig", "FaceIDMethod", "ArcMargin", "arcface_logits", "BACKBONE_FILE", "BACKBONE_CARD"]

log = logging.getLogger(__name__)



def arcface_logits(features: Tensor, weight: Tensor, labels: Tensor | None, s: float, m: float) -> Tensor:
    """ArcFace logits, Deng et al. 2019 Eq. 3: ``s cos(theta_j)``, with ``s cos(theta_y + m)`` at the true class ``y``.

    ``features [B, D]``, ``weight [K, D]``, ``labels [B]`` (None: no margin, inference).
    Cross-entropy of these logits is Eq. 3's loss. Where ``theta_y + m`` passes pi the
    margin is not applied (cos is no longer decreasing there; Deng et al.'s "easy margin").
    """
    cosine = F.linear(F.normalize(features), F.normalize(weight)).clamp(-1 + 1e-7, 1 - 1e-7)
    if labels is None or m == 0:
        return s * cosine
    theta = torch.acos(cosine.gather(1, labels.view(-1, 1)))
    target = torch.where(theta + m < math.pi, torch.cos(theta + m), torch.cos(theta))
    return s * cosine.scatter(1, labels.view(-1, 1), target)


class ArcMargin(nn.Module):
    """The ArcFace classification layer (Deng et al. 2019 Eq. 3): ``[B, D] -> [B, K]`` logits (see :func:`arcface_logits`)."""

    def __init__(self, features: int, classes: int, s: float = 30.0, m: float = 0.5) -> None:
        super().__init__()
        if s <= 0 or not 0 <= m < math.pi:
            raise ValueError(f"ArcFace needs a scale s > 0 and a margin 0 <= m < pi, got s={s}, m={m}")
        self.weight = nn.Parameter(torch.empty(classes, features))
        nn.init.xavier_uniform_(self.weight)
        self.s, self.m = float(s), float(m)

    def forward(self, features: Tensor, labels: Tensor | None = None) -> Tensor:
        return arcface_logits(features, self.weight, labels, self.s, self.m)


class FaceIDModelConfig(ModelConfig):
    """The face ResNet to pretrain."""

    method: str = Field("face_id", description="method name")
    backbone: str = Field("face_resnet34", description="the face ResNet of seed 001 (multimodal's branch network): "
                                                       "face_resnet34 or face_resnet50")
    layers: list[int] | None = Field(None, description="blocks per stage (as multimodal's model.layers); null = the "
                                                       "backbone's own")
    width: float = Field(1.0, gt=0, le=4, description="channel multiplier (as multimodal's model.width)")

    @model_validator(mode="after")
    def _backbone_layers(self) -> FaceIDModelConfig:
        if self.backbone in BACKBONE_LAYOUTS and self.layers is None:
            self.layers = list(BACKBONE_LAYOUTS[self.backbone][0])
        return self


class FaceIDSettings(Section):
    """The identity objective and which frames it reads."""

    head: Literal["softmax", "arcface"] = Field("softmax", description="softmax cross-entropy, or ArcFace's angular margin")
    scale: float = Field(30.0, gt=0, description="ArcFace scale s")
    margin: float = Field(0.5, ge=0, lt=3.14, description="ArcFace additive angular margin m (radians)")
    bonafide_only: bool = Field(True, description="learn from bona fide frames only (attacks show the same identities)")
    splits: list[Literal["train", "dev", "test"]] = Field(default_factory=lambda: ["train"],
                                                          description="splits of the frame store whose subjects are learnt")


class FaceIDTrainConfig(EngineTrainConfig):
    """Adam with a cosine-like one-cycle schedule on a CPU budget; the centre crop + flip of seed 001."""

    optimizer: Literal["adamw", "adam"] = Field("adam", description="optimizer")
    lr: float = Field(3e-3, gt=0, description="peak learning rate")
    weight_decay: float = Field(5e-4, ge=0, description="weight decay")
    lr_schedule: Literal["constant", "onecycle", "exponential", "warmup_step"] = Field("onecycle", description="schedule")
    augment: str = Field("center_crop_flip", description="seed 001 Sec. 5.2: centre crop and flip")
    limit_val_batches: int | float = Field(0, description="no validation: the dev subjects are other identities")


class FaceIDConfig(EngineConfig):
    """A face-identity pretraining run."""

    model: FaceIDModelConfig = Field(default_factory=FaceIDModelConfig, description="the face ResNet")
    face_id: FaceIDSettings = Field(default_factory=FaceIDSettings, description="objective and data")
    train: FaceIDTrainConfig = Field(default_factory=FaceIDTrainConfig, description="how the run trains")


@METHODS.register("face_id")
class FaceIDMethod(Method):
    """Identity classification of the store's subjects with a face ResNet (see the module docstring)."""

    config_schema: ClassVar[type[EngineConfig]] = FaceIDConfig
    kind: ClassVar[Literal["detector", "pretraining"]] = "pretraining"

    def __init__(self, config: FaceIDConfig) -> None:
        super().__init__(config)
        m = config.model
        if m.backbone not in BACKBONE_LAYOUTS:
            raise ValueError(f"face_id pretrains the face ResNet: model.backbone={' or '.join(BACKBONE_LAYOUTS)} "
                             f"(got {m.backbone!r})")
        self.encoder = FaceResNet(m.layers, width=m.width, block=BACKBONE_LAYOUTS[m.backbone][1])
        if m.weights is not None:
            from antispoof.models.face_resnet import from_caffe_layout
            from antispoof.weights import load_state

            missing, unexpected = self.encoder.load_state_dict(from_caffe_layout(load_state(m.weights)), strict=False)
            log.info("face_id: continuing from %s (%d tensors missing, %d unexpected)", m.weights, len(missing), len(unexpected))
        self.identities: list[str] = []
        self.head: nn.Module | None = None

    @classmethod
    def input_spec_for(cls, config: EngineConfig) -> InputSpec:
        """RGB, as multimodal's RGB branch reads it: centre crops of 125/112 of the input, ImageNet statistics."""
        size = config.data.image_size
        crop = config.data.crop_size or round(size * PAPER_CROP / PAPER_INPUT)
        return InputSpec(modalities=(modality_spec("rgb"),), crop_size=crop, input_size=size, fit="center_crop")

    def network(self) -> nn.Module:
        return self.encoder

    def score(self, batch: dict[str, Any]) -> Tensor:
        raise TypeError("face_id pretrains a backbone and scores nothing; train multimodal on RUN/backbone.safetensors")

    def train_transform(self, spec: InputSpec) -> Any:
        return paper_transform(self.config.train.augment, spec)  # multimodal's centre crop + flip

    def make_head(self, identities: list[str]) -> None:
        """The identity classifier for ``identities`` (their order gives the class indices)."""
        if len(identities) < 2:
            raise ValueError(f"face-identity pretraining needs at least 2 subjects, the data hold {len(identities)}")
        self.identities = list(identities)
        f = self.config.face_id
        features = self.encoder.num_features
        self.head = ArcMargin(features, len(identities), f.scale, f.margin) if f.head == "arcface" else nn.Linear(features, len(identities))

    def training_data(self, spec: InputSpec) -> tuple[Any, None]:
        """The chosen splits' frames (bona fide only by default) of the store; the classes are their subjects."""
        from torch.utils.data import ConcatDataset, Subset

        from antispoof.data.base import BONAFIDE
        from antispoof.data._cache import store_for
        from antispoof.data.store import FrameDataset

        d, f = self.config.data, self.config.face_id
        store = store_for(d.dataset, d.root, d.protocol, size=spec.crop_size, store=d.store, cache_dir=d.cache_dir,
                          frames_per_video=d.frames_per_video, progress=self.config.train.progress)
        parts, subjects = [], []
        for split in f.splits:
            data = FrameDataset.for_spec(store, split, spec, exclude_pai=d.exclude_attacks, exclude_domains=d.exclude_domains)
            keep = (data.rows["label"] == BONAFIDE) if f.bonafide_only else data.rows["label"].notna()
            positions = [int(i) for i in keep.to_numpy().nonzero()[0]]
            if positions:
                parts.append(Subset(data, positions))
                subjects += data.rows["subject"].iloc[positions].astype(str).tolist()
        if not parts:
            raise ValueError(f"the frame store {store} has no {'bona fide ' if f.bonafide_only else ''}frames in splits {f.splits}")
        self.make_head(sorted(set(subjects)))
        counts = {s: subjects.count(s) for s in self.identities}
        log.info("face_id: %d frames of %d identities (%d-%d frames each) from %s", len(subjects), len(self.identities),
                 min(counts.values()), max(counts.values()), store)
        self.trained_on = {"frames": len(subjects), "identities": len(self.identities), "splits": list(f.splits),
                           "bonafide_only": f.bonafide_only, "store": str(store)}
        return (parts[0] if len(parts) == 1 else ConcatDataset(parts)), None

    def identity_labels(self, batch: dict[str, Any]) -> Tensor:
        """The class index of each sample's subject."""
        index = {s: i for i, s in enumerate(self.identities)}
        try:
            ids = [index[str(s)] for s in batch["subject"]]
        except KeyError as err:
            raise KeyError(f"subject {err} is not one of the {len(index)} identities the head was built for") from None
        return torch.tensor(ids, dtype=torch.long, device=batch["image"].device)

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        if self.head is None:
            raise RuntimeError("the identity head is built from the training data: call training_data (the engine does) "
                               "or make_head(identities) first")
        labels = self.identity_labels(batch)
        features = self.encoder(batch["image"])
        logits = self.head(features, labels) if isinstance(self.head, ArcMargin) else self.head(features)
        loss = F.cross_entropy(logits, labels)
        plain = self.head(features) if isinstance(self.head, ArcMargin) else logits
        return loss, {"identity_acc": (plain.argmax(1) == labels).float().mean().detach()}

    def validation_loss(self, batch: dict[str, Any]) -> Tensor:
        raise TypeError("face_id has no validation (its dev subjects are other identities); train.limit_val_batches stays 0")

    def on_train_end(self) -> None:
        """Write the backbone file and its card into the run folder."""
        if self.trainer.is_global_zero:
            write_backbone(self, Path(self.trainer.default_root_dir))


def write_backbone(method: FaceIDMethod, run_dir: Path) -> Path:
    """``run_dir/backbone.safetensors`` (the FaceResNet's tensor names) and ``backbone.json`` (what it learnt from)."""
    c = method.config
    facts = {"backbone": c.model.backbone, "layers": list(c.model.layers), "width": c.model.width,
             "objective": f"face identity ({c.face_id.head})", "identities": len(method.identities)}
    return write_backbone_file(method, method.encoder, run_dir, facts,
                               f"model.backbone={c.model.backbone} model.layers={list(c.model.layers)} "
                               f"model.width={c.model.width}")
