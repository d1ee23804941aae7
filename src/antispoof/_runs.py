"""Run folders: every run writes ``runs/<name>/`` with what it takes to reproduce it.

A run folder holds:

- ``config.yaml``: the resolved config (file + overrides + defaults), reloadable;
- ``run.json``: name, seed, git revision (``"unknown"`` outside git) and whether the
  tree had uncommitted changes, package version, command line, start time, Python and
  platform, and the run's ``state`` (below);
- ``run.log``: the package's log records for the run;
- the run's outputs.

A run knows whether it finished. ``run.json["state"]`` is ``{"status": ..., ...}`` with
status ``running`` (with the host and process id), ``finished``, ``interrupted`` (the
signal, epoch and step, and the command that resumes it) or ``failed`` (the error); it is
rewritten atomically at each change. A SIGKILL leaves ``running`` behind: a run whose
process is gone is reported as killed. Commands that read a run's weights call
:func:`require_finished` (runs made before states were recorded have none and pass).

In a multi-process launch (Lightning's ``ddp``, ``torchrun``, SLURM) every process runs
the same command: global rank 0 makes the folder and writes in it; the other ranks get
the same folder (:mod:`antispoof._launch`) and write nothing of their own.

Two runs never share a folder: a folder is created atomically, an automatic name gets a
numeric suffix when taken, and an existing named run is only replaced with
``overwrite=True``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from antispoof import __version__
from antispoof._files import write_atomic
from antispoof._logging import add_file_handler, remove_file_handler
from antispoof.config import config_to_yaml

__all__ = ["Run", "create_run", "git_revision", "RunExistsError", "RunNotFinished", "RUN_FILE", "set_run_state",
           "run_state", "require_finished", "resume_command", "update_run_info"]

log = logging.getLogger(__name__)


RUN_FILE = "run.json"


class RunExistsError(FileExistsError):
    """The run folder exists and ``overwrite`` was not given."""


class RunNotFinished(ValueError):
    """A command needs a finished run and was given one still training, interrupted, killed or failed."""


@dataclass
class Run:
    """An open run folder; ``close()`` detaches its log file."""

    dir: Path
    info: dict[str, Any]
    _handler: logging.Handler | None = field(default=None, repr=False)
    _pointer: Path | None = field(default=None, repr=False)

    def path(self, *parts: str) -> Path:
        """A path inside the run folder (parents created)."""
        p = self.dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def close(self) -> None:
        if self._handler is not None:
            remove_file_handler(self._handler)
            self._handler = None
        if self._pointer is not None:  # every rank found the folder when its training began
            self._pointer.unlink(missing_ok=True)
            self._pointer = None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def create_run(
    config: BaseModel,
    *,
    root: str | Path = "runs",
    name: str | None = None,
    overwrite: bool = False,
    command: list[str] | None = None,
) -> Run:
    """Create and fill a new run folder under ``root`` for ``config`` (which must have a ``seed``).

    On a rank other than 0 of a multi-process launch: the folder rank 0 made for the same run, untouched.
    """
    from antispoof._launch import current_launch, find_published_run, launch_key, may_have_other_ranks, publish_run

    global _RUNS_MADE
    root = Path(root)
    launch, index = current_launch(), _RUNS_MADE
    _RUNS_MADE += 1
    if not launch.is_zero:
        run_dir = find_published_run(root, index)
        return Run(dir=run_dir, info=_read_info(run_dir) or {"name": run_dir.name})
    root.mkdir(parents=True, exist_ok=True)
    run_dir = _make_dir(root, name, overwrite)
    revision, dirty = git_revision()
    info = {
        "name": run_dir.name,
        "seed": getattr(config, "seed", None),
        "git_revision": revision,
        "git_dirty": dirty,
        "version": __version__,
        "command": command if command is not None else list(sys.argv),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "launch": {**launch.record(), "key": launch_key()},
    }
    (run_dir / "config.yaml").write_text(config_to_yaml(config), encoding="utf-8")
    _write_info(run_dir, info)
    handler = add_file_handler(run_dir / "run.log")
    log.info("run folder %s (seed %s, revision %s)", run_dir, info["seed"], revision)
    pointer = publish_run(root, index, run_dir) if may_have_other_ranks(config) else None
    return Run(dir=run_dir, info=info, _handler=handler, _pointer=pointer)


#: Run folders this process asked for so far: every rank asks for the same ones in the same order.
_RUNS_MADE = 0


def _write_info(run_dir: Path, info: dict[str, Any]) -> None:
    write_atomic(run_dir / RUN_FILE, json.dumps(info, indent=2) + "\n")  # a kill never leaves a half-written run.json


def _read_info(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(run_dir) / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def set_run_state(run_dir: str | Path, status: str, **facts: Any) -> None:
    """Record the run's ``state`` in its ``run.json``: ``status`` (running, finished, interrupted, failed) and ``facts``."""
    if status not in _STATUSES:
        raise ValueError(f"unknown run status {status!r}; one of {', '.join(_STATUSES)}")
    run_dir = Path(run_dir)
    info = _read_info(run_dir) or {"name": run_dir.name}
    state: dict[str, Any] = {"status": status, **facts,
                             "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    if status == "running":
        state.update(host=platform.node(), pid=os.getpid())
    info["state"] = state
    _write_info(run_dir, info)


_STATUSES = ("running", "finished", "interrupted", "failed")


def update_run_info(run_dir: str | Path, **keys: Any) -> None:
    """Set top-level ``keys`` of the run's ``run.json`` (facts known once training starts: devices, nodes, strategy)."""
    run_dir = Path(run_dir)
    info = _read_info(run_dir) or {"name": run_dir.name}
    info.update(keys)
    _write_info(run_dir, info)


def run_state(run_dir: str | Path) -> dict[str, Any] | None:
    """The recorded state of a run folder, with ``killed: true`` for a ``running`` run whose process on this host is gone;
    None when the run records none (made before run states, or not a run folder)."""
    info = _read_info(Path(run_dir))
    state = dict(info["state"]) if info and isinstance(info.get("state"), dict) else None
    if state and state.get("status") == "running" and state.get("host") == platform.node():
        state["killed"] = not _alive(int(state.get("pid", -1)))
    return state


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process of that number
        return True
    return True


def resume_command(run_dir: str | Path) -> str:
    return f"antispoof train --resume {run_dir}"


def require_finished(run_dir: str | Path, what: str = "its weights") -> None:
    """Refuse a run folder that did not finish training, saying what happened and how to resume it."""
    state = run_state(run_dir)
    if state is None or state["status"] == "finished":
        return
    status, where = state["status"], _where(state)
    if status == "interrupted":
        why = f"was interrupted by {state.get('signal', 'a signal')}{where}"
    elif status == "failed":
        why = f"failed{where}: {state.get('error', 'see its run.log')}"
    elif state.get("killed"):
        why = f"was killed{where or ' while training'} (its process {state.get('pid')} is gone)"
    else:
        why = f"is still training (process {state.get('pid')} on {state.get('host')})"
    fix = ("wait for it to finish" if status == "running" and not state.get("killed")
           else f"resume it with `{resume_command(run_dir)}`" if status != "failed"
           else f"fix the cause and resume it with `{resume_command(run_dir)}`, or train it again")
    raise RunNotFinished(f"run {run_dir} {why} and has no final weights, so {what} cannot be used; {fix}")


def _where(state: dict[str, Any]) -> str:
    parts = [f"{k} {state[k]}" for k in ("stage", "epoch", "step") if state.get(k) is not None]
    return f" at {', '.join(parts)}" if parts else ""


def _make_dir(root: Path, name: str | None, overwrite: bool) -> Path:
    if name is not None:
        if not name or Path(name).name != name or name in (".", ".."):
            raise ValueError(f"run name {name!r} must be a plain folder name, without '/'")
        run_dir = root / name
        if run_dir.exists() and not overwrite and _failed_before_training(run_dir):
            log.info("run folder %s holds a run that failed before its first checkpoint; replacing it", run_dir)
            overwrite = True
        if run_dir.exists():
            if not overwrite:
                raise RunExistsError(
                    f"run folder {run_dir} already exists; pass --overwrite to replace it, "
                    "or choose another name"
                )
            shutil.rmtree(run_dir)
        run_dir.mkdir()
        return run_dir
    stem = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(10_000):
        run_dir = root / (stem if i == 0 else f"{stem}-{i}")
        try:
            run_dir.mkdir()  # atomic: a concurrent run gets FileExistsError and tries the next
            return run_dir
        except FileExistsError:
            continue
    raise RuntimeError(f"could not find a free run folder name under {root}")


def _failed_before_training(run_dir: Path) -> bool:
    """A folder of a run that failed before it trained anything (nothing in it is worth keeping)."""
    state = run_state(run_dir)
    return bool(state and state["status"] == "failed" and not any(run_dir.glob("**/*.ckpt")))


def git_revision(path: str | Path | None = None) -> tuple[str, bool | None]:
    """``(commit hash, has uncommitted changes)`` of the git tree holding ``path`` (default: this package).

    Returns ``("unknown", None)`` outside a git tree or without git.
    """
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if rev.returncode != 0:
            return "unknown", None
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return rev.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
