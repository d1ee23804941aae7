"""Attack-specific folds and the ensemble grid of seed 001 (Parkin & Grinchuk, Sec. 4.1, 4.3 and 5.4).

With A attack types in the training split of the store, ``antispoof train CONFIG folds=attack``
trains A runs: fold ``k`` trains on the other A-1 types and validates on type ``k``, with
the bona fide subjects dealt to folds by identity (seeded by the config's ``seed``), as the
paper does ("real examples by subject identity were assigned randomly to the one of the
three folds"). The folds are :func:`antispoof.data.protocols.attack_folds` of the store's
train split, so one seed gives the folds of
:class:`~antispoof.data.protocols.LeaveOneAttackOut` (``by="attack"``) on the same data.
A *type* is a family of species (``folds=attack``: the store's ``pai_class``; on a
dataset whose adapter names its own attack types, CASIA-SURF, the species) or one
species (``folds=species``). Every fold reads the store's train split for
both its train and its dev set, through the data keys ``data.train_attacks``,
``data.train_bonafide_subjects``, ``data.dev_from=train``, ``data.dev_attacks`` and
``data.dev_bonafide_subjects`` (written into each fold's ``config.yaml``); the store's
own dev split stays untouched for the ensemble's threshold; ``data.exclude_attacks``
still applies on top.

The grid: ``seeds=[0,1]`` and ``inits=[none,runs/a,bundles/b]`` (``init_from`` of each
run; ``none`` = the method's own initialisation; an entry holding ``=`` is that
initialisation's own overrides, space-separated, e.g. ``"model.weights=face.pt"``) multiply the folds, so the paper's 24
networks are ``folds=attack seeds=[0,1] inits=[A,B,C,D]`` (3 x 2 x 4). These three words
are grid keys of ``antispoof train`` only, not config keys. Each run is a sub-folder
``RUN/fold_<type>`` (plus ``-init<j>`` and ``-seed<s>`` when there are several);
``RUN/folds.json`` records the plan (species, subjects, overrides) and, as each run
finishes, its validation AUC and EER on its held-out type. Run again with the same words
and ``--out RUN`` to continue: finished runs are kept, an interrupted or killed one resumes
from its last epoch. ``antispoof ensemble RUN --out
BUNDLE`` averages them (:mod:`antispoof.inference.ensemble`).

``folds=subject`` is Table 3's "subject 5-fold" baseline instead: the subjects of the
store's train split are dealt to 5 folds (:func:`antispoof.data.protocols.subject_folds`,
seeded by ``seed``) and fold ``k`` trains on every frame (bona fide and attack) of the other
folds' subjects and validates on every frame of its own, both from the train split, through
``data.train_subjects``, ``data.dev_from=train`` and ``data.dev_subjects``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from antispoof.data.protocols import FOLD_KINDS, SUBJECT_FOLDS, AttackFold, SubjectFold, attack_folds, subject_folds
from antispoof.weights import WEIGHTS_FILE

__all__ = ["GridSpec", "GRID_KEYS", "FOLDS_FILE", "make_folds", "fold_overrides", "split_grid_args", "train_grid"]

log = logging.getLogger(__name__)

GRID_KEYS = ("folds", "seeds", "inits")
FOLDS_FILE = "folds.json"


@dataclass(frozen=True)
class GridSpec:
    """The grid words of ``antispoof train``: fold kind (None: no folds), seeds (None: the config's), inits (None: the config's)."""

    folds: str | None = None
    seeds: tuple[int, ...] | None = None
    inits: tuple[str | None, ...] | None = None

    @property
    def active(self) -> bool:
        return self.folds is not None or self.seeds is not None or self.inits is not None


def split_grid_args(overrides: Sequence[str]) -> tuple[GridSpec, list[str]]:
    """``(grid, other overrides)`` from ``key=value`` words: ``folds=attack|species|subject``, ``seeds=[0,1]``, ``inits=[none,RUN]``."""
    from antispoof.config import parse_override

    found: dict[str, Any] = {}
    rest = []
    for item in overrides:
        key, value = parse_override(item)
        if key in GRID_KEYS:
            found[key] = value
        else:
            rest.append(item)
    folds = found.get("folds")
    if folds is not None and folds not in FOLD_KINDS:
        raise ValueError(f"folds={folds!r} is not a fold kind; use folds=attack (one fold per attack type), folds=species "
                         f"(one per species) or folds=subject ({SUBJECT_FOLDS} folds by subject identity)")
    seeds = found.get("seeds")
    if seeds is not None:
        seeds = [seeds] if isinstance(seeds, int) else seeds
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
            raise ValueError(f"seeds={found['seeds']!r}: give a list of non-negative integers, e.g. seeds=[0,1]")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds={seeds}: each seed once")
    inits = found.get("inits")
    if inits is not None:
        inits = [inits] if not isinstance(inits, list) else inits
        if not inits:
            raise ValueError("inits=[]: give at least one init_from (a run, bundle or weights file, or none)")
        inits = [None if v is None or str(v).lower() in ("none", "null", "") else str(v) for v in inits]
    return GridSpec(folds, None if seeds is None else tuple(seeds), None if inits is None else tuple(inits)), rest


def make_folds(store: str | Path, by: str = "attack", seed: int = 0,
               exclude: Sequence[str] = ()) -> list[AttackFold] | list[SubjectFold]:
    """The folds of a store's train split: :func:`~antispoof.data.protocols.attack_folds` (``by`` attack or species,
    species matching ``exclude`` left out) or, ``by="subject"``, its :data:`SUBJECT_FOLDS`
    :func:`~antispoof.data.protocols.subject_folds` (``exclude`` does not change the dealing; the runs apply it)."""
    from antispoof.data.store import FrameStore

    if by not in FOLD_KINDS:
        raise ValueError(f"unknown fold kind {by!r}; choose one of {', '.join(FOLD_KINDS)}")
    opened = FrameStore(store)
    train = opened.index[opened.index["split"] == "train"]
    where = f"the train split of {store}"
    if by == "subject":
        return subject_folds(train, SUBJECT_FOLDS, seed, where=where)
    # the store's dataset decides whether its own species are its attack types (CASIA-SURF's)
    return attack_folds(train.assign(dataset=str(opened.settings.get("dataset", ""))), by, seed, exclude, where=where)


def fold_overrides(fold: AttackFold | SubjectFold) -> list[str]:
    """The data overrides that make ``fold``'s run: train without its type (attack fold) or subjects (subject fold),
    validate on them, both from the train split."""
    def listed(values: Sequence[str]) -> str:
        return "[" + ",".join(json.dumps(v) for v in values) + "]"

    if isinstance(fold, SubjectFold):
        return [f"data.train_subjects={listed(fold.train_subjects)}", "data.dev_from=train",
                f"data.dev_subjects={listed(fold.held_out_subjects)}"]
    return [f"data.train_attacks={listed(fold.train_attacks)}", f"data.train_bonafide_subjects={listed(fold.train_bonafide_subjects)}",
            "data.dev_from=train", f"data.dev_attacks={listed(fold.held_out)}",
            f"data.dev_bonafide_subjects={listed(fold.bonafide_subjects)}"]


def _store_of(config: Any) -> Path:
    """The frame store a run of ``config`` trains on (as :func:`antispoof.training.frames.training_datasets` finds it)."""
    from antispoof.methods import method_class
    from antispoof.training.frames import store_for

    d = config.data
    size = method_class(config.model.method).input_spec_for(config).crop_size
    return store_for(d.dataset, d.root, d.protocol, size=size, store=d.store, cache_dir=d.cache_dir,
                     frames_per_video=d.frames_per_video, progress=config.train.progress)


def _init_words(init: str | None) -> list[str]:
    """The overrides of one initialisation: ``init_from=PATH``, ``init_from=null``, or its own ``key=value`` words."""
    if init is None:
        return ["init_from=null"]
    if "=" in init:  # e.g. "model.weights=face_id.safetensors model.backbone=resnet50"
        return init.split()
    return [f"init_from={init}"]


def _run_name(fold: AttackFold | None, j: int, n_inits: int, seed: int, n_seeds: int) -> str:
    name = f"fold_{fold.name}" if fold is not None else "run"
    if n_inits > 1:
        name += f"-init{j}"
    if n_seeds > 1:
        name += f"-seed{seed}"
    return name


def train_grid(config_path: str | Path, overrides: Sequence[str], grid: GridSpec, *, out: str | Path | None = None,
               overwrite: bool = False, command: list[str] | None = None) -> Path:
    """Train every (fold, init, seed) run of ``grid`` into ``out`` (default ``runs/<date-time>-folds``); returns ``out``."""
    import datetime as _dt

    from antispoof.methods import load_method_config
    from antispoof.training.runner import TrainingInterrupted, train_or_resume

    base = load_method_config(config_path, list(overrides))
    out = Path(out) if out is not None else Path("runs") / (_dt.datetime.now().strftime("%Y%m%d-%H%M%S") + "-folds")
    folds: list[AttackFold | SubjectFold | None] = [None]
    store = None
    if grid.folds is not None:
        store = _store_of(base)
        folds = list(make_folds(store, grid.folds, base.seed, exclude=base.data.exclude_attacks))
    seeds = grid.seeds or (base.seed,)
    inits = grid.inits or (None if base.init_from is None else str(base.init_from),)
    plan = []
    for fold in folds:
        for j, init in enumerate(inits):
            for seed in seeds:
                words = [*overrides, *(fold_overrides(fold) if fold else []), f"seed={seed}", *_init_words(init)]
                plan.append({"run": _run_name(fold, j, len(inits), seed, len(seeds)), "fold": None if fold is None else fold.name,
                             "init": init, "seed": seed, "overrides": words})
    summary = {"config": str(config_path), "overrides": list(overrides), "store": None if store is None else str(store),
               "fold_kind": grid.folds, "fold_seed": base.seed, "seeds": list(seeds), "inits": list(inits),
               "folds": [asdict(f) for f in folds if f is not None], "runs": plan}
    from antispoof._launch import agree

    # on several devices every process runs this grid; rank 0 reads what an earlier call finished, the others follow it
    done = agree(out.parent, f"grid {out.resolve()}", lambda: _finished(out, summary, overwrite), base)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for entry in plan:
        name = entry["run"]
        if name in done:
            log.info("grid: %s already finished in %s; kept", name, out / name)
            results[name] = done[name]
            continue
        config = load_method_config(config_path, entry["overrides"])
        log.info("grid: %s (%d of %d)", name, len(results) + 1, len(plan))
        start = time.perf_counter()
        try:
            run_dir, how = train_or_resume(config, out / name, command=command)
        except TrainingInterrupted as stop:  # the grid resumes as a whole: the same command again
            import shlex

            stop.resume = shlex.join(["antispoof", *command[1:]]) if command else "the grid's command again"
            raise
        result: dict[str, Any] = {"seconds": round(time.perf_counter() - start, 1), "how": how}
        if entry["fold"] is not None:
            result.update(validate_fold(run_dir))
        results[name] = result
        _write(out, summary, results)
    return _write(out, summary, results)


def _finished(out: Path, summary: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    """Results of runs an earlier call of the same plan finished in ``out``; refuses a foreign non-empty folder."""
    path = out / FOLDS_FILE
    if not out.exists() or not any(out.iterdir()):
        return {}
    if not path.is_file():
        if overwrite:
            import shutil

            shutil.rmtree(out)
            return {}
        raise FileExistsError(f"{out} exists, is not empty and holds no {FOLDS_FILE}; choose another --out or pass --overwrite")
    had = json.loads(path.read_text(encoding="utf-8"))
    same = {k: had.get(k) for k in summary} == json.loads(json.dumps(summary))
    if not same:
        if overwrite:
            import shutil

            shutil.rmtree(out)
            return {}
        raise FileExistsError(f"{out} holds a grid of another plan (config, overrides, folds, seeds or inits differ); "
                              "choose another --out or pass --overwrite")
    return {k: v for k, v in had.get("results", {}).items() if (out / k / WEIGHTS_FILE).is_file()}


def _write(out: Path, summary: dict[str, Any], results: dict[str, Any]) -> Path:
    from antispoof._launch import current_launch

    if current_launch().is_zero:  # the other ranks of a multi-device grid write nothing
        from antispoof._files import write_atomic

        write_atomic(out / FOLDS_FILE, json.dumps({**summary, "results": results}, indent=2) + "\n")
    return out


def validate_fold(run_dir: str | Path, batch_size: int = 64) -> dict[str, Any]:
    """AUC and EER of a fold run on its own dev set (the held-out type against its bona fide subjects)."""
    import numpy as np
    import torch
    from torch.utils.data import DataLoader

    from antispoof.data.transforms import eval_transform
    from antispoof.inference.scoring import PreparedItems, model_outputs
    from antispoof.metrics import auc, eer
    from antispoof.methods import read_run_config
    from antispoof.training.frames import dataset_labels, training_datasets
    from antispoof.training.runner import load_trained

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    method = load_trained(run_dir)
    spec = method.input_spec()
    _, dev = training_datasets(config, spec)
    if dev is None:
        return {"validation": "no dev frames"}
    labels = dataset_labels(dev).astype(bool)
    scores = []
    with torch.no_grad():
        for batch in DataLoader(PreparedItems(dev, eval_transform(spec)), batch_size=batch_size, shuffle=False):
            scores.append(model_outputs(method.network(), batch)["score"].float().numpy())
    s = np.concatenate(scores)
    out: dict[str, Any] = {"dev_bonafide": int(labels.sum()), "dev_attacks": int((~labels).sum())}
    if labels.any() and (~labels).any():
        out.update(dev_auc=float(auc(s, labels)), dev_eer=float(eer(s, labels)))
    return out
