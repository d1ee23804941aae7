"""Stopped or killed at any moment: a run knows whether it finished, a signal stops it cleanly, a resume is exact.

In-process here (a callback sends the signal to this very process at a chosen batch); the
whole commands under real SIGKILL and SIGTERM are in ``test_faults.py`` (slow).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import torch
from frames_double import FramesDouble
from lightning.pytorch.callbacks import Callback
from safetensors.torch import load_file

from antispoof._runs import RunNotFinished, create_run, require_finished, run_state, set_run_state
from antispoof.config import ExperimentConfig, load_config
from antispoof.methods.entry import EntryConfig
from antispoof.training.runner import TrainingInterrupted, resume, train, train_or_resume
from antispoof.weights import load_state

# dropout draws from the global random state, two loader workers keep their iterator between epochs: both used to
# make a resumed run differ from the uninterrupted one
TINY = {"model": {"backbone": "test_convnext", "drop_rate": 0.5}, "data": {"image_size": 32}, "seed": 5,
        "train": {"max_epochs": 3, "batch_size": 8, "lr": 3e-3, "progress": False, "augment": "entry", "accelerator": "cpu",
                  "lr_schedule": "exponential", "lr_gamma": 0.5, "num_workers": 2, "deterministic": True}}


def _config(**train) -> EntryConfig:
    return EntryConfig.model_validate({**TINY, "train": {**TINY["train"], **train}})


def _datasets():
    return FramesDouble(n=24, size=40), FramesDouble(n=8, size=40, seed=1)


class _SignalAt(Callback):
    """Sends ``signum`` to this process at batch ``batch`` of epoch ``epoch`` (in training or in validation)."""

    def __init__(self, signum: int, epoch: int, batch: int, during: str = "train") -> None:
        self.signum, self.epoch, self.batch, self.during = signum, epoch, batch, during

    def _maybe(self, trainer, batch_idx: int, during: str) -> None:
        if during == self.during and trainer.current_epoch == self.epoch and batch_idx == self.batch:
            self.handler = signal.getsignal(self.signum)
            os.kill(os.getpid(), self.signum)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._maybe(trainer, batch_idx, "train")

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self._maybe(trainer, batch_idx, "val")


def _max_diff(a_dir, b_dir) -> float:
    a, b = load_file(a_dir / "model.safetensors"), load_file(b_dir / "model.safetensors")
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


@pytest.fixture(autouse=True)
def terminal_signals():
    """SIGTERM and SIGINT as in a terminal (a background job, as under CI, starts with SIGINT ignored)."""
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def test_an_ignored_signal_stays_ignored():
    from antispoof.training.signals import StopOnSignal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # nohup'd or a background job: Ctrl-C is not for it
    with StopOnSignal():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # caught: it stops at a batch boundary
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


class _TwoProcesses:
    """A trainer of a 2-process run as one process sees it: ``reduce`` takes the max with the other process's value."""

    world_size = 2

    def __init__(self, other_signum: int) -> None:
        self.other = other_signum
        self.strategy = self
        self.root_device = torch.device("cpu")

    def reduce(self, tensor, reduce_op):
        assert reduce_op == "max"
        return torch.maximum(tensor, torch.tensor(self.other))


@pytest.mark.parametrize("mine,other", [(None, 0), (None, signal.SIGTERM), (signal.SIGINT, 0), (signal.SIGINT, signal.SIGTERM)])
def test_every_process_of_a_run_stops_at_the_same_batch_whichever_the_signal_reached(mine, other):
    """A process that goes on while another stops waits forever in its next gradient all-reduce."""
    from antispoof.training.signals import StopOnSignal, _Stop

    stop = StopOnSignal()
    stop.signum = mine
    trainer = _TwoProcesses(other)
    if not (mine or other):
        stop.on_train_batch_end(trainer)  # nobody was signalled: the batch goes on
        return
    with pytest.raises(_Stop):
        stop.on_train_batch_end(trainer)
    assert stop.signum == (mine or other)  # its own signal when it had one, else the other process's


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return train(_config(), out=tmp_path_factory.mktemp("whole") / "run", datasets=_datasets())


@pytest.mark.parametrize("signum,epoch,batch,during", [(signal.SIGTERM, 1, 1, "train"), (signal.SIGINT, 2, 0, "val"),
                                                       (signal.SIGTERM, 0, 2, "train")])
