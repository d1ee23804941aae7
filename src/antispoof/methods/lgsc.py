"""LGSC (seed 004): learning generalized spoof cues with a U-Net generator, live-only L1, triplets and an auxiliary classifier.

The generator (:class:`antispoof.models.lgsc.LGSCNet`) maps a face in [-1, 1] to a cue map
of the same size (Tanh); the loss is Eq. 9, ``5 L_r + 1 * sum_{E5, D1..D4} L_t + 5 L_a``:
L_r the L1 of live samples' cues (Eq. 6; pixel mean, as the authors' code, by default),
L_t the live-anchor batch-all triplet loss (Eq. 7, margin 0.5) on the L2-normalised
global-average-pooled features of E5 and D1-D4, L_a the cross-entropy of an auxiliary
classifier (dropout 0.5, from the authors' code) on the overlay image + cue (Eq. 8),
training only. The paper does not name the classifier's architecture (Sec. 3.4 says only
"the generated spoof cue maps C are added back to the input image I to form the overlaid
images S"); ResNet-18 is our choice, the encoder's architecture (Sec. 3.3: "We choose the
ResNet18 [12] pre-trained on ImageNet [10] as encoder E"), so one local ImageNet file can
start both (``model.classifier_weights``; built by :func:`~antispoof.models.backbones.create_classifier`). Live and spoof
are resampled 1:1 (Sec. 4.1; the sampler hook). The score is
1 - mean |cue| (Eq. 10's spoof score is the mean magnitude); the paper's spoof threshold
0.01 (Sec. 4.1) is liveness 0.99, but evaluation picks the threshold on dev. The mean |cue| map is
the explanation (``predict --save-explanations``).

Training refuses ``model.weights=null`` with a frozen encoder BatchNorm
(``model.freeze_encoder_bn=true``, the default, or ``model.freeze_encoder=true``, which
implies it): a random encoder's BatchNorm keeps its untrained statistics (mean 0,
variance 1) for the whole run. Refused rather than unfrozen with a warning, so that the
run's recorded config is what trained; :func:`check_encoder_freeze` names both ways out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field
from torch import Tensor, nn
from torch.nn import functional as F

from antispoof._registry import METHODS
from antispoof.config import ModelConfig, Section
from antispoof.data.inputs import InputSpec, ModalitySpec
from antispoof.losses import LiveAnchorTripletLoss, LiveCueL1Loss
from antispoof.methods.base import EngineConfig, EngineTrainConfig, Method
from antispoof.models.backbones import create_classifier
from antispoof.models.lgsc import LGSCNet

__all__ = ["LGSCModelConfig", "LGSCLossConfig", "LGSCConfig", "LGSCMethod", "check_encoder_freeze"]


class LGSCModelConfig(ModelConfig):
    """The spoof-cue generator and the auxiliary classifier."""

    method: str = Field("lgsc", description="method name")
    backbone: str = Field("resnet18", description="U-Net encoder: a timm name with five stages (seed 004 Sec. 3.3: ResNet-18)")
    norm: Literal["instance", "batch"] = Field("instance", description="decoder normalisation (the authors' code: instance)")
    freeze_encoder_bn: bool = Field(True, description="keep the encoder's BatchNorm statistics (the authors' code)")
    freeze_encoder: bool = Field(False, description="freeze the encoder's weights too (a departure: Sec. 4.1 trains end to end)")
    classifier: str = Field("resnet18", description="auxiliary classifier, a timm name (Sec. 3.4 names none; our choice: "
                                                    "ResNet-18, the encoder's architecture)")
    classifier_weights: Path | None = Field(None, description="local weights file of the auxiliary classifier (e.g. the "
                                                              "encoder's ImageNet file); null = random")
    classifier_drop_rate: float = Field(0.5, ge=0, lt=1, description="dropout of the auxiliary classifier (the authors' code)")
    input: Literal["patches", "resized"] = Field(
        "patches", description="patches: data.image_size patches cut from faces at native resolution (seed 004 Sec. 4.4, with "
                               "train.augment=patch and a store prepared with --native); resized: the face resized to "
                               "data.image_size (Table 5's 'resized input' row)")
    test_patches: int = Field(3, ge=1, description="input=patches: the score is the mean over a test_patches x test_patches "
                                                   "grid of patches covering the face (our reading: Sec. 3.5 scores the cue "
                                                   "map of a test sample and names no patching)")


class LGSCLossConfig(Section):
    """Eq. 9 weights and the choices of Eq. 6-7."""

    weight_l1: float = Field(5.0, ge=0, description="alpha_1 of Eq. 9")
    weight_triplet: float = Field(1.0, ge=0, description="alpha_2 of Eq. 9 (each of E5, D1..D4)")
    weight_aux: float = Field(5.0, ge=0, description="alpha_3 of Eq. 9")
    margin: float = Field(0.5, ge=0, description="triplet margin m")
    l1_reduction: Literal["pixel_mean", "sample_sum"] = Field("pixel_mean", description="Eq. 6 as the authors' code (pixel_mean) or the text (sample_sum)")


class LGSCTrainConfig(EngineTrainConfig):
    """Seed 004 Sec. 4.1: Adam lr 1e-3, warm-up over the first epoch, x0.95 every 600 steps, batch 32, about 20 epochs."""

    optimizer: Literal["adamw", "adam"] = Field("adam", description="Adam (seed 004 Sec. 4.1)")
    lr: float = Field(1e-3, gt=0, description="initial learning rate 1e-3 (Sec. 4.1)")
    weight_decay: float = Field(0.0, ge=0, description="none (Sec. 4.1 names no weight decay)")
    lr_schedule: Literal["constant", "onecycle", "exponential", "warmup_step"] = Field(
        "warmup_step", description="warm-up in the first epoch, then step decay (Sec. 4.1)")
    lr_gamma: float = Field(0.95, gt=0, le=1, description="decay factor 0.95 (Sec. 4.1)")
    lr_step_size: int = Field(600, ge=1, description="decay every 600 training steps (Sec. 4.1)")
    max_epochs: int = Field(20, ge=1, description="'converges in 20 epochs' (Sec. 4.1)")
    augment: str = Field("patch", description="augmentation pipeline: patch, random patches at native resolution (Sec. 4.4)")


class LGSCConfig(EngineConfig):
    """A run of LGSC."""

    model: LGSCModelConfig = Field(default_factory=LGSCModelConfig, description="network")
    loss: LGSCLossConfig = Field(default_factory=LGSCLossConfig, description="Eq. 6-9")
    train: LGSCTrainConfig = Field(default_factory=LGSCTrainConfig, description="how the run trains")


def check_encoder_freeze(model: LGSCModelConfig) -> None:
    """Refuse training a random encoder (``model.weights=null``) whose BatchNorm statistics stay frozen.

    ``model.freeze_encoder_bn`` (the authors' code) keeps the *pretrained* statistics; on a
    random encoder it keeps mean 0 and variance 1 for the whole run, which no pretrained
    network has (the paper's encoder: Sec. 3.3, "ResNet18 [12] pre-trained on ImageNet [10]").
    ``model.freeze_encoder`` implies the BatchNorm freeze and is refused likewise.
    """
    if model.weights is not None or not (model.freeze_encoder_bn or model.freeze_encoder):
        return
    keys = [k for k, on in (("model.freeze_encoder_bn", model.freeze_encoder_bn),
                            ("model.freeze_encoder", model.freeze_encoder)) if on]
    raise ValueError(
        f"model.weights=null with {' and '.join(f'{k}=true' for k in keys)} would train LGSC on a random "
        f"{model.backbone} encoder whose BatchNorm statistics stay at their untrained values (mean 0, variance 1). "
        f"Give model.weights=FILE (a local ImageNet {model.backbone} file, as the paper's encoder), or train the "
        f"encoder from scratch with model.freeze_encoder_bn=false model.freeze_encoder=false.")


@METHODS.register("lgsc")
class LGSCMethod(Method):
    """LGSC (seed 004): cue generator + auxiliary classifier, Eq. 9; score 1 - mean |cue|; the cue map explains."""

    config_schema = LGSCConfig

    def __init__(self, config: LGSCConfig) -> None:
        super().__init__(config)
        m, lc = config.model, config.loss
        self.net = LGSCNet(m.backbone, weights=m.weights, norm=m.norm, freeze_encoder_bn=m.freeze_encoder_bn,
                           freeze_encoder=m.freeze_encoder)
        self.classifier = create_classifier(m.classifier, num_classes=2, weights=m.classifier_weights,
                                            drop_rate=m.classifier_drop_rate)
        self.l1, self.triplet = LiveCueL1Loss(lc.l1_reduction), LiveAnchorTripletLoss(lc.margin)

    @classmethod
    def from_config(cls, config: EngineConfig) -> LGSCMethod:
        """The method to train: refuses a random encoder with frozen BatchNorm statistics (:func:`check_encoder_freeze`)."""
        check_encoder_freeze(config.model)
        return cls(config)

    @classmethod
    def for_inference(cls, config: EngineConfig) -> LGSCMethod:
        """Scoring only: the trained weights are loaded after, so the freeze check of :meth:`from_config` does not apply."""
        return cls(config)

    @classmethod
    def input_spec_for(cls, config: EngineConfig) -> InputSpec:
        """RGB in [-1, 1] (mean = std = 0.5), so the Tanh cue lives in the image's range and image + cue is an overlay.

        ``model.input=patches``: evaluation scores a grid of ``model.test_patches``^2 patches of the crop at its own
        resolution as one face; ``resized``: the crop resized to ``data.image_size``."""
        size, m = config.data.image_size, config.model
        half = ModalitySpec(name="rgb", channels=3, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
        if m.input == "patches":
            return InputSpec(modalities=(half,), crop_size=config.data.crop_size or size, input_size=size, fit="patches",
                             patches=m.test_patches)
        return InputSpec(modalities=(half,), crop_size=config.data.crop_size or size, input_size=size)

    def network(self) -> nn.Module:
        return self.net

    def train_sampler(self, labels: np.ndarray, seed: int, num_replicas: int, rank: int) -> Any:
        from antispoof.data.samplers import BalancedSampler

        return BalancedSampler(labels, seed, num_replicas, rank)

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        lc = self.config.loss
        images, labels = batch["image"], batch["label"].long()
        if images.ndim == 5:  # an evaluation grid of patches (the dev split's loss): each patch is a sample of its face's label
            labels = labels.repeat_interleave(images.shape[1])
            images = images.flatten(0, 1)
        cue, pooled = self.net(images)
        l1 = self.l1(cue, labels)
        triplet = sum(self.triplet(f, labels) for f in pooled)
        aux = F.cross_entropy(self.classifier(images + cue), labels.clamp(min=0))
        loss = lc.weight_l1 * l1 + lc.weight_triplet * triplet + lc.weight_aux * aux
        return loss, {"l1": l1.detach(), "triplet": triplet.detach(), "aux": aux.detach()}
