"""Which process of a launch this is, read from the environment its launcher set, before any process group exists.

A multi-process training runs the same command in every process: Lightning's ``ddp``
starts the other local ranks by running the command line again (with ``LOCAL_RANK``),
``torchrun`` starts every rank at once (``RANK``, ``WORLD_SIZE``, ``GROUP_RANK``,
``TORCHELASTIC_RUN_ID``), SLURM's ``srun`` too (``SLURM_PROCID``, ``SLURM_NTASKS``,
``SLURM_NODEID``). Global rank 0 alone writes: it makes each run folder and prepares
frame stores; the other ranks find the same folder through a small pointer file keyed by
the launch (:func:`launch_key`) and the run's position in the command (every rank makes
the same runs in the same order), and wait for stores. The key is one string shared by
all processes of one launch: the launcher's own identity (torchrun's run id and
rendezvous address, SLURM's job and step), or, for Lightning's ``ddp``, an id the first
process puts in its environment before it starts the others.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Launch", "current_launch", "launch_key", "publish_run", "find_published_run", "agree", "may_have_other_ranks",
           "wait_for"]

LAUNCH_ENV = "ANTISPOOF_LAUNCH"
_PROCESS_START = time.time()


@dataclass(frozen=True)
class Launch:
    """This process's place in its launch: ``rank`` of ``world_size`` processes, on node ``node`` (None: unknown yet)."""

    launcher: str  # single | lightning | torchrun | slurm
    rank: int
    world_size: int | None
    node: int

    @property
    def is_zero(self) -> bool:
        return self.rank == 0

    def record(self) -> dict[str, Any]:
        return {"launcher": self.launcher, "world_size": self.world_size, "node": self.node}


def current_launch() -> Launch:
    env = os.environ
    if "TORCHELASTIC_RUN_ID" in env and "RANK" in env:
        return Launch("torchrun", int(env["RANK"]), int(env.get("WORLD_SIZE", 1)), int(env.get("GROUP_RANK", 0)))
    if "SLURM_PROCID" in env and int(env.get("SLURM_NTASKS", "1")) > 1:
        return Launch("slurm", int(env["SLURM_PROCID"]), int(env["SLURM_NTASKS"]), int(env.get("SLURM_NODEID", 0)))
    if "LOCAL_RANK" in env and LAUNCH_ENV in env:  # a process Lightning's ddp started (or its first one, once it has)
        node, local = int(env.get("NODE_RANK", 0)), int(env["LOCAL_RANK"])
        return Launch("lightning", 0 if node == 0 and local == 0 else max(1, local), int(env.get("WORLD_SIZE", 1)), node)
    return Launch("single", 0, None, 0)


def launch_key() -> str:
    """One string shared by every process of this launch (made and put in the environment by the first process)."""
    env = os.environ
    if "TORCHELASTIC_RUN_ID" in env and "RANK" in env:
        return f"torchrun:{env['TORCHELASTIC_RUN_ID']}:{env.get('MASTER_ADDR')}:{env.get('MASTER_PORT')}"
    if "SLURM_PROCID" in env and int(env.get("SLURM_NTASKS", "1")) > 1:
        return f"slurm:{env.get('SLURM_JOB_ID')}.{env.get('SLURM_STEP_ID', '0')}"
    if LAUNCH_ENV not in env:  # the first process: Lightning's ddp copies its environment into the others
        env[LAUNCH_ENV] = uuid.uuid4().hex
    return f"lightning:{env[LAUNCH_ENV]}"


def _published(root: Path, topic: str) -> Path:
    """Where rank 0 of this launch publishes ``topic`` under ``root`` (hidden, named by the launch and the topic)."""
    import hashlib

    digest = hashlib.sha256(f"{launch_key()}|{topic}".encode()).hexdigest()[:16]
    return Path(root) / f".launch-{digest}.json"


def _publish(root: Path, topic: str, value: Any) -> Path:
    from antispoof._files import write_atomic

    path = _published(root, topic)
    write_atomic(path, json.dumps({"topic": topic, "value": value}))
    return path


def _await(root: Path, topic: str, timeout: float, what: str) -> Any:
    path = _published(root, topic)

    def ready() -> bool:  # written during this launch (a file a crashed launch left behind is older)
        return path.is_file() and path.stat().st_mtime >= _PROCESS_START - 300

    wait_for(ready, timeout, what)
    return json.loads(path.read_text(encoding="utf-8"))["value"]


def publish_run(root: Path, index: int, run_dir: Path) -> Path:
    """Rank 0: say that run number ``index`` of this launch is ``run_dir`` (the other ranks read it); the file's path."""
    return _publish(root, f"run {index}", str(run_dir))


def find_published_run(root: Path, index: int, timeout: float = 900.0) -> Path:
    """Another rank: wait for rank 0 to publish run number ``index`` of this launch; its folder."""
    return Path(_await(root, f"run {index}", timeout, f"rank 0 to make run {index} of this launch under {root}"))


def may_have_other_ranks(config: Any) -> bool:
    """Whether other processes may share this one's work: a launch of several, or one that will start more
    (``train.devices`` or ``train.num_nodes`` above 1)."""
    train = getattr(config, "train", None)
    devices, nodes = getattr(train, "devices", 1), getattr(train, "num_nodes", 1)
    return current_launch().launcher != "single" or devices not in (1, "1") or nodes != 1


def agree(root: Path, topic: str, decide: Any, config: Any, timeout: float = 900.0) -> Any:
    """A decision every rank takes as rank 0 took it: rank 0 calls ``decide()`` and publishes the (JSON) answer under
    ``root`` for ``topic``; the other ranks wait for it. A process alone (``config`` trains on one device) just decides."""
    import atexit

    if not may_have_other_ranks(config):
        return decide()
    if current_launch().is_zero:
        answer = decide()
        path = _publish(root, f"decision {topic}", answer)
        atexit.register(path.unlink, missing_ok=True)  # the other ranks read it long before this process ends
        return answer
    return _await(root, f"decision {topic}", timeout, f"rank 0 to decide {topic}")


def wait_for(ready: Any, timeout: float, what: str) -> None:
    """Poll ``ready()`` until true; a clear error after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}; is rank 0 running, and do all ranks see the same "
                               "folders (a shared file system across nodes)?")
        time.sleep(0.2)
