"""PDLE (seed 003): pseudo-discretized label encoding, the expected liveness score, domain-adversarial training.

Training batch: the untouched samples plus one patch-exchanged copy of every sample whose
batch holds an image of the opposite label (the sampler hook deals live and spoof 1:1, so
every batch does; the paper draws the donor from the whole training set). The network
(:class:`antispoof.models.pdle.PDLENet`) regresses the live share of an image with its
expected liveness score rho; the loss is Eq. 6, ``alpha * MSE(rho, label) + (1 - alpha)
* L_adv`` (Eq. 5 without its stray minus sign), L_adv the cross-entropy of a domain
discriminator behind a gradient reversal layer.

Choices where the paper is silent (configurable):
- the exchanged rectangle has whole-pixel sides ``round(W sqrt(lambda))`` x ``round(H
  sqrt(lambda))`` placed wholly inside the image, and its label is the *actual* live
  share of the result (the pasted area over the image), within ``1 / min(H, W)`` of the
  discretised lambda;
- the adversarial term is taken on the untouched samples only (an exchanged image holds
  two domains); its domain is the batch column ``pdle.domain_key`` (the generator's
  capture domain, a dataset name or a session), names numbered in order of appearance up
  to ``pdle.max_domains``;
- the discriminator is two linear layers (hidden ``pdle.discriminator_hidden``, ReLU,
  dropout 0.5) as in Ganin & Lempitsky's domain classifier; reversal coefficient
  ``pdle.grl_coefficient`` = 1 (named apart from the patch ratio lambda);
- the randomness of the exchange comes from torch's global generator (seeded by the run;
  a resumed run draws other rectangles than the uninterrupted one would have).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor, nn
from torch.nn import functional as F

from antispoof._registry import METHODS
from antispoof.config import ModelConfig, Section
from antispoof.data.inputs import InputSpec
from antispoof.losses.gradient_reversal import GradientReversal
from antispoof.methods.base import EngineConfig, EngineTrainConfig, Method
from antispoof.models.pdle import PDLENet

__all__ = ["PDLEModelConfig", "PDLESettings", "PDLEConfig", "PDLEMethod", "patch_exchange"]


class PDLEModelConfig(ModelConfig):
    """The PDLE network."""

    method: str = Field("pdle", description="method name")
    backbone: str = Field("resnet18", description="encoder: any timm name (the paper: ResNet-18)")
    k: int = Field(10, ge=1, description="K, the discretisation level of Eq. 1 (the paper: 10)")
    outputs: Literal["k_plus_one", "k"] = Field("k_plus_one", description="FC outputs: K+1 levels c_0..c_K (Eq. 3) or K")
    drop_rate: float = Field(0.0, ge=0, lt=1, description="dropout before the FC")
    features: Literal["pooled", "stages"] = Field("pooled", description="what the FC reads: the pooled output (the paper) or "
                                                   "it plus the stages' channel mean/std (a departure for small frozen encoders)")
    freeze_encoder: bool = Field(False, description="freeze the encoder (not the paper, which fine-tunes it; a CPU budget)")


class PDLESettings(Section):
    """Patch exchange and the adversarial term (Eq. 1, 2, 6)."""

    alpha: float = Field(0.5, ge=0, le=1, description="Eq. 6 weight of the MSE term; 1 - alpha weighs L_adv")
    exchange: bool = Field(True, description="patch exchange on (off: plain regression to 0/1 labels, the ablation)")
    grl_coefficient: float = Field(1.0, ge=0, description="gradient reversal coefficient (Ganin & Lempitsky's lambda)")
    domain_key: str = Field("domain", description="batch column whose values are the domains (domain, session, ...)")
    max_domains: int = Field(16, ge=1, description="discriminator outputs; further domain names share the last one")
    discriminator_hidden: int = Field(256, ge=1, description="hidden width of the domain discriminator")


class PDLETrainConfig(EngineTrainConfig):
    """Seed 003 Sec. 3.2: Adam, lr 1e-4, weight decay 2e-4, x0.99 per epoch, batch 32, random crop + flip."""

    optimizer: Literal["adamw", "adam"] = Field("adam", description="the paper: Adam")
    lr: float = Field(1e-4, gt=0, description="the paper's learning rate")
    weight_decay: float = Field(2e-4, ge=0, description="the paper's weight decay")
    lr_schedule: Literal["constant", "onecycle", "exponential"] = Field("exponential", description="the paper: exponential decay")
    lr_gamma: float = Field(0.99, gt=0, le=1, description="the paper's per-epoch decay")
    augment: str = Field("crop_flip", description="the paper: random crop of the 256 px resize, horizontal flip")


class PDLEConfig(EngineConfig):
    """A run of PDLE."""

    model: PDLEModelConfig = Field(default_factory=PDLEModelConfig, description="network")
    pdle: PDLESettings = Field(default_factory=PDLESettings, description="patch exchange and adversarial term")
    train: PDLETrainConfig = Field(default_factory=PDLETrainConfig, description="how the run trains")


def patch_exchange(images: Tensor, labels: Tensor, k: int, generator: torch.Generator | None = None
                   ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """Seed 003 Eq. 1-2: one exchanged copy of each sample that has an opposite-label partner in the batch.

    ``images [B, C, H, W]``, ``labels [B]`` (1 live, 0 spoof, anything else skipped). For
    anchor a: u ~ U{1..K}, lambda = u / K, a donor b of the other label drawn from the
    batch, and a rectangle of about a lambda share of the area pasted from b into a.
    Returns ``(images [M, C, H, W], live share [M], facts)``: facts hold ``anchor``,
    ``donor``, ``lam`` and ``box`` (x0, y0, x1, y1) per exchanged sample.
    """
    b, _, h, w = images.shape
    live, spoof = torch.nonzero(labels == 1).flatten(), torch.nonzero(labels == 0).flatten()
    anchors = torch.cat([live, spoof]) if len(live) and len(spoof) else torch.zeros(0, dtype=torch.long)
    out, shares, donors, lams, boxes = [], [], [], [], []
    for a in anchors.tolist():
        pool = spoof if labels[a] == 1 else live
        d = int(pool[torch.randint(len(pool), (1,), generator=generator)])
        lam = int(torch.randint(1, k + 1, (1,), generator=generator)) / k
        rw, rh = min(w, max(1, round(w * lam**0.5))), min(h, max(1, round(h * lam**0.5)))
        x0 = int(torch.randint(w - rw + 1, (1,), generator=generator))
        y0 = int(torch.randint(h - rh + 1, (1,), generator=generator))
        mixed = images[a].clone()
        mixed[:, y0 : y0 + rh, x0 : x0 + rw] = images[d, :, y0 : y0 + rh, x0 : x0 + rw]
        pasted = rw * rh / (w * h)
        out.append(mixed)
        shares.append(1.0 - pasted if labels[a] == 1 else pasted)  # the live share of the exchanged image
        donors.append(d)
        lams.append(lam)
        boxes.append((x0, y0, x0 + rw, y0 + rh))
    facts = {"anchor": anchors, "donor": torch.tensor(donors, dtype=torch.long), "lam": torch.tensor(lams),
             "box": torch.tensor(boxes, dtype=torch.long).reshape(-1, 4)}
    stacked = torch.stack(out) if out else images[:0]
    return stacked, torch.tensor(shares, dtype=torch.float32, device=images.device), facts


@METHODS.register("pdle")
class PDLEMethod(Method):
    """PDLE (seed 003): patch exchange, expected-liveness regression (Eq. 5), GRL domain discriminator (Eq. 6)."""

    config_schema = PDLEConfig

    def __init__(self, config: PDLEConfig) -> None:
        super().__init__(config)
        m, p = config.model, config.pdle
        self.net = PDLENet(m.backbone, k=m.k, outputs=m.outputs, drop_rate=m.drop_rate, weights=m.weights,
                           features=m.features, freeze_encoder=m.freeze_encoder)
        if m.weights is None:
            import logging

            logging.getLogger(__name__).info("pdle: the %s encoder starts from random weights (give model.weights=FILE for "
                                             "ImageNet weights, as the paper uses)", m.backbone)
        self.discriminator = nn.Sequential(
            GradientReversal(p.grl_coefficient), nn.Linear(self.net.num_features, p.discriminator_hidden), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(p.discriminator_hidden, p.max_domains))
        self.domains: dict[str, int] = {}

    @classmethod
    def input_spec_for(cls, config: EngineConfig) -> InputSpec:
        """Crops stored at 256/224 of the input (the paper resizes to 256 and crops 224); centre crop at test."""
        size = config.data.image_size
        return InputSpec.rgb(size, crop_size=config.data.crop_size or round(size * 256 / 224), fit="center_crop")

    def network(self) -> nn.Module:
        return self.net

    def train_sampler(self, labels: np.ndarray, seed: int, num_replicas: int, rank: int) -> Any:
        from antispoof.data.samplers import BalancedSampler

        return BalancedSampler(labels, seed, num_replicas, rank)

    def domain_ids(self, batch: dict[str, Any]) -> Tensor:
        """The domain index of each sample (names numbered in order of appearance, capped at max_domains)."""
        key, cap = self.config.pdle.domain_key, self.config.pdle.max_domains
        if key not in batch:
            raise KeyError(f"pdle.domain_key={key!r} is not a batch column; the frame store gives "
                           f"{', '.join(sorted(k for k, v in batch.items() if isinstance(v, (list, tuple))))}")
        ids = []
        for name in batch[key]:
            if name not in self.domains:
                self.domains[str(name)] = min(len(self.domains), cap - 1)
            ids.append(self.domains[str(name)])
        return torch.tensor(ids, dtype=torch.long, device=batch["label"].device)

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        p = self.config.pdle
        images, labels = batch["image"], batch["label"].long()
        targets = labels.float()
        if p.exchange:
            mixed, shares, _ = patch_exchange(images, labels, self.config.model.k)
            images, targets = torch.cat([images, mixed]), torch.cat([targets, shares.to(targets.device)])
        rho, _, features = self.net(images)
        mse = F.mse_loss(rho, targets)
        untouched = len(labels)
        adversarial = F.cross_entropy(self.discriminator(features[:untouched]), self.domain_ids(batch))
        loss = p.alpha * mse + (1 - p.alpha) * adversarial
        return loss, {"mse": mse.detach(), "adversarial": adversarial.detach()}

    def validation_loss(self, batch: dict[str, Any]) -> Tensor:
        """The MSE of rho against the 0/1 labels, without exchange (the dev split is not mixed)."""
        rho, _, _ = self.net(batch["image"])
        return F.mse_loss(rho, batch["label"].float())
