"""Two-process DDP on CPU (gloo) reaches the weights of one process with the same global batch."""

from __future__ import annotations

import pytest
import torch
from frames_double import FramesDouble
from safetensors.torch import load_file

from antispoof.methods.entry import EntryConfig
from antispoof.training.runner import train


def _config(batch_size: int, **train) -> EntryConfig:
    # test_convnext has no BatchNorm, so per-process batch statistics cannot differ;
    # every sample carries all attributes, so each process's masked mean covers as many entries.
    return EntryConfig.model_validate(
        {
            "model": {"backbone": "test_convnext"},
            "data": {"image_size": 32},
            "train": {"max_epochs": 2, "batch_size": batch_size, "lr": 1e-3, "progress": False, "accelerator": "cpu", **train},
        }
    )


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tmp_path):
    data = (FramesDouble(n=32, size=40), None)
    one = train(_config(16), out=tmp_path / "one", datasets=data)
    two = train(_config(8, devices=2, strategy="ddp_spawn"), out=tmp_path / "two", datasets=data)
    a, b = load_file(one / "model.safetensors"), load_file(two / "model.safetensors")
    assert a.keys() == b.keys()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst < 1e-4, worst
    # the runs trained (4 steps at lr 1e-3 move the heads well beyond the tolerance)
    fresh = train(_config(16, max_steps=1), out=tmp_path / "fresh", datasets=data)
    c = load_file(fresh / "model.safetensors")
    assert max((a[k] - c[k]).abs().max().item() for k in a) > 1e-3
