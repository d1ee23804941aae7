"""Multi-modal fusion (seed 001, Parkin & Grinchuk): RGB / IR / Depth face-ResNet branches, SE fusion, MLFA; CE on 2 classes.

The network is :class:`antispoof.models.multimodal.MultiModalNet`; its score is the
softmax probability of the bona fide class. Training follows Sec. 5.1-5.2: cross-entropy
for two classes, Adam with a cosine learning-rate schedule from 0.1, 30 epochs, batch
128; face crops resized to 125 px, the centre 112 px taken, a horizontal flip with
probability 0.5 in training and no other augmentation. CPU configs depart (smaller
width, input and batch; the quickstart's config says so with its measurements).

Every parameter trains, the final classifier included. (The authors' public code builds
its optimiser from the backbone's parameters only, ``get_optimizer(self.model, ...)``, so
its separate ``classifier`` stays at its random initialisation; the paper does not say
so, Sec. 5.1, and we train it: a test checks that each parameter moves.)

Initialisation (``model.weights``): a face-recognition checkpoint of the branch network
(:func:`load_face_weights`): our own layout, as ``antispoof pretrain face-id`` writes it
(``RUN/backbone.safetensors``), or the authors' ``ResNetCaffe`` layout (a ``.pth`` state
dict; renamed by :func:`antispoof.models.face_resnet.from_caffe_layout`). As in the
authors' code, each branch takes stem + res1-res3 and res4 takes res4 with its first
convolution's kernel repeated over the concatenated branches; the SE blocks, the 1x1
reductions and the classifier start random (the SE parts: Sec. 5.5, "The Fusion SE parts are left
unchanged"; the reductions and the classifier: our choice, the checkpoint has none). The aggregation blocks
start random by default (``model.aggregation_init=random``; Sec. 5.6: "We initialize
aggregation modules with random weights"); ``model.aggregation_init=pretrained`` copies
the checkpoint's res2..res4 into agg1..agg3, as the authors' code does. The tensors left random and the checkpoint's
unused ones are logged and returned. ImageNet initialisation (the paper's Table 3 row) is
not available here: no ImageNet weights of this face ResNet exist (its layout is not an
ImageNet architecture) and none of a torchvision/timm ResNet are on disk.

Missing modalities: ``multimodal.modality_dropout`` zeroes the IR and/or depth input of a
training sample (the subsets of ``multimodal.dropout_subsets``), so one model also scores
RGB only or RGB + IR. The input spec, the model card and the Predictor keep saying what a
bundle *requires*: a model trained on three modalities requires all three until
:func:`with_inputs` writes a copy of the run whose network and spec read fewer (the
absent branches get zeros); that copy is evaluated, calibrated and bundled like any run,
and its card lists only the inputs it accepts.

The modality ablation (Sec. 5.10, Table 5) is ``multimodal.branches=[ir,ir,ir]`` (or
``[rgb,rgb,rgb]``, ``[depth,depth,depth]``): the same network with one modality in all
three branches. The input spec always names RGB (faces are detected on it); a network
whose branches read no RGB ignores its pixels.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, field_validator, model_validator
from torch import Tensor, nn
from torch.nn import functional as F

from antispoof._registry import METHODS
from antispoof.config import ModelConfig, Section
from antispoof.data.inputs import IMAGENET_MEAN, IMAGENET_STD, MODALITY_NAMES, InputSpec, ModalitySpec, modality_key
from antispoof.data.transforms import PIPELINES
from antispoof.methods.base import EngineConfig, EngineDataConfig, EngineTrainConfig, Method
from antispoof.models.face_resnet import BACKBONE_LAYOUTS, from_caffe_layout
from antispoof.models.multimodal import MultiModalNet

__all__ = ["MultiModalModelConfig", "MultiModalSettings", "MultiModalConfig", "MultiModalMethod", "load_face_weights",
           "with_inputs", "modality_spec", "drop_modalities", "paper_transform"]

log = logging.getLogger(__name__)

#: Seed 001 Sec. 5.2: crops resized to 125 px, the centre 112 px taken.
PAPER_CROP, PAPER_INPUT = 125, 112


@PIPELINES.register("center_crop_flip")
def _center_crop_flip(size: int) -> list[Any]:
    """Seed 001 Sec. 5.2's training augmentation: the centre ``size`` crop and a horizontal flip (p 0.5), nothing else.

    Registered for any method; :class:`MultiModalMethod` first resizes a stored crop to the spec's crop size.
    """
    import albumentations as A

    return [A.CenterCrop(size, size), A.HorizontalFlip(p=0.5)]


def paper_transform(augment: str, spec: InputSpec) -> Any:
    """The training transform ``augment`` for ``spec``; ``center_crop_flip`` first resizes the stored crop to ``spec.crop_size``."""
    from antispoof.data.transforms import Transform, build_transform

    if augment != "center_crop_flip":
        return build_transform(augment, spec)
    import albumentations as A

    return Transform([A.Resize(spec.crop_size, spec.crop_size), *_center_crop_flip(spec.input_size)], augment, spec)


def modality_spec(name: str, channels: int = 3) -> ModalitySpec:
    """The normalisation of one modality: ImageNet statistics for RGB; mean 0.5, std 0.5 for IR and depth (replicated)."""
    if name == "rgb":
        return ModalitySpec(name="rgb", channels=3, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    return ModalitySpec(name=name, channels=channels, mean=(0.5,) * channels, std=(0.5,) * channels)


class MultiModalModelConfig(ModelConfig):
    """The fusion network (seed 001 Fig. 2)."""

    method: str = Field("multimodal", description="method name")
    backbone: str = Field("face_resnet34", description="branch network: face_resnet34 (Table 3's 'resnet-34'; 1-2-5-3 "
                                                       "blocks as the authors' code) or face_resnet50 (3-4-6-3 bottlenecks; "
                                                       "Table 3's models B, C)")
    weights: Path | None = Field(None, description="face-recognition checkpoint of the branch network (our layout, e.g. "
                                                   "RUN/backbone.safetensors of `antispoof pretrain face-id`, or the authors' "
                                                   "ResNetCaffe .pth); null = random initialisation")
    layers: list[int] | None = Field(None, description="blocks per stage; null = the backbone's own (1-2-5-3, the authors' "
                                                       "code's face_resnet34; 3-4-6-3, face_resnet50)")
    width: float = Field(1.0, gt=0, le=4, description="channel multiplier of every stage (1.0 = the authors' "
                                                    "code's 32-stem network)")
    fusion: Literal["se_branch", "se_concat", "none"] = Field(
        "se_branch", description="SE on each branch's res3 (Sec. 4.3 follows [26], Sec. 3.1: each branch re-weighted), one "
                                 "SE on their concatenation, or none (the authors' type A)")
    aggregation: bool = Field(True, description="the multi-level feature aggregation blocks (MLFA)")
    aggregation_init: Literal["random", "pretrained"] = Field(
        "random", description="start of the MLFA blocks with model.weights: random (seed 001 Sec. 5.6) or the "
                              "checkpoint's res2-res4 stages (the authors' code)")
    se_reduction: int = Field(16, ge=1, description="SE reduction ratio r (Hu et al.)")

    @field_validator("backbone")
    @classmethod
    def _known_backbone(cls, value: str) -> str:
        if value not in BACKBONE_LAYOUTS:
            raise ValueError(f"multimodal branches are face ResNets: model.backbone={' or '.join(BACKBONE_LAYOUTS)} "
                             f"(got {value!r}); its depth is model.layers, its width model.width")
        return value

    @model_validator(mode="after")
    def _backbone_layers(self) -> MultiModalModelConfig:
        if self.layers is None:  # the backbone's own blocks per stage unless model.layers is given
            self.layers = list(BACKBONE_LAYOUTS[self.backbone][0])
        return self

    @property
    def block(self) -> str:
        """The branch network's block kind (``basic`` or ``bottleneck``)."""
        return BACKBONE_LAYOUTS[self.backbone][1]

    @field_validator("layers")
    @classmethod
    def _four_stages(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (len(value) != 4 or any(v < 0 for v in value)):
            raise ValueError(f"model.layers gives the blocks of the 4 stages, e.g. [1, 2, 5, 3]; got {value}")
        return value


class MultiModalSettings(Section):
    """Which modality feeds each branch, and modality dropout."""

    branches: list[Literal["rgb", "ir", "depth"]] = Field(
        default_factory=lambda: ["rgb", "ir", "depth"],
        description="modality of each branch: [rgb, ir, depth]; the ablation repeats one ([ir, ir, ir])")
    modality_dropout: float = Field(0.0, ge=0, le=1, description="probability that a training sample loses modalities "
                                                                 "(one of dropout_subsets is kept, the rest zeroed)")
    dropout_subsets: list[list[Literal["rgb", "ir", "depth"]]] = Field(
        default_factory=lambda: [["rgb"], ["rgb", "ir"]],
        description="the modality subsets a dropped sample keeps, drawn uniformly (RGB only; RGB + IR)")

    @field_validator("branches")
    @classmethod
    def _three(cls, value: list[str]) -> list[str]:
        if len(value) != 3:
            raise ValueError(f"multimodal.branches names three modalities, one per branch (e.g. [rgb, ir, depth]); got {value}")
        return value


class MultiModalTrainConfig(EngineTrainConfig):
    """Seed 001 Sec. 5.1: Adam, lr 0.1 with a cosine schedule, 30 epochs, batch 128, CE; centre crop + flip."""

    optimizer: Literal["adamw", "adam"] = Field("adam", description="Adam (seed 001 Sec. 5.1)")
    lr: float = Field(0.1, gt=0, description="initial learning rate 0.1 (Sec. 5.1)")
    weight_decay: float = Field(0.0, ge=0, description="weight decay (the authors' code: 0)")
    adam_beta1: float = Field(0.9, ge=0, lt=1, description="Adam's beta1 (torch's default; the authors' code uses 0.5)")
    lr_schedule: Literal["constant", "onecycle", "exponential", "warmup_step", "cosine"] = Field(
        "cosine", description="cosine (Sec. 5.1; our choice: from train.lr to 0 over the run, per step); or an engine "
                           "schedule")
    max_epochs: int = Field(30, ge=1, description="30 epochs (Sec. 5.1)")
    batch_size: int = Field(128, ge=1, description="batch size 128 (Sec. 5.1)")
    augment: str = Field("center_crop_flip", description="centre 112 crop of the 125 px crop, flip p 0.5 (Sec. 5.2)")


class MultiModalDataConfig(EngineDataConfig):
    """The data of a run; the input defaults to the paper's 112 px (crops of 125 px; Sec. 5.2)."""

    image_size: int = Field(PAPER_INPUT, ge=48, le=2048, description="network input side in pixels (Sec. 5.2: 112, from 125 px "
                                                                  "crops; at least 48)")


class MultiModalConfig(EngineConfig):
    """A run of the multi-modal fusion network."""

    data: MultiModalDataConfig = Field(default_factory=MultiModalDataConfig, description="which data the run reads")
    model: MultiModalModelConfig = Field(default_factory=MultiModalModelConfig, description="network")
    multimodal: MultiModalSettings = Field(default_factory=MultiModalSettings, description="branches and modality dropout")
    train: MultiModalTrainConfig = Field(default_factory=MultiModalTrainConfig, description="how the run trains")


def drop_modalities(batch: dict[str, Any], subsets: list[list[str]], p: float, generator: torch.Generator | None = None
                    ) -> tuple[dict[str, Any], Tensor]:
    """Modality dropout: each sample, with probability ``p``, keeps one of ``subsets`` (uniform) and loses the rest.

    A lost modality's input becomes zeros: the value :class:`MultiModalNet` feeds a branch
    whose modality is absent at inference. Returns ``(batch copy, kept [B, 3] bool)``
    (columns rgb, ir, depth). RGB is never dropped when the subsets all hold it.
    """
    present = [m for m in MODALITY_NAMES if modality_key(m) in batch]
    reference = batch[modality_key(present[0])]
    n = reference.shape[0]
    kept = torch.ones(n, len(MODALITY_NAMES), dtype=torch.bool)
    if p <= 0 or not subsets:
        return batch, kept
    dropped = torch.rand(n, generator=generator) < p
    choice = torch.randint(len(subsets), (n,), generator=generator)
    for i in torch.nonzero(dropped).flatten().tolist():
        keep = set(subsets[int(choice[i])])
        for j, m in enumerate(MODALITY_NAMES):
            kept[i, j] = m in keep
    out = dict(batch)
    for j, m in enumerate(MODALITY_NAMES):
        key = modality_key(m)
        if key in out and not kept[:, j].all():
            mask = kept[:, j].to(out[key].device).view(-1, *([1] * (out[key].dim() - 1)))
            out[key] = out[key] * mask
    return out, kept


@METHODS.register("multimodal")
class MultiModalMethod(Method):
    """Seed 001: RGB / IR / Depth fusion with SE and MLFA, cross-entropy (see the module docstring)."""

    config_schema: ClassVar[type[EngineConfig]] = MultiModalConfig

    def __init__(self, config: MultiModalConfig) -> None:
        super().__init__(config)
        m, s = config.model, config.multimodal
        self.net = MultiModalNet(branches=s.branches, layers=m.layers, width=m.width, fusion=m.fusion,
                                 aggregation=m.aggregation, se_reduction=m.se_reduction, block=m.block)
        self.init_report: dict[str, list[str]] | None = None
        if m.weights is not None:
            self.init_report = load_face_weights(self.net, m.weights, aggregation_init=m.aggregation_init)
        else:
            log.info("multimodal: random initialisation (the paper starts from face recognition: give model.weights=FILE, "
                     "e.g. RUN/backbone.safetensors of `antispoof pretrain face-id`)")

    @classmethod
    def input_spec_for(cls, config: EngineConfig) -> InputSpec:
        """RGB plus each modality a branch reads (3 channels each), 112 px centre crops of 125 px crops (Sec. 5.2)."""
        names = ["rgb", *(m for m in MODALITY_NAMES[1:] if m in config.multimodal.branches)]
        size = config.data.image_size
        crop = config.data.crop_size or round(size * PAPER_CROP / PAPER_INPUT)
        return InputSpec(modalities=tuple(modality_spec(n) for n in names), crop_size=crop, input_size=size, fit="center_crop")

    def network(self) -> nn.Module:
        return self.net

    def train_transform(self, spec: InputSpec) -> Any:
        """``center_crop_flip`` (Sec. 5.2; :func:`paper_transform`), or the engine pipeline ``train.augment`` names."""
        return paper_transform(self.config.train.augment, spec)

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        s = self.config.multimodal
        inputs = batch
        if self.training and s.modality_dropout > 0:
            inputs, _ = drop_modalities(batch, [list(x) for x in s.dropout_subsets], s.modality_dropout)
        logits = self.net(inputs)
        loss = F.cross_entropy(logits, batch["label"].long())
        return loss, {"acc": (logits.argmax(1) == batch["label"].long()).float().mean().detach()}

    def validation_loss(self, batch: dict[str, Any]) -> Tensor:
        """Cross-entropy with every modality (no dropout)."""
        return F.cross_entropy(self.net(batch), batch["label"].long())

    def configure_optimizers(self) -> Any:
        t = self.config.train
        if t.lr_schedule != "cosine" and t.adam_beta1 == 0.9:
            return super().configure_optimizers()
        make = torch.optim.AdamW if t.optimizer == "adamw" else torch.optim.Adam
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer = make(params, lr=t.lr, weight_decay=t.weight_decay, betas=(t.adam_beta1, 0.999))
        if t.lr_schedule == "constant":
            return optimizer
        if t.lr_schedule != "cosine":
            raise ValueError(f"train.adam_beta1 is honoured with train.lr_schedule cosine or constant, got {t.lr_schedule!r}")
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def load_face_weights(net: MultiModalNet, source: str | Path, aggregation_init: str = "random") -> dict[str, list[str]]:
    """Initialise ``net`` from a face-recognition checkpoint of its branch network (see the module docstring).

    ``source``: a ``.safetensors`` / ``.pth`` state dict of a :class:`~antispoof.models.face_resnet.FaceResNet`
    (our names, or the authors' ``ResNetCaffe`` names). ``aggregation_init``: ``random``
    leaves the MLFA blocks at their initialisation (seed 001 Sec. 5.6), ``pretrained``
    copies res2..res4 into agg1..agg3 (the authors' code). Returns ``{"loaded", "missing",
    "unexpected", "mismatched"}``: tensors of ``net`` set from it, left at their
    initialisation, checkpoint tensors not used, and those of another shape. Refuses a
    file from which no tensor loads.
    """
    from antispoof.weights import load_state

    if aggregation_init not in ("random", "pretrained"):
        raise ValueError(f"aggregation_init must be 'random' (the paper) or 'pretrained' (the authors' code), "
                         f"got {aggregation_init!r}")
    state = from_caffe_layout(load_state(source))
    own = net.state_dict()
    plan: dict[str, Tensor] = {}
    used: set[str] = set()
    mismatched: list[str] = []

    def take(target_prefix: str, source_prefix: str, tile: int = 1) -> None:
        for key, value in state.items():
            if not key.startswith(source_prefix):
                continue
            target = target_prefix + key[len(source_prefix):]
            if target not in own:
                continue
            if tile > 1 and target == f"{target_prefix}down.conv.weight" and value.dim() == 4:
                value = torch.cat([value] * tile, dim=1)  # res4 reads the concatenated branches (the authors' choice)
            if tuple(value.shape) != tuple(own[target].shape):
                mismatched.append(f"{key} -> {target} {tuple(value.shape)} vs {tuple(own[target].shape)}")
                continue
            plan[target] = value
            used.add(key)

    for i in range(len(net.branches)):
        for part in ("stem.", "layer1.", "layer2.", "layer3."):
            take(f"branches.{i}.{part}", part)
    take("res4.", "layer4.", tile=len(net.branches))
    if net.aggregation and aggregation_init == "pretrained":
        for level, stage in enumerate(("layer2.", "layer3.", "layer4.")):
            take(f"agg.{level}.stage.", stage)
    if mismatched:
        raise ValueError(f"{len(mismatched)} tensors of {source} have other shapes than the network's (e.g. {mismatched[0]}); "
                         "give a face ResNet checkpoint of the same model.layers and model.width")
    if not any(v.dim() > 0 for v in plan.values()):
        raise ValueError(f"no tensor of {source} fits the multimodal network's branches ({len(state)} tensors, e.g. "
                         f"{', '.join(list(state)[:3])}); give a face ResNet checkpoint of the same model.layers and model.width "
                         f"(our layout: stem.*, layer1.* ...; or the authors' conv1.*, layer1.0.* ...)")
    net.load_state_dict(plan, strict=False)
    report = {"loaded": sorted(plan), "missing": sorted(k for k in own if k not in plan),
              "unexpected": sorted(k for k in state if k not in used), "mismatched": mismatched}
    log.info("multimodal: initialised from %s: %d tensors loaded, %d left at their initialisation (%s), %d of the file "
             "unused%s, %d of another shape", source, len(report["loaded"]), len(report["missing"]),
             _summary(report["missing"]), len(report["unexpected"]),
             f" ({_summary(report['unexpected'])})" if report["unexpected"] else "", len(mismatched))
    return report


def _summary(keys: list[str]) -> str:
    """The distinct module prefixes of ``keys`` (``agg.0.reduce``, ``classifier``), for one log line."""
    heads = dict.fromkeys(k.rsplit(".", 1)[0] for k in keys)
    listed = list(heads)
    return ", ".join(listed[:8]) + (" ..." if len(listed) > 8 else "")


def with_inputs(run: str | Path, inputs: list[str], out: str | Path, overwrite: bool = False) -> Path:
    """A copy of the multimodal run ``run`` whose network and input spec read only ``inputs`` (e.g. ``["rgb"]``).

    The weights are the same; the branches of the absent modalities read zeros. The copy
    (``config.yaml``, ``run.json``, ``model.safetensors`` with the new network kwargs and
    input spec) is evaluated, calibrated and bundled like any run, and its model card
    lists only ``inputs``. Warns when the run was trained without modality dropout.
    """
    from safetensors.torch import load_file

    from antispoof.methods._configs import read_run_config
    from antispoof.weights import WEIGHTS_FILE, read_metadata, save_weights

    run, out = Path(run), Path(out)
    inputs = list(dict.fromkeys(inputs))
    if not inputs or inputs[0] != "rgb" or any(m not in MODALITY_NAMES for m in inputs):
        raise ValueError(f"inputs start with rgb and name modalities of {', '.join(MODALITY_NAMES)}, got {inputs}")
    config = read_run_config(run)
    if config.model.method != "multimodal":
        raise ValueError(f"{run} is a run of {config.model.method!r}; with_inputs narrows multimodal runs")
    meta = read_metadata(run / WEIGHTS_FILE)
    kwargs = dict(meta["network"]["kwargs"])
    stray = [m for m in inputs if m not in kwargs["inputs"]]
    if stray:
        raise ValueError(f"{run} reads {', '.join(kwargs['inputs'])}; it cannot be given {', '.join(stray)}")
    if config.multimodal.modality_dropout == 0:
        log.warning("%s was trained without modality dropout (multimodal.modality_dropout=0): with %s only its branches "
                    "of the other modalities see zeros they never saw in training", run, "+".join(inputs))
    if out.exists():
        if not overwrite:
            raise FileExistsError(f"{out} exists; give another folder or overwrite=True")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ("config.yaml", "run.json"):
        if (run / name).is_file():
            shutil.copy2(run / name, out / name)
    kwargs["inputs"] = inputs
    net = MultiModalNet(**kwargs)
    net.load_state_dict(load_file(str(run / WEIGHTS_FILE)))
    spec = InputSpec.model_validate(meta["input"])
    narrowed = spec.model_copy(update={"modalities": tuple(m for m in spec.modalities if m.name in inputs)})
    InputSpec.model_validate(narrowed.model_dump())  # re-check the narrowed spec
    meta = {**meta, "network": {"name": meta["network"]["name"], "kwargs": kwargs}, "input": narrowed.model_dump(mode="json"),
            "narrowed_from": {"run": str(run), "inputs": list(spec.names)}}
    save_weights(net, out / WEIGHTS_FILE, meta)
    (out / "inputs.json").write_text(json.dumps({"from": str(run), "inputs": inputs}, indent=2) + "\n", encoding="utf-8")
    log.info("multimodal: %s reads %s (weights of %s)", out, "+".join(inputs), run)
    return out
