"""Staged training: a method that declares stages (``Method.stages_for``) trains them in order, one sub-run each.

A stage is a name and a config overlay (dotted key -> value) on the run's config; each
later stage starts from the one before (``init_from`` = the previous stage's folder; the
first keeps the run's own ``init_from``). The last stage must train the run's own network
(its ``model`` section and input spec equal the run's), so that the run folder behaves as
any other for ``evaluate``, ``calibrate``, ``export`` and bundles::

    RUN/config.yaml, run.json, run.log    the run as given (``antispoof train``)
    RUN/stages.json                       the plan: each stage's name, overlay and status
                                          (pending | running | done)
    RUN/stages/NAME/                      each stage is a run folder of its own: config.yaml
                                          (the run's config + overlay), checkpoints/, logs/,
                                          model.safetensors
    RUN/model.safetensors                 the last stage's weights, copied when it ends

``resume(RUN)`` skips the stages that are done, continues the one that was killed from
its last checkpoint, and starts the rest.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from antispoof._files import write_atomic
from antispoof.config import ConfigError
from antispoof.methods import method_class
from antispoof.methods.base import EngineConfig, Stage
from antispoof.training.checkpoints import LAST_CHECKPOINT, WEIGHTS_FILE

__all__ = ["stages_of", "stage_configs", "apply_overlay", "fit_stages", "PLAN_FILE", "STAGES_DIR"]

log = logging.getLogger(__name__)

PLAN_FILE = "stages.json"
STAGES_DIR = "stages"

#: ``(config, run_dir, resume, callbacks) -> run_dir``: the engine's one-stage fit.
FitOne = Callable[[EngineConfig, Path, bool, Sequence[Any]], Path]


def stages_of(config: EngineConfig) -> list[Stage]:
    """The stages the method of ``config`` declares for it ([] for a plain one-stage run)."""
    stages = list(method_class(config.model.method).stages_for(config))
    names = [s.name for s in stages]
    bad = [n for n in names if not n or Path(n).name != n or n in (".", "..")]
    if bad or len(set(names)) != len(names):
        raise ValueError(f"stage names must be distinct plain folder names, got {names}")
    return stages


def apply_overlay(config: EngineConfig, overlay: dict[str, Any]) -> EngineConfig:
    """``config`` with the dotted keys of ``overlay`` set (validated by the config's own schema)."""
    raw = config.model_dump(mode="json")
    for key, value in overlay.items():
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"stage overlay key {key!r}: {part!r} is not a section of {type(config).__name__}")
            node = node[part]
        node[leaf] = str(value) if isinstance(value, Path) else value
    try:
        return type(config).model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"the stage overlay {overlay} does not fit {type(config).__name__}: {err}") from None


def stage_configs(config: EngineConfig, run_dir: Path, stages: list[Stage]) -> list[EngineConfig]:
    """Each stage's config: the run's config, its overlay, ``init_from`` = the previous stage's folder (not the first's)."""
    configs: list[EngineConfig] = []
    for i, stage in enumerate(stages):
        overlay = dict(stage.overlay)
        if i > 0:
            overlay["init_from"] = str(run_dir / STAGES_DIR / stages[i - 1].name)
        configs.append(apply_overlay(config, overlay))
    last, cls = configs[-1], method_class(config.model.method)
    if last.model != config.model or cls.input_spec_for(last) != cls.input_spec_for(config):
        raise ValueError(f"the last stage ({stages[-1].name}) of {config.model.method} must train the run's own network: its "
                         "overlay may not change the model section or the input spec (the run folder's weights are its weights)")
    return configs


def _plan(stages: list[Stage], status: dict[str, str] | None = None) -> dict[str, Any]:
    return {"stages": [{"name": s.name, "overlay": {k: str(v) if isinstance(v, Path) else v for k, v in s.overlay.items()},
                        "status": (status or {}).get(s.name, "pending")} for s in stages]}


def _write_plan(run_dir: Path, stages: list[Stage], status: dict[str, str]) -> None:
    from antispoof._launch import current_launch

    if not current_launch().is_zero:  # on several devices rank 0 keeps the plan
        return
    write_atomic(run_dir / PLAN_FILE, json.dumps(_plan(stages, status), indent=2) + "\n")


def _read_status(run_dir: Path, stages: list[Stage]) -> dict[str, str]:
    path = run_dir / PLAN_FILE
    if not path.is_file():
        return {}
    saved = json.loads(path.read_text(encoding="utf-8"))
    fresh = _plan(stages)
    if [(s["name"], s["overlay"]) for s in saved["stages"]] != [(s["name"], s["overlay"]) for s in fresh["stages"]]:
        raise ValueError(f"{path} records another stage plan than the run's config gives now; "
                         "the run was made by another version of its method: train it again")
    return {s["name"]: s["status"] for s in saved["stages"]}


def fit_stages(config: EngineConfig, run_dir: Path, stages: list[Stage], fit_one: FitOne, *, resume: bool = False,
               callbacks: Sequence[Any] = ()) -> Path:
    """Train ``stages`` of ``config`` in order into ``run_dir/stages/NAME`` (see the module docstring); returns ``run_dir``."""
    from antispoof._launch import current_launch
    from antispoof._logging import add_file_handler, remove_file_handler
    from antispoof._runs import create_run

    run_dir = Path(run_dir)
    configs = stage_configs(config, run_dir, stages)
    status = _read_status(run_dir, stages) if resume else {}
    _write_plan(run_dir, stages, status)
    for stage, stage_config in zip(stages, configs):
        folder = run_dir / STAGES_DIR / stage.name
        if status.get(stage.name) == "done" and (folder / WEIGHTS_FILE).is_file():
            log.info("stage %s: done, skipped (%s)", stage.name, folder)
            continue
        status[stage.name] = "running"
        _write_plan(run_dir, stages, status)
        if resume and (folder / LAST_CHECKPOINT).is_file():
            log.info("stage %s: resuming %s", stage.name, folder)
            handler = add_file_handler(folder / "run.log") if current_launch().is_zero else None
            try:
                fit_one(stage_config, folder, True, callbacks)
            finally:
                if handler is not None:
                    remove_file_handler(handler)
        else:
            log.info("stage %s: training into %s (%s)", stage.name, folder,
                     ", ".join(f"{k}={v}" for k, v in stage.overlay.items()) or "the run's config")
            with create_run(stage_config, root=folder.parent, name=stage.name, overwrite=True) as run:
                fit_one(stage_config, run.dir, False, callbacks)
        status[stage.name] = "done"
        _write_plan(run_dir, stages, status)
    final = run_dir / STAGES_DIR / stages[-1].name / WEIGHTS_FILE
    if current_launch().is_zero:
        tmp = run_dir / f"{WEIGHTS_FILE}.tmp"
        shutil.copyfile(final, tmp)
        os.replace(tmp, run_dir / WEIGHTS_FILE)
    log.info("staged run %s: the weights of its last stage (%s) are %s", run_dir, stages[-1].name, run_dir / WEIGHTS_FILE)
    return run_dir
