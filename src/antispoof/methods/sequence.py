"""Sequence (seed 002): a frame CNN pretrained frame by frame, then a CNN + BiLSTM trained end to end on clips.

The network is :class:`antispoof.models.sequence.SequenceNet` (MobileNetV2 -> linear
1280 -> 512 -> two-layer BiLSTM -> the readout -> sigmoid real/fake; the bonus task's
real/print/replay softmax as its own model, ``model.task=three_class``). The loss is the
weighted focal loss (Lin et al.): alpha 0.8 on the real class for the sigmoid output,
weights 0.5 / 0.25 / 0.25 on real / print / replay for the softmax, read from the batch's
``pai_class`` (:data:`antispoof.data.base.PAI_CLASSES`). The paper (Sec. Method, "2) RNN"): "The
final prediction is produced from passing the last output of RNN through a linear layer".
What runs by default (``model.readout=final_states``, our reading of "the last output" of
a bidirectional LSTM): the top layer's forward final state (after the clip's last frame)
concatenated with its backward final state (after the clip's first frame), so both
directions have read the whole clip; ``model.readout=last`` is the literal output at the
last step, ``outputs[:, -1]``, whose backward half has read one frame.

Training has the paper's two stages (Sec. Method, "Learning"), one ``antispoof train sequence`` (the engine's
staged hook, :meth:`SequenceMethod.stages_for`; each stage is a run sub-folder
``stages/frames`` and ``stages/clips``, each resumable):

1. ``frames``: the CNN (encoder + projection) with a linear frame classifier, on single
   frames sampled across all training sequences, random crop 224 of the 256 px crop,
   horizontal flip, rotation within 15 degrees, 30 epochs (``frame_stage.*``);
2. ``clips``: the whole network end to end on clips of ``sequence.clip_len`` = 11
   frames, 8 clips per batch, no augmentation (a centre crop), 90 epochs (``train.*``),
   its CNN initialised from stage 1 (``init_from``, set by the engine).

Sampling: the paper (Sec. Dataset): "Oulu-NPU: 11 frames are sampled from each video" and
"SiW: 10 frames are sampled from each video", one sequence per video. ``sequence.yaml``
sets ``data.frames_per_video: 11`` (evenly spaced; SiW: 10 with ``sequence.clip_len=10``),
so each video gives one clip. The option ``data.frames_per_video=null`` keeps every 10th
frame and cuts every non-overlapping ``clip_len`` window into a clip (more clips per
video: an extension). Score: the sigmoid output of a clip (with ``three_class``: the
softmax's real probability); with several clips per video (the option, or the Predictor
on a longer video) the per-video score is their mean (the toolkit's aggregation).

Choices where the paper (Sec. Method) is silent (configurable): the optimiser (Adam, lr 1e-4, no
weight decay) and stage 1's batch (32 frames); gamma = 2 (Lin et al.'s default);
alpha_t = 1 - alpha on the fake class (Lin et al.'s convention); the 3-class losses'
weights are not renormalised; attack species outside real/print/replay (masks) are
refused by the 3-class task unless ``loss.unlisted=ignore`` (left out of its loss term);
stage 1's classifier, the LSTM width, the readout and the rotation's fill (black, as
torchvision's RandomRotation) are described in :class:`~antispoof.models.sequence.SequenceNet`
and :meth:`SequenceMethod.train_transform`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor, nn

from antispoof._registry import METHODS
from antispoof.config import ModelConfig, Section
from antispoof.data.inputs import InputSpec
from antispoof.losses.weighted_focal import BinaryWeightedFocalLoss, WeightedFocalLoss
from antispoof.methods.base import EngineConfig, EngineTrainConfig, Method, Stage
from antispoof.models.sequence import CLASS_NAMES, SequenceNet

__all__ = ["SequenceModelConfig", "SequenceSettings", "FocalSettings", "FrameStageSettings", "SequenceConfig", "SequenceMethod"]

log = logging.getLogger(__name__)

#: stage 1's augmentation (seed 002 Sec. Method): random crop of the input size from the larger stored crop, flip, rotation.
PAPER_FRAME_AUGMENT = "crop_flip_rotate"


class SequenceModelConfig(ModelConfig):
    """The CNN + BiLSTM network."""

    method: str = Field("sequence", description="method name")
    backbone: str = Field("mobilenetv2_100", description="frame encoder: any timm name (seed 002 Sec. Method: MobileNetV2, "
                         "ImageNet weights)")
    unit: Literal["clip", "frame"] = Field("clip", description="clip: the CNN + BiLSTM (stage 2, deployed); frame: stage 1's "
                                                             "frame classifier (set by the frames stage)")
    task: Literal["binary", "three_class", "joint"] = Field("binary", description="binary: sigmoid real/fake (the main task); "
                                                            "three_class: softmax real/print/replay (the bonus task); joint: both "
                                                            "heads on one network (a departure)")
    embed: int = Field(512, ge=1, description="width of the linear projection of the encoder features (Sec. Method: "
                                               "1280 -> 512)")
    hidden: int = Field(256, ge=1, description="LSTM hidden size per direction (our choice: 256, so the BiLSTM's output "
                                                "is 512 wide as its input)")
    layers: int = Field(2, ge=1, description="LSTM layers (Sec. Method: 2, bidirectional)")
    bidirectional: bool = Field(True, description="a bidirectional LSTM (Sec. Method; false: the 1-directional row of the "
                                                  "'Ablations on RNN' table)")
    readout: Literal["last", "final_states"] = Field("final_states", description="final_states: each direction's last output "
                                                     "(both see the whole clip); last: the output at the last step (the backward "
                                                     "half has seen one frame)")
    features: Literal["pooled", "stages", "stages_and_input"] = Field(
        "pooled", description="what the projection reads: the pooled output (Sec. Method: 1280 features); stages: it plus "
        "the stages' channel "
        "mean/std (a departure for small frozen encoders); stages_and_input: also the input frame's RGB mean/std (with "
        "model.input_deltas, its changes show a screen's flicker)")
    input_deltas: bool = Field(False, description="also project how the input frame's RGB mean/std changed since the previous "
                               "frame (a departure: a screen's flicker; needs features=stages_and_input; clips only)")
    drop_rate: float = Field(0.0, ge=0, lt=1, description="dropout before the classifier")
    freeze_encoder: bool = Field(False, description="freeze the encoder (a departure for a CPU budget: Sec. Method "
                                  "trains the CNN in both stages)")
    cache_features: bool = Field(False, description="keep a frozen encoder's features of each training clip in memory (exact: "
                                 "used only with model.freeze_encoder and train.augment=none)")


class SequenceSettings(Section):
    """The clips of stage 2."""

    clip_len: int = Field(11, ge=2, description="frames per clip (Sec. Dataset: 11 for OULU-NPU, 10 for SiW)")
    clip_stride: int = Field(1, ge=1, description="step between a clip's frames, in stored frames")


class FocalSettings(Section):
    """Weighted focal loss (Lin et al.) of seed 002."""

    gamma: float = Field(2.0, ge=0, description="focusing parameter (not given by seed 002; Lin et al.'s default)")
    alpha: float = Field(0.8, ge=0, le=1, description="alpha_t of the weighted class of the sigmoid output (Sec. Method, "
                                                              "'Loss': 0.8 on real)")
    weighted_class: Literal["bonafide", "attack"] = Field("bonafide", description="the class alpha weighs; the other gets 1 - alpha")
    class_weights: list[float] = Field(default_factory=lambda: [0.5, 0.25, 0.25],
                                       description="alpha_t of real / print / replay for the softmax (Sec. Method, "
                                                   "'Loss': 0.5 / 0.25 / 0.25)")
    unlisted: Literal["error", "ignore"] = Field("error", description="attacks whose pai_class is not print or replay (masks): "
                                                 "an error, or left out of the 3-class term")
    class_term: float = Field(1.0, ge=0, description="joint task: weight of the 3-class term beside the binary one")

    @model_validator(mode="after")
    def _check(self) -> FocalSettings:
        if len(self.class_weights) != len(CLASS_NAMES) or any(w < 0 for w in self.class_weights):
            raise ValueError(f"loss.class_weights are {len(CLASS_NAMES)} non-negative numbers ({' / '.join(CLASS_NAMES)}), "
                             f"got {self.class_weights}")
        return self


class FrameStageSettings(Section):
    """Stage 1 (feature pretraining): the CNN trained frame by frame."""

    enabled: bool = Field(True, description="run stage 1 before the clips (off: end to end from the start, row 'N' of "
                                          "the feature-pretraining ablation table, seed 002 Sec. Experiment)")
    max_epochs: int = Field(30, ge=1, description="epochs of stage 1 (Sec. Method: 30)")
    batch_size: int = Field(32, ge=1, description="frames per batch in stage 1 (our choice: seed 002 Sec. Method "
                                              "gives only stage 2's 8 sequences)")
    lr: float | None = Field(None, gt=0, description="learning rate of stage 1; null = train.lr")
    augment: str = Field(PAPER_FRAME_AUGMENT, description=f"stage 1's augmentation: {PAPER_FRAME_AUGMENT} (Sec. Method: random "
                         "crop 256 -> 224, flip, rotation) or a train.augment pipeline name")
    rotation: float = Field(15.0, ge=0, le=180, description="largest rotation of stage 1, degrees (Sec. Method: 15)")
    freeze_encoder: bool | None = Field(None, description="freeze the encoder in stage 1; null = model.freeze_encoder (false: "
                                        "stage 1 trains the encoder as Sec. Method does, even when stage 2 keeps it frozen)")


class SequenceTrainConfig(EngineTrainConfig):
    """Stage 2: 90 epochs, 8 clips per batch, no augmentation (seed 002); Adam at 1e-4 (our choice)."""

    max_epochs: int = Field(90, ge=1, description="epochs of stage 2 (Sec. Method: 90)")
    batch_size: int = Field(8, ge=1, description="clips per batch in stage 2 (Sec. Method: 8)")
    optimizer: Literal["adamw", "adam"] = Field("adam", description="our choice: Adam (seed 002 names no optimiser)")
    lr: float = Field(1e-4, gt=0, description="our choice: a usual Adam rate for fine-tuning a pretrained CNN "
                                                  "(seed 002 names none)")
    weight_decay: float = Field(0.0, ge=0, description="our choice: none (seed 002 names none)")
    augment: str = Field("none", description="no augmentation in stage 2 (Sec. Method)")


class SequenceConfig(EngineConfig):
    """A run of the sequence method (both stages)."""

    model: SequenceModelConfig = Field(default_factory=SequenceModelConfig, description="network")
    sequence: SequenceSettings = Field(default_factory=SequenceSettings, description="clips")
    loss: FocalSettings = Field(default_factory=FocalSettings, description="weighted focal loss")
    frame_stage: FrameStageSettings = Field(default_factory=FrameStageSettings, description="stage 1 (feature pretraining)")
    train: SequenceTrainConfig = Field(default_factory=SequenceTrainConfig, description="how stage 2 trains")

    @model_validator(mode="after")
    def _frames_hold_a_clip(self) -> SequenceConfig:
        frames, s = self.data.frames_per_video, self.sequence
        span = (s.clip_len - 1) * s.clip_stride + 1
        if frames is not None and frames < span:  # the store's clip_windows would pad the clip with its last frame
            raise ValueError(f"data.frames_per_video={frames} is shorter than one clip ({span} stored frames: sequence.clip_len="
                             f"{s.clip_len}, sequence.clip_stride={s.clip_stride}); give data.frames_per_video={span} (one clip "
                             "per video, the paper's sampling) or data.frames_per_video=null (every 10th frame, every window)")
        return self


@METHODS.register("sequence")
class SequenceMethod(Method):
    """Seed 002: MobileNetV2 + BiLSTM over clips, weighted focal loss, feature pretraining then sequential modelling."""

    config_schema = SequenceConfig

    def __init__(self, config: SequenceConfig) -> None:
        super().__init__(config)
        m, lc = config.model, config.loss
        self.net = SequenceNet(m.backbone, unit=m.unit, task=m.task, embed=m.embed, hidden=m.hidden, layers=m.layers,
                               readout=m.readout, features=m.features, drop_rate=m.drop_rate, weights=m.weights,
                               freeze_encoder=m.freeze_encoder, input_deltas=m.input_deltas, bidirectional=m.bidirectional)
        if m.weights is None:
            log.info("sequence: the %s encoder starts from random weights (give model.weights=FILE for ImageNet weights, "
                     "as the paper uses)", m.backbone)
        self.binary_loss = BinaryWeightedFocalLoss(lc.alpha, lc.gamma, weighted=1 if lc.weighted_class == "bonafide" else 0)
        self.class_loss = WeightedFocalLoss(lc.class_weights, lc.gamma)
        self.use_cache = bool(m.cache_features and m.freeze_encoder and m.unit == "clip" and config.train.augment == "none")
        if m.cache_features and not self.use_cache and m.unit == "clip":
            log.info("sequence: model.cache_features is off (it needs model.freeze_encoder=true and train.augment=none)")
        self._cache: dict[str, Tensor] = {}

    # -- the contract -----------------------------------------------------------------------

    @classmethod
    def input_spec_for(cls, config: EngineConfig) -> InputSpec:
        """Crops stored at 256/224 of the input (stage 1 crops 224 from 256); centre crop in stage 2 and at test; clips
        of ``sequence.clip_len`` frames (single frames in stage 1)."""
        size = config.data.image_size
        crop = config.data.crop_size or round(size * 256 / 224)
        if config.model.unit == "frame":
            return InputSpec.rgb(size, crop_size=crop, fit="center_crop")
        s = config.sequence
        return InputSpec.rgb(size, crop_size=crop, fit="center_crop", clip_len=s.clip_len, clip_stride=s.clip_stride)

    @classmethod
    def stages_for(cls, config: EngineConfig) -> list[Stage]:
        """``frames`` (stage 1: the CNN frame by frame, ``frame_stage.*``) then ``clips`` (stage 2: the run's own config)."""
        fs = config.frame_stage
        if not fs.enabled:
            return []
        frames = {"model.unit": "frame", "train.max_epochs": fs.max_epochs, "train.batch_size": fs.batch_size,
                  "train.augment": fs.augment, "train.lr": fs.lr or config.train.lr, "model.cache_features": False,
                  "model.freeze_encoder": config.model.freeze_encoder if fs.freeze_encoder is None else fs.freeze_encoder}
        return [Stage("frames", frames), Stage("clips", {})]

    def network(self) -> nn.Module:
        return self.net

    def train_transform(self, spec: InputSpec) -> Any:
        """Stage 1's ``crop_flip_rotate``: a random ``input_size`` crop of the stored crop (Sec. Method: 224 of 256), a
        horizontal flip (p 0.5), a rotation within ``frame_stage.rotation`` degrees (every sample; the corners are filled
        black, as torchvision's RandomRotation does). Any other name: the ``train.augment`` pipeline."""
        if self.config.train.augment != PAPER_FRAME_AUGMENT:
            return super().train_transform(spec)
        import albumentations as A
        import cv2

        from antispoof.data.transforms import Transform

        size, limit = spec.input_size, self.config.frame_stage.rotation
        steps = [A.Resize(spec.crop_size, spec.crop_size), A.RandomCrop(size, size), A.HorizontalFlip(p=0.5),
                 A.Rotate(limit=(-limit, limit), border_mode=cv2.BORDER_CONSTANT, fill=0, p=1.0)]
        return Transform(steps, PAPER_FRAME_AUGMENT, spec)

    # -- losses ------------------------------------------------------------------------------

    def class_targets(self, batch: dict[str, Any]) -> Tensor:
        """Indices into real / print / replay of the batch's ``pai_class`` (-1: an attack left out by ``loss.unlisted``)."""
        if "pai_class" not in batch:
            raise KeyError("the 3-class task reads the batch column pai_class (frame stores have it; data.base.PAI_CLASSES)")
        names = [str(c) for c in batch["pai_class"]]
        unlisted = sorted({n for n in names if n not in CLASS_NAMES})
        if unlisted and self.config.loss.unlisted == "error":
            raise ValueError(f"the 3-class task knows {', '.join(CLASS_NAMES)}, but the batch has pai_class {', '.join(unlisted)}; "
                             "leave those attacks out (data.exclude_attacks=['mask_*']), set loss.unlisted=ignore, or use "
                             "model.task=binary")
        index = [CLASS_NAMES.index(n) if n in CLASS_NAMES else -1 for n in names]
        return torch.tensor(index, dtype=torch.long, device=batch["label"].device)

    def _outputs(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        if not self.use_cache or not self.training:
            return self.net(batch["image"])
        keys = _clip_keys(batch)
        if keys is None:
            return self.net(batch["image"])
        images = batch["image"]
        todo = [i for i, k in enumerate(keys) if k not in self._cache]
        if todo:
            clips = images[todo]
            with torch.no_grad():
                feats = self.net.encoder_features(clips.reshape(-1, *clips.shape[2:])).reshape(len(todo), clips.shape[1], -1)
            for i, f in zip(todo, feats):
                self._cache[keys[i]] = f.detach().cpu()
        features = torch.stack([self._cache[k] for k in keys]).to(images.device)
        return self.net.forward_features(features)

    def _loss(self, out: dict[str, Tensor], batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        logs: dict[str, float | Tensor] = {}
        total = torch.zeros((), device=batch["label"].device)
        if "logit" in out:
            binary = self.binary_loss(out["logit"], batch["label"].long())
            total = total + binary
            logs["focal"] = binary.detach()
        if "class_logits" in out:
            classes = self.class_loss(out["class_logits"], self.class_targets(batch))
            total = total + (self.config.loss.class_term if "logit" in out else 1.0) * classes
            logs["focal_3class"] = classes.detach()
        return total, logs

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        return self._loss(self._outputs(batch), batch)


def _clip_keys(batch: dict[str, Any]) -> list[str] | None:
    """One key per clip of a frame-store batch (its first frame's source and video, its frame indices), or None."""
    if not all(k in batch for k in ("source", "video", "frames")):
        return None
    frames = batch["frames"]
    columns = [f.tolist() if isinstance(f, Tensor) else list(f) for f in frames]  # collated: T lists of B indices
    per_clip = list(zip(*columns))
    return [f"{s}|{v}|{','.join(map(str, idx))}" for s, v, idx in zip(batch["source"], batch["video"], per_clip)]
