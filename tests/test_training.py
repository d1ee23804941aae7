"""The engine: seeded sampling, checkpoints, exported weights, resume reaching the uninterrupted result."""

from __future__ import annotations

import pytest
import torch
from frames_double import FramesDouble
from lightning.pytorch.callbacks import Callback
from safetensors.torch import load_file

from antispoof.methods.entry import EntryConfig
from antispoof.training.data import Augmented, EpochSampler
from antispoof.data.transforms import build_transform
from antispoof.training.runner import load_trained, read_run_config, resume, train

TINY = {"model": {"backbone": "test_convnext"}, "data": {"image_size": 32},
        "train": {"max_epochs": 2, "batch_size": 8, "lr": 1e-3, "progress": False, "augment": "entry", "accelerator": "cpu",
                  "num_workers": 0}}


def _config(**train) -> EntryConfig:
    raw = {**TINY, "train": {**TINY["train"], **train}}
    return EntryConfig.model_validate(raw)


def _datasets():
    return FramesDouble(n=24, size=40), FramesDouble(n=8, size=40, seed=1)


def test_epoch_sampler_is_seeded_and_shards_like_one_process():
    one = list(EpochSampler(10, seed=3, num_replicas=1))
    assert one == list(EpochSampler(10, seed=3))
    assert one != list(EpochSampler(10, seed=4))
    s = EpochSampler(10, seed=3)
    s.set_epoch(2)
    second = list(s)
    assert sorted(i - 20 for i in second) == list(range(10)) and second != [i + 20 for i in one]
    r0, r1 = list(EpochSampler(10, 3, num_replicas=2, rank=0)), list(EpochSampler(10, 3, num_replicas=2, rank=1))
    assert [x for pair in zip(r0, r1) for x in pair] == one


def test_augmentation_depends_on_seed_epoch_and_index_only():
    data = Augmented(FramesDouble(n=4), build_transform("entry", 32), seed=0)
    a, b = data[5]["image"], data[5]["image"]  # epoch 1, index 1, twice
    assert torch.equal(a, b)
    assert not torch.equal(data[1]["image"], data[5]["image"])  # same index, another epoch


class _KillAtEpoch(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == 1:
            raise RuntimeError("killed")


# onecycle with loader workers: the schedule asks for the run's length, which builds the loader before the checkpoint
# is restored, and its persistent workers used to serve epoch 0's batches in the resumed epoch
@pytest.mark.parametrize("schedule,workers", [("constant", 0), ("onecycle", 0), ("onecycle", 2)])
def test_resume_reaches_the_uninterrupted_weights(tmp_path, schedule, workers):
    whole = train(_config(lr_schedule=schedule, num_workers=workers), out=tmp_path / "whole", datasets=_datasets())
    with pytest.raises(RuntimeError, match="killed"):
        train(_config(lr_schedule=schedule, num_workers=workers), out=tmp_path / "killed", datasets=_datasets(),
              callbacks=[_KillAtEpoch(1)])
    assert (tmp_path / "killed" / "checkpoints" / "last.ckpt").is_file()
    resume(tmp_path / "killed", datasets=_datasets())
    a, b = load_file(whole / "model.safetensors"), load_file(tmp_path / "killed" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    # and training did change the weights (the comparison is not trivially true)
    start = train(_config(max_steps=1), out=tmp_path / "one_step", datasets=_datasets())
    c = load_file(start / "model.safetensors")
    assert any(not torch.allclose(a[k], c[k]) for k in a)


class _RecordLR(Callback):
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_onecycle_warms_up_to_the_lr_then_decays_over_the_whole_run(tmp_path):
    record = _RecordLR()
    train(_config(max_epochs=4, lr_schedule="onecycle", warmup=0.25), out=tmp_path / "r", datasets=_datasets(), callbacks=[record])
    lrs = record.lrs
    assert len(lrs) == 12  # 4 epochs x 3 batches: the schedule spans the run, epochs included
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    assert peak == 2 and lrs[peak] == pytest.approx(1e-3)  # reached at step 25% x 12 - 1 (steps count from 0)
    assert lrs[0] == pytest.approx(1e-3 / 25)  # OneCycle's starting point: max_lr / div_factor
    assert all(a < b for a, b in zip(lrs[:peak], lrs[1 : peak + 1])) and all(a > b for a, b in zip(lrs[peak:], lrs[peak + 1 :]))
    assert lrs[-1] < 0.05 * lrs[peak]
    constant = _RecordLR()
    train(_config(max_epochs=1), out=tmp_path / "c", datasets=_datasets(), callbacks=[constant])
    assert constant.lrs == [1e-3] * 3


def test_warmup_step_and_exponential_schedules_and_adam(tmp_path):
    record = _RecordLR()
    train(_config(max_epochs=4, lr_schedule="warmup_step", lr_gamma=0.5, lr_step_size=3, optimizer="adam"),
          out=tmp_path / "w", datasets=_datasets(), callbacks=[record])
    # 3 steps an epoch: linear warm-up over the first epoch, then x0.5 every 3 steps
    assert record.lrs == pytest.approx([1e-3 / 3, 2e-3 / 3, 1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 2.5e-4])
    exponential = _RecordLR()
    train(_config(max_epochs=3, lr_schedule="exponential", lr_gamma=0.5), out=tmp_path / "e", datasets=_datasets(),
          callbacks=[exponential])
    assert exponential.lrs == pytest.approx([1e-3] * 3 + [5e-4] * 3 + [2.5e-4] * 3)  # per epoch


def test_run_folder_holds_config_checkpoint_and_weights_and_reloads(tmp_path):
    run = train(_config(max_epochs=1), out=tmp_path / "r", datasets=_datasets())
    for name in ("config.yaml", "run.json", "run.log", "model.safetensors", "checkpoints/last.ckpt"):
        assert (run / name).is_file(), name
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["optimizer_states"] and ckpt["global_step"] == 3  # 24 samples / batch 8
    assert read_run_config(run).model.backbone == "test_convnext"
    method = load_trained(run)
    batch = {"image": torch.randn(3, 3, 32, 32)}
    s = method.score(batch)
    assert s.shape == (3,) and torch.all((s >= 0) & (s <= 1))


def test_resume_without_checkpoint_says_what_to_do(tmp_path):
    with pytest.raises(RuntimeError):
        train(_config(), out=tmp_path / "k", datasets=_datasets(), callbacks=[_KillAtEpoch(0)])
    with pytest.raises(FileNotFoundError, match="before its first epoch"):
        resume(tmp_path / "k", datasets=_datasets())