def test_a_signal_stops_with_no_weights_and_the_resume_is_exact(tmp_path, whole, signum, epoch, batch, during):
    run = tmp_path / "stopped"
    sender = _SignalAt(signum, epoch, batch, during)
    with pytest.raises(TrainingInterrupted) as stop:
        train(_config(), out=run, datasets=_datasets(), callbacks=[sender])
    # ours alone, not Lightning's (whose SIGTERM handler runs a collective inside the handler, see signals.py)
    assert type(getattr(sender.handler, "__self__", None)).__name__ == "StopOnSignal"
    assert stop.value.exit_code == 128 + signum and stop.value.run_dir == run
    assert not (run / "model.safetensors").exists()  # nothing half-trained passed off as the run's weights
    state = run_state(run)
    assert state["status"] == "interrupted" and state["signal"] == signal.Signals(signum).name
    assert state["epoch"] == epoch and state["resume"] == f"antispoof train --resume {run}"
    with pytest.raises(RunNotFinished, match=r"interrupted by SIG.*antispoof train --resume"):
        load_state(run)  # evaluate, calibrate, export, ensemble and init_from all read weights through here
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if epoch == 0:  # stopped before its first epoch ended: nothing to resume from
        with pytest.raises(FileNotFoundError, match="before its first epoch"):
            resume(run, datasets=_datasets())
        return
    resume(run, datasets=_datasets())
    assert run_state(run)["status"] == "finished"
    assert _max_diff(whole, run) <= 1e-6


def test_the_comparison_can_fail(tmp_path, whole):
    """Another seed gives other weights: the equality above is not trivially true."""
    cfg = EntryConfig.model_validate({**TINY, "seed": 6})
    run = train(cfg, out=tmp_path / "seed6", datasets=_datasets())
    assert _max_diff(whole, run) > 1e-4


class _Fail(Callback):
    def on_train_start(self, trainer, pl_module):
        raise RuntimeError("broken before the first batch")


def test_a_failed_run_says_so_and_its_folder_is_reused(tmp_path):
    with pytest.raises(RuntimeError, match="broken"):
        train(_config(), out=tmp_path / "bad", datasets=_datasets(), callbacks=[_Fail()])
    state = run_state(tmp_path / "bad")
    assert state["status"] == "failed" and state["error"]
    with pytest.raises(RunNotFinished, match="failed"):
        require_finished(tmp_path / "bad")
    run = train(_config(max_epochs=1), out=tmp_path / "bad", datasets=_datasets())  # no --overwrite needed: nothing to keep
    assert run_state(run)["status"] == "finished"


def test_states_and_what_each_refusal_says(tmp_path):
    cfg = load_config(ExperimentConfig, overrides=["seed=1"])
    with create_run(cfg, root=tmp_path, name="r") as run:
        pass
    require_finished(run.dir)  # no state recorded (runs made before states): accepted
    set_run_state(run.dir, "running")
    assert run_state(run.dir)["killed"] is False  # this very process
    with pytest.raises(RunNotFinished, match="still training"):
        require_finished(run.dir)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    info = json.loads((run.dir / "run.json").read_text())
    info["state"]["pid"] = int(dead.stdout)
    (run.dir / "run.json").write_text(json.dumps(info))
    with pytest.raises(RunNotFinished, match=r"was killed .*antispoof train --resume"):
        require_finished(run.dir)
    set_run_state(run.dir, "finished")
    require_finished(run.dir)
    assert json.loads((run.dir / "run.json").read_text())["seed"] == 1  # the rest of run.json is kept
    with pytest.raises(ValueError, match="unknown run status"):
        set_run_state(run.dir, "done")


def test_train_or_resume_keeps_resumes_and_retrains(tmp_path, whole):
    run = tmp_path / "cell"
    with pytest.raises(TrainingInterrupted):
        train(_config(), out=run, datasets=_datasets(), callbacks=[_SignalAt(signal.SIGTERM, 1, 0)])
    # train_or_resume reads the config's own data; give the datasets through the same engine path as the tests above
    import antispoof.training.runner as runner

    calls = []
    real_resume, real_train = runner.resume, runner.train
    runner.resume = lambda out, **kw: calls.append("resume") or real_resume(out, datasets=_datasets(), **kw)
    runner.train = lambda config, **kw: calls.append("train") or real_train(config, datasets=_datasets(), **kw)
    try:
        assert train_or_resume(_config(), run)[1] == "resumed"
        assert _max_diff(whole, run) <= 1e-6
        assert train_or_resume(_config(), run)[1] == "kept"
        assert train_or_resume(_config(max_epochs=1), run)[1] == "trained"  # another config: the folder is replaced
    finally:
        runner.resume, runner.train = real_resume, real_train
    assert calls == ["resume", "train"]


def test_a_run_records_absolute_paths_so_it_is_read_from_any_folder(tmp_path, monkeypatch):
    from antispoof.config import with_absolute_paths
    from antispoof.methods import read_run_config

    monkeypatch.chdir(tmp_path)
    cfg = EntryConfig.model_validate({**TINY, "data": {"image_size": 32, "store": "stores/s1"}, "init_from": None})
    assert with_absolute_paths(cfg).data.store == tmp_path / "stores" / "s1"
    assert with_absolute_paths(cfg).model == cfg.model  # sections without paths are the same objects' values
    run = train(_config(max_epochs=1).model_copy(update={"data": cfg.data}), out="runs/r", datasets=_datasets())
    monkeypatch.chdir("/")
    assert read_run_config(tmp_path / run).data.store == tmp_path / "stores" / "s1"
