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


def _pointer(root: Path, index: int) -> Path:
    import hashlib

    digest = hashlib.sha256(launch_key().encode()).hexdigest()[:16]
    return Path(root) / f".launch-{digest}-{index}.json"


def publish_run(root: Path, index: int, run_dir: Path) -> Path:
    """Rank 0: say that run number ``index`` of this launch is ``run_dir`` (the other ranks read it)."""
    path = _pointer(root, index)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"run": str(run_dir), "key": launch_key()}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def find_published_run(root: Path, index: int, timeout: float = 900.0) -> Path:
    """Another rank: wait for rank 0 to publish run number ``index`` of this launch; its folder."""
    path = _pointer(root, index)

    def ready() -> bool:  # written during this launch (a pointer a crashed launch left behind is older)
        return path.is_file() and path.stat().st_mtime >= _PROCESS_START - 300

    wait_for(ready, timeout, f"rank 0 to make run {index} of this launch under {root}")
    return Path(json.loads(path.read_text(encoding="utf-8"))["run"])


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
    import hashlib

    launch = current_launch()
    if not may_have_other_ranks(config):
        return decide()
    digest = hashlib.sha256(f"{launch_key()}|{topic}".encode()).hexdigest()[:16]
    path = Path(root) / f".launch-{digest}-decision.json"
    if launch.is_zero:
        answer = decide()
        Path(root).mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"topic": topic, "answer": answer}), encoding="utf-8")
        os.replace(tmp, path)
        atexit.register(path.unlink, missing_ok=True)  # the other ranks read it long before this process ends
        return answer
    wait_for(lambda: path.is_file() and path.stat().st_mtime >= _PROCESS_START - 300, timeout,
             f"rank 0 to decide {topic}")
    return json.loads(path.read_text(encoding="utf-8"))["answer"]


def wait_for(ready: Any, timeout: float, what: str) -> None:
    """Poll ``ready()`` until true; a clear error after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}; is rank 0 running, and do all ranks see the same "
                               "folders (a shared file system across nodes)?")
        time.sleep(0.2)
