"""Distillation of a trained Entry teacher into a smaller student (seed 000, Sec. 3.2.2, Eq. 1).

The student is an :class:`~antispoof.models.entry.EntryNet` (EfficientNet-B3 by default,
any timm name; the spoof head alone by default, as Eq. 1 is over the label y). The
teacher is loaded from its run folder, frozen and kept in eval mode. Both read the
same augmented batch; unlabelled samples (label -1, from ``distill.unlabelled_*``)
enter only the soft term. The student's weights are what the run exports, so a
distilled run is evaluated and deployed like an ``entry`` run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from antispoof._registry import METHODS
from antispoof.config import Section
from antispoof.losses import DistillationLoss
from antispoof.losses.distillation import binary_to_two_class
from antispoof.methods.base import EngineConfig, Method
from antispoof.methods.entry import EntryModelConfig, entry_net

__all__ = ["StudentModelConfig", "DistillSettings", "DistillConfig", "DistillationMethod", "distillation_config"]


class StudentModelConfig(EntryModelConfig):
    """The student network."""

    method: str = Field("entry_distill", description="method name (distillation of an entry teacher)")
    backbone: str = Field("efficientnet_b3", description="timm architecture of the student (seed 000 Sec. 3.2.2: "
                                                           "EfficientNet-B3)")
    heads: Literal["all", "spoof_only"] = Field("spoof_only", description="student heads; Eq. 1 distils the spoof head")
    freeze_backbone: bool | None = Field(False, description="freeze the student's backbone (never by default: the student is what trains)")


class DistillSettings(Section):
    """Eq. 1 of seed 000 and where its data comes from."""

    teacher: Path | None = Field(None, description="run folder of the trained teacher (set by `antispoof distill TEACHER_RUN`)")
    alpha: float = Field(0.5, ge=0, le=1, description="weight of the soft (teacher) term; 1 - alpha weighs the labels")
    tau: float = Field(2.0, gt=0, description="softmax temperature of the soft term")
    scale_soft_by_tau_squared: bool = Field(False, description="multiply the soft term by tau^2 (Hinton et al.; not in Eq. 1)")
    unlabelled_dataset: str | None = Field(None, description="optional extra dataset used without labels (soft term only)")
    unlabelled_root: Path | None = Field(None, description="root folder of the unlabelled dataset")
    unlabelled_protocol: str | None = Field(None, description="protocol of the unlabelled dataset (all its splits are used)")


class DistillConfig(EngineConfig):
    """A distillation run."""

    model: StudentModelConfig = Field(default_factory=StudentModelConfig, description="student network")
    distill: DistillSettings = Field(default_factory=DistillSettings, description="Eq. 1 settings and teacher")


@METHODS.register("entry_distill")
class DistillationMethod(Method):
    """Student trained with seed 000 Eq. 1 against a frozen Entry teacher; scores like ``entry``."""

    config_schema = DistillConfig

    def __init__(self, config: DistillConfig, with_teacher: bool = True) -> None:
        super().__init__(config)
        m = config.model
        self.student = entry_net(m)
        d = config.distill
        self.loss_fn = DistillationLoss(alpha=d.alpha, tau=d.tau, scale_soft_by_tau_squared=d.scale_soft_by_tau_squared)
        self.teacher: nn.Module | None = None
        if with_teacher:
            if d.teacher is None:
                raise ValueError("distill.teacher is not set; run `antispoof distill TEACHER_RUN CONFIG` or set distill.teacher=RUN_DIR")
            from antispoof.weights import load_network

            self.teacher, _ = load_network(d.teacher)
            for p in self.teacher.parameters():
                p.requires_grad_(False)
            self.teacher.eval()

    @classmethod
    def for_inference(cls, config: DistillConfig) -> DistillationMethod:
        return cls(config, with_teacher=False)

    def network(self) -> nn.Module:
        return self.student

    def train(self, mode: bool = True) -> DistillationMethod:
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        if self.teacher is None:
            raise RuntimeError("this distillation method was built for inference (no teacher); it cannot train")
        student = binary_to_two_class(self.student(batch["image"])[:, -1])
        with torch.no_grad():
            teacher = binary_to_two_class(self.teacher(batch["image"])[:, -1])
        label = batch["label"].long()
        # class index 1 = spoof (the spoof head's positive class); -1 (unlabelled) stays -1
        target = torch.where(label >= 0, 1 - label, label)
        loss = self.loss_fn(student, teacher, target)
        agree = ((student[:, 1] > 0) == (teacher[:, 1] > 0)).float().mean()
        return loss, {"teacher_agreement": agree}



def distillation_config(teacher: str | Path, path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> DistillConfig:
    """The config of a distillation run: ``path`` (default ``configs/distill.yaml``) and overrides, with the teacher set.

    Data keys the user does not give are taken from the teacher's run (same dataset,
    protocol, image size and store), so ``antispoof distill RUN`` alone distils on the
    teacher's data.
    """
    from antispoof.config import load_config
    from antispoof.methods._configs import config_path, read_run_config

    teacher = Path(teacher)
    teacher_config = read_run_config(teacher)
    path = config_path(path if path is not None else "distill")
    given = {o.partition("=")[0].strip() for o in overrides}
    raw_file = {}
    if path is not None and Path(path).is_file():
        import yaml

        raw_file = (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("data") or {}
    inherited = [
        f"data.{key}={_yaml(value)}"
        for key, value in teacher_config.data.model_dump(mode="json").items()
        if f"data.{key}" not in given and key not in raw_file
    ]
    return load_config(DistillConfig, path, [*inherited, *overrides, f"distill.teacher={teacher}"])


def _yaml(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
