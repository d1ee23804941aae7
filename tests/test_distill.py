"""Distillation: config inherits the teacher's data, the teacher stays frozen, the student is evaluated like entry."""

from __future__ import annotations

import pytest
import torch
from frames_double import FramesDouble
from safetensors.torch import load_file

from antispoof.methods.entry import EntryConfig
from antispoof.methods.entry_distill import DistillationMethod, distillation_config
from antispoof.training.runner import load_trained, train


def _teacher(tmp_path):
    cfg = EntryConfig.model_validate(
        {"model": {"backbone": "test_convnext"}, "data": {"image_size": 32},
         "train": {"max_epochs": 1, "batch_size": 8, "progress": False, "accelerator": "cpu"}}
    )
    return train(cfg, out=tmp_path / "teacher", datasets=(FramesDouble(n=16, size=40), None))


def test_distillation_run_end_to_end(tmp_path):
    teacher = _teacher(tmp_path)
    before = load_file(teacher / "model.safetensors")
    cfg = distillation_config(teacher, None, ["model.backbone=test_efficientnet_gn", "train.max_epochs=1", "train.batch_size=8",
                                              "train.progress=false", "train.accelerator=cpu", "distill.alpha=0.7"])
    assert cfg.data.image_size == 32  # inherited from the teacher's run
    assert cfg.distill.teacher == teacher and cfg.model.heads == "spoof_only"
    unlabelled = FramesDouble(n=8, size=40, seed=5)
    for item in unlabelled.items:
        item["label"] = -1
    from torch.utils.data import ConcatDataset

    student = train(cfg, out=tmp_path / "student", datasets=(ConcatDataset([FramesDouble(n=16, size=40), unlabelled]), None))
    after = load_file(teacher / "model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)
    method = load_trained(student)
    assert isinstance(method, DistillationMethod) and method.teacher is None
    s = method.score({"image": torch.randn(2, 3, 32, 32)})
    assert s.shape == (2,) and torch.all((s >= 0) & (s <= 1))


def test_distillation_without_teacher_says_how(tmp_path):
    from antispoof.methods.entry_distill import DistillConfig

    with pytest.raises(ValueError, match="distill.teacher is not set"):
        DistillationMethod(DistillConfig.model_validate({"model": {"backbone": "test_convnext"}}))
