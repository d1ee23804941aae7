"""Two test-only methods that prove the engine holds more than one RGB frame before the real ones arrive.

- ``toy_modal``: RGB + IR (1 channel, [-1, 1]) + Depth (3 channels) read as 32 px centre
  crops of 40 px crops; one small conv branch per modality; the explanation is a dense
  spoof-cue map ``[B, H, W]`` beside the score.
- ``toy_clip``: clips of 4 frames; a per-frame conv, mean over time; live and spoof
  resampled 1:1 by the sampler hook, mixup in training and none in validation (the
  ``validation_loss`` hook), and a per-sample cue probability.

Importing this module registers both methods and their networks. They are not in the
package: nothing outside the tests can reach them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field
from torch import Tensor, nn
from torch.nn import functional as F

from antispoof._registry import METHODS, NETWORKS
from antispoof.config import ModelConfig
from antispoof.data.inputs import InputSpec, ModalitySpec
from antispoof.faces.base import Face
from antispoof.methods.base import EngineConfig, Method
from antispoof.data.samplers import BalancedSampler


def _branch(channels: int, width: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.Conv2d(width, width, 3, padding=1), nn.ReLU())


@NETWORKS.register("toy_modal_net")
class ToyModalNet(nn.Module):
    """One conv branch per modality, features concatenated; a spoof logit and a dense spoof-cue map."""

    def __init__(self, channels: tuple[int, ...] = (3, 1, 3), width: int = 6) -> None:
        super().__init__()
        self.arch: dict[str, Any] = {"channels": list(channels), "width": width}
        self.keys = ("image", "ir", "depth")[: len(channels)]
        self.branches = nn.ModuleList([_branch(c, width) for c in channels])
        self.cue = nn.Conv2d(width * len(channels), 1, 1)
        self.head = nn.Linear(width * len(channels), 1)

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        x = torch.cat([b(batch[k]) for b, k in zip(self.branches, self.keys)], dim=1)
        return self.head(x.mean(dim=(2, 3))).squeeze(1), self.cue(x).squeeze(1)

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        logit, cue = self.forward(batch)
        return {"score": torch.sigmoid(-logit), "spoof_map": torch.sigmoid(cue)}


@NETWORKS.register("toy_clip_net")
class ToyClipNet(nn.Module):
    """A per-frame conv over ``[B, T, 3, H, W]`` clips, mean over time, a spoof logit and a motion cue."""

    def __init__(self, width: int = 6) -> None:
        super().__init__()
        self.arch: dict[str, Any] = {"width": width}
        self.frame = _branch(3, width)
        self.head = nn.Linear(width, 2)

    def forward(self, clips: Tensor) -> Tensor:
        b, t = clips.shape[:2]
        x = self.frame(clips.reshape(b * t, *clips.shape[2:])).mean(dim=(2, 3))
        return self.head(x.reshape(b, t, -1).mean(dim=1))

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        logits = torch.sigmoid(self.forward(batch["image"]))
        return {"score": 1.0 - logits[:, 0], "motion": logits[:, 1]}


class ToyModelConfig(ModelConfig):
    method: str = Field("toy_modal", description="method name")
    backbone: str = Field("none", description="no backbone: the toy networks are their own")
    width: int = Field(6, ge=1, description="channels of each conv")


class ToyModalConfig(EngineConfig):
    model: ToyModelConfig = Field(default_factory=ToyModelConfig, description="network")


class ToyClipModelConfig(ToyModelConfig):
    method: str = Field("toy_clip", description="method name")


class ToyClipConfig(EngineConfig):
    model: ToyClipModelConfig = Field(default_factory=ToyClipModelConfig, description="network")


def _spoof(batch: dict[str, Any]) -> Tensor:
    return 1.0 - batch["label"].float()


@METHODS.register("toy_modal")
class ToyModalMethod(Method):
    """Test-only: BCE on the spoof logit plus the cue map pushed to zero on live samples."""

    config_schema = ToyModalConfig

    def __init__(self, config: ToyModalConfig) -> None:
        super().__init__(config)
        self.net = ToyModalNet(width=config.model.width)

    @classmethod
    def input_spec_for(cls, config: EngineConfig) -> InputSpec:
        size = config.data.image_size
        return InputSpec(
            modalities=(ModalitySpec(name="rgb", channels=3, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
                        ModalitySpec(name="ir", channels=1, mean=(0.5,), std=(0.5,)),
                        ModalitySpec(name="depth", channels=3, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))),
            crop_size=config.data.crop_size or size + 8, input_size=size, fit="center_crop")

    def network(self) -> nn.Module:
        return self.net

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        logit, cue = self.net(batch)
        bce = F.binary_cross_entropy_with_logits(logit, _spoof(batch))
        live = batch["label"].float()[:, None, None]
        cue_live = (torch.sigmoid(cue) * live).mean()
        return bce + cue_live, {"bce": bce.detach()}


@METHODS.register("toy_clip")
class ToyClipMethod(Method):
    """Test-only: mixup of two clips in training (soft spoof target), plain BCE in validation; 1:1 sampling."""

    config_schema = ToyClipConfig

    def __init__(self, config: ToyClipConfig) -> None:
        super().__init__(config)
        self.net = ToyClipNet(width=config.model.width)

    @classmethod
    def input_spec_for(cls, config: EngineConfig) -> InputSpec:
        return InputSpec.rgb(config.data.image_size, clip_len=4, clip_stride=1)

    def network(self) -> nn.Module:
        return self.net

    def train_sampler(self, labels: np.ndarray, seed: int, num_replicas: int, rank: int) -> BalancedSampler:
        return BalancedSampler(labels, seed, num_replicas, rank)

    def _loss(self, clips: Tensor, spoof: Tensor) -> Tensor:
        logits = self.net(clips)
        return F.binary_cross_entropy_with_logits(logits[:, 0], spoof)

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        clips, spoof = batch["image"], _spoof(batch)
        lam = 0.7
        mixed = lam * clips + (1 - lam) * clips.flip(0)
        return self._loss(mixed, lam * spoof + (1 - lam) * spoof.flip(0)), {}

    def validation_loss(self, batch: dict[str, Any]) -> Tensor:
        return self._loss(batch["image"], _spoof(batch))


class FixedBox:
    """A stand-in detector that returns one given face box (synthetic faces are not real faces for blazeface)."""

    needs_annotation = False

    def __init__(self, box: tuple[float, float, float, float]) -> None:
        self.box = tuple(float(v) for v in box)

    def detect(self, image: np.ndarray, annotation: Any = None) -> list[Face]:
        return [Face(self.box, 1.0)]
