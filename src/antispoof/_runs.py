"""Run folders: every run writes ``runs/<name>/`` with what it takes to reproduce it.

A run folder holds:

- ``config.yaml``: the resolved config (file + overrides + defaults), reloadable;
- ``run.json``: name, seed, git revision (``"unknown"`` outside git) and whether the
  tree had uncommitted changes, package version, command line, start time, Python and
  platform;
- ``run.log``: the package's log records for the run;
- the run's outputs.

Two runs never share a folder: a folder is created atomically, an automatic name gets a
numeric suffix when taken, and an existing named run is only replaced with
``overwrite=True``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from antispoof import __version__
from antispoof._logging import add_file_handler, remove_file_handler
from antispoof.config import config_to_yaml

__all__ = ["Run", "create_run", "git_revision", "RunExistsError"]

log = logging.getLogger(__name__)


class RunExistsError(FileExistsError):
    """The run folder exists and ``overwrite`` was not given."""


@dataclass
class Run:
    """An open run folder; ``close()`` detaches its log file."""

    dir: Path
    info: dict[str, Any]
    _handler: logging.Handler | None = field(default=None, repr=False)

    def path(self, *parts: str) -> Path:
        """A path inside the run folder (parents created)."""
        p = self.dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def close(self) -> None:
        if self._handler is not None:
            remove_file_handler(self._handler)
            self._handler = None

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
    """Create and fill a new run folder under ``root`` for ``config`` (which must have a ``seed``)."""
    root = Path(root)
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
    }
    (run_dir / "config.yaml").write_text(config_to_yaml(config), encoding="utf-8")
    (run_dir / "run.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    handler = add_file_handler(run_dir / "run.log")
    log.info("run folder %s (seed %s, revision %s)", run_dir, info["seed"], revision)
    return Run(dir=run_dir, info=info, _handler=handler)


def _make_dir(root: Path, name: str | None, overwrite: bool) -> Path:
    if name is not None:
        if not name or Path(name).name != name or name in (".", ".."):
            raise ValueError(f"run name {name!r} must be a plain folder name, without '/'")
        run_dir = root / name
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
