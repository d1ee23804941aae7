"""Multi-process training launched the ways users launch it: Lightning's ddp, torchrun, two torchrun nodes.

The launch environment is read without any process group (fast tests); the CLI under each
launcher, as subprocesses on CPU with gloo, leaves one run folder whose weights equal a
one-process run with the same global batch (slow).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from antispoof import _launch, _runs
from antispoof._launch import current_launch, find_published_run, launch_key, publish_run
from antispoof.config import ExperimentConfig, load_config

BIN = Path(sys.executable).parent


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("TORCHELASTIC_RUN_ID", "RANK", "WORLD_SIZE", "GROUP_RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID",
                 "SLURM_NTASKS", "SLURM_NODEID", "SLURM_JOB_ID", "SLURM_STEP_ID", "MASTER_ADDR", "MASTER_PORT",
                 _launch.LAUNCH_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_each_launcher_is_read_from_its_environment(clean_env):
    assert current_launch().launcher == "single" and current_launch().is_zero
    key = launch_key()  # the first process makes the key and leaves it for the processes Lightning starts
    clean_env.setenv("LOCAL_RANK", "1")
    assert current_launch() == _launch.Launch("lightning", 1, 1, 0) and launch_key() == key
    clean_env.setenv("LOCAL_RANK", "0")
    assert current_launch().is_zero
    clean_env.delenv("LOCAL_RANK")
    clean_env.setenv("TORCHELASTIC_RUN_ID", "job7")
    clean_env.setenv("RANK", "3")
    clean_env.setenv("WORLD_SIZE", "4")
    clean_env.setenv("GROUP_RANK", "1")
    clean_env.setenv("MASTER_ADDR", "node0")
    clean_env.setenv("MASTER_PORT", "29500")
    assert current_launch() == _launch.Launch("torchrun", 3, 4, 1) and launch_key() == "torchrun:job7:node0:29500"
    for name in ("TORCHELASTIC_RUN_ID", "RANK", "WORLD_SIZE", "GROUP_RANK"):
        clean_env.delenv(name)
    clean_env.setenv("SLURM_PROCID", "0")
    clean_env.setenv("SLURM_NTASKS", "1")  # a one-task job is not a launch of several
    assert current_launch().launcher == "single"
    clean_env.setenv("SLURM_NTASKS", "8")
    clean_env.setenv("SLURM_PROCID", "5")
    clean_env.setenv("SLURM_NODEID", "2")
    clean_env.setenv("SLURM_JOB_ID", "99")
    assert current_launch() == _launch.Launch("slurm", 5, 8, 2) and launch_key() == "slurm:99.0"


def test_rank_zero_makes_the_folder_and_another_rank_finds_it_and_writes_nothing(clean_env, tmp_path):
    cfg = load_config(ExperimentConfig, overrides=["seed=1"])
    clean_env.setenv("TORCHELASTIC_RUN_ID", "j")
    clean_env.setenv("RANK", "0")
    clean_env.setenv("WORLD_SIZE", "2")
    clean_env.setattr(_runs, "_RUNS_MADE", 0)
    with _runs.create_run(cfg, root=tmp_path) as run:  # an automatic name: the other rank cannot guess it
        made = sorted(p.name for p in tmp_path.iterdir())
        clean_env.setenv("RANK", "1")
        clean_env.setattr(_runs, "_RUNS_MADE", 0)
        other = _runs.create_run(cfg, root=tmp_path)
        assert other.dir == run.dir and sorted(p.name for p in tmp_path.iterdir()) == made
        clean_env.setenv("RANK", "0")
    assert json.loads((run.dir / "run.json").read_text())["launch"]["launcher"] == "torchrun"
    assert not list(tmp_path.glob(".launch-*"))  # the pointer goes when the run closes
    clean_env.setenv("RANK", "1")
    with pytest.raises(TimeoutError, match="rank 0"):
        find_published_run(tmp_path, 5, timeout=0.5)
    publish_run(tmp_path, 6, tmp_path / "x")
    assert find_published_run(tmp_path, 6) == tmp_path / "x"


# ---------------------------------------------------------------------------------------
# The CLI under each launcher (slow)

COMMON = ["entry", "model.backbone=test_convnext", "data.image_size=32", "train.max_epochs=2", "train.progress=false",
          "train.accelerator=cpu", "seed=2"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("launch")
    _run([str(BIN / "antispoof"), "synth", "--out", "data", "--subjects", "8", "--frames", "12", "--size", "96"], cwd)
    _run([str(BIN / "antispoof"), "prepare", "--dataset", "manifest", "--root", "data", "--out", "store", "--size", "64",
          "--first", "12", "--min-face", "16"], cwd)
    _run([str(BIN / "antispoof"), "train", *COMMON, "data.store=store", "train.batch_size=16", "--out", "runs/one"], cwd)
    return cwd


def _same_as_one_process(work: Path, run: str) -> None:
    folders = sorted(p.name for p in (work / "runs").iterdir())
    assert folders.count(run) == 1 and not [f for f in folders if f.startswith(".launch")], folders
    one, many = load_file(work / "runs" / "one" / "model.safetensors"), load_file(work / "runs" / run / "model.safetensors")
    assert max((one[k] - many[k]).abs().max().item() for k in one) < 1e-4
    info = json.loads((work / "runs" / run / "run.json").read_text())
    assert info["state"]["status"] == "finished" and info["distributed"]["world_size"] == 2
    assert info["distributed"]["global_batch"] == 16 and info["distributed"]["strategy"] == "ddp"


@pytest.mark.slow
def test_devices_2_through_lightning_ddp(work):
    _run([str(BIN / "antispoof"), "train", *COMMON, "data.store=store", "train.batch_size=8", "train.devices=2",
          "--out", "runs/ddp"], work)
    _same_as_one_process(work, "ddp")


@pytest.mark.slow
def test_torchrun_nproc_per_node_2(work):
    _run([str(BIN / "torchrun"), "--nproc_per_node=2", f"--master_port={_free_port()}", "-m", "antispoof", "train", *COMMON,
          "data.store=store", "train.batch_size=8", "train.devices=2", "--out", "runs/torchrun"], work)
    _same_as_one_process(work, "torchrun")


@pytest.mark.slow
def test_two_torchrun_nodes_on_localhost(work):
    port = _free_port()
    nodes = [subprocess.Popen([str(BIN / "torchrun"), "--nnodes=2", "--nproc_per_node=1", f"--node_rank={n}",
                               "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=two-nodes",
                               "-m", "antispoof", "train", *COMMON, "data.store=store", "train.batch_size=8",
                               "train.num_nodes=2", "--out", "runs/nodes"], cwd=work, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in (0, 1)]
    for node in nodes:
        _, err = node.communicate(timeout=900)
        assert node.returncode == 0, err[-4000:]
    _same_as_one_process(work, "nodes")
    assert json.loads((work / "runs" / "nodes" / "run.json").read_text())["distributed"]["nodes"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("config,extra", [
    ("quickstart_lgsc", ["model.weights=null", "model.freeze_encoder=false", "model.freeze_encoder_bn=false",
                         "train.max_epochs=1"]),  # the balanced sampler, sharded
    ("quickstart_sequence", ["model.weights=null", "model.backbone=test_convnext", "train.max_epochs=1",
                             "frame_stage.max_epochs=1"]),  # two stages, each a run folder of its own
])
def test_a_balanced_sampler_and_a_two_stage_method_train_a_step_on_2_devices(work, config, extra):
    name = config.split("_")[1]
    _run([str(BIN / "antispoof"), "train", config, "data.store=store", *extra, "train.max_steps=1", "train.progress=false",
          "train.accelerator=cpu", "train.devices=2", "--out", f"runs/{name}"], work)
    info = json.loads((work / "runs" / name / "run.json").read_text())
    assert info["state"]["status"] == "finished" and (work / "runs" / name / "model.safetensors").is_file()
    distributed = info.get("distributed") or json.loads((work / "runs" / name / "stages" / "clips" / "run.json").read_text())["distributed"]
    assert distributed["world_size"] == 2
    assert torch.isfinite(torch.cat([t.flatten().float() for t in load_file(work / "runs" / name / "model.safetensors").values()])).all()


def _rank_one(parent: int) -> int:
    """The pid of the second process Lightning started from ``parent`` (its child with ``LOCAL_RANK=1``)."""
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        try:
            if b"LOCAL_RANK=1\0" in Path(f"/proc/{child}/environ").read_bytes():
                return int(child)
        except OSError:  # a loader worker that just ended
            continue
    raise AssertionError(f"process {parent} has started no second rank")


@pytest.mark.slow
@pytest.mark.parametrize("target", ["rank 0", "rank 1 only"])
def test_a_two_device_run_stopped_by_sigterm_resumes_to_the_uninterrupted_weights(work, target):
    """Whichever process the signal reaches first (or alone), both stop at the same batch; none waits forever."""
    import signal
    import time

    args = [str(BIN / "antispoof"), "train", *COMMON, "data.store=store", "train.batch_size=8", "train.devices=2",
            "train.max_epochs=3", "train.deterministic=true"]
    if not (work / "runs" / "ddp3").exists():
        _run([*args, "--out", "runs/ddp3"], work)
    stopped = f"runs/stopped-{target.split()[1]}"
    proc = subprocess.Popen([*args, "--out", stopped], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = work / stopped / "run.json"
    while proc.poll() is None:
        try:
            if json.loads(state.read_text())["state"].get("epochs_done", 0) >= 1:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    if target == "rank 0":
        proc.send_signal(signal.SIGTERM)  # as a scheduler's first notice; Lightning passes it on to the other rank
    else:
        os.kill(_rank_one(proc.pid), signal.SIGTERM)  # rank 0 hears of it only through the processes' agreement
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143 and f"antispoof train --resume {stopped}" in err, err[-3000:]
    assert not (work / stopped / "model.safetensors").exists()
    _run([str(BIN / "antispoof"), "train", "--resume", stopped], work)
    a, b = load_file(work / "runs" / "ddp3" / "model.safetensors"), load_file(work / stopped / "model.safetensors")
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6
