"""One table for every method: each registered detector (and any bundle) on the same synthetic protocols.

``antispoof benchmark [--methods all] [--bundles B...] [--protocol P...] [--quick] --out DIR``
generates one synthetic dataset (every modality and enough frames for every method's
input spec), prepares one frame store per crop size, and for every (model, protocol):

1. trains the method with its packaged quickstart config (``quickstart_<method>``; the
   entry teacher for ``entry``; ``entry_distill`` distils the ``entry`` row's run of the
   same protocol) and the protocol's training exclusions; a bundle is not trained;
2. scores the dev and test splits (a run through its frame store, a bundle through its
   own Predictor on the raw frames) and chooses the threshold on dev by the EER rule;
3. reports, at that threshold, on the protocol's target test units (videos, frame scores
   averaged): APCER per species and max, BPCER, ACER, HTER, AUC, EER and TPR at FPR 1e-2 /
   1e-3 / 1e-4, with subject-bootstrap 95% intervals (1000 resamples, seed 0); plus HTER
   and AUC on the protocol's seen units where it has them, and training / scoring time.

Protocols (:data:`PROTOCOLS`):

- ``intra``: train on every attack and domain; target = the whole test split;
- ``unseen-attack``: one attack family (default ``replay``) left out of train and dev;
  target = bona fide + that family's test attacks; seen = bona fide + the other families';
- ``cross-domain``: one capture domain (default ``budget_phone``) left out of train and
  dev; target = the test videos of that domain; seen = the test videos of the others.

A model that fails writes its error in its row and the table goes on. Run again on the
same ``DIR`` with the same settings, finished rows are kept (a killed run continues).
``--quick`` (40 subjects, 2 epochs per run) checks the whole path in about 15 minutes on one
core; its numbers are not results. Writes ``DIR/table.json`` (one row per model and
protocol), ``DIR/table.md``, ``DIR/summary.md`` (one line per model, the protocols side by side: the
README's table) and ``DIR/benchmark.png``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Protocol", "PROTOCOLS", "ModelEntry", "method_entries", "bundle_entries", "run_benchmark", "QUICK", "FULL",
           "DEFAULT_UNSEEN_FAMILY", "DEFAULT_UNSEEN_DOMAIN"]

log = logging.getLogger(__name__)

DEFAULT_UNSEEN_FAMILY = "replay"
DEFAULT_UNSEEN_DOMAIN = "budget_phone"
#: dataset size and epochs of the two modes; ``epochs`` None keeps each config's own
QUICK = {"subjects": 40, "epochs": 2}
FULL = {"subjects": 100, "epochs": None}
CI_LEVEL, CI_RESAMPLES = 0.95, 1000


@dataclass(frozen=True)
class Protocol:
    """A protocol: what training and dev leave out, and which test units are the target (and which are seen)."""

    name: str
    held_out: str | None = None
    #: ``(pai, domain) -> True`` for a test unit that the protocol held out of training
    _unseen: Callable[[str, str], bool] | None = field(default=None, compare=False, repr=False)
    overrides: tuple[str, ...] = ()
    #: the held-out part is attacks only, so the bona fide units serve both sides (unseen-attack)
    attacks_only: bool = False

    def unseen(self, pai: np.ndarray, domain: np.ndarray) -> np.ndarray:
        """Per unit: does it belong to what the protocol held out (bona fide units of a held-out domain do)."""
        if self._unseen is None:
            return np.zeros(len(pai), dtype=bool)
        return np.array([self._unseen(str(p), str(d)) for p, d in zip(pai, domain)], dtype=bool)

    def sides(self, pai: np.ndarray, domain: np.ndarray, bonafide: np.ndarray) -> dict[str, np.ndarray]:
        """``{"target": mask, "seen": mask}`` over test units (``seen`` absent for ``intra``)."""
        if self._unseen is None:
            return {"target": np.ones(len(pai), dtype=bool)}
        held = self.unseen(pai, domain)
        if self.attacks_only:
            return {"target": bonafide | held, "seen": bonafide | ~held}
        return {"target": held, "seen": ~held}


def make_protocol(name: str, *, family: str = DEFAULT_UNSEEN_FAMILY, domain: str = DEFAULT_UNSEEN_DOMAIN) -> Protocol:
    """The protocol ``name`` (``intra``, ``unseen-attack``, ``cross-domain``) holding out ``family`` / ``domain``."""
    from antispoof.data.synthetic import domain_names
    from antispoof.studies.unseen_attack import family_species

    if name == "intra":
        return Protocol("intra")
    if name == "unseen-attack":
        species = family_species(family)  # both sides: training leaves out, testing marks unseen, these species
        return Protocol(name, family, lambda pai, dom: pai in species, (f"data.exclude_attacks=[{','.join(species)}]",),
                        attacks_only=True)
    if name == "cross-domain":
        if domain not in domain_names():
            raise ValueError(f"unknown capture domain {domain!r}; the generator's domains are {', '.join(domain_names())}")
        return Protocol(name, domain, lambda pai, dom: dom == domain, (f"data.exclude_domains=[{domain}]",))
    raise ValueError(f"unknown protocol {name!r}; choose from {', '.join(PROTOCOLS)}")


PROTOCOLS: tuple[str, ...] = ("intra", "unseen-attack", "cross-domain")


@dataclass(frozen=True)
class ModelEntry:
    """One model of the table: a method trained with a config (and overrides), or a bundle scored as it is."""

    name: str
    method: str | None = None
    config: str | None = None
    overrides: tuple[str, ...] = ()
    teacher: str | None = None  # the entry name whose run of the same protocol this one distils
    bundle: Path | None = None
    packaged_weights: bool = True  # start from the ImageNet weights that ship in a package, when the config names none


def method_entries(methods: Sequence[str] | str = "all") -> list[ModelEntry]:
    """An entry per registered detector (``all``) or per named method, each with its packaged quickstart config.

    A method that is the later model of another method's quickstart plan (``entry_distill``,
    the entry student) distils that method's run: its teacher joins the entries.
    """
    from antispoof.methods import list_methods, method_class

    names = list_methods() if methods == "all" or list(methods) == ["all"] else list(methods)
    students = {_config_method(config): (teacher, config) for teacher in list_methods() for _, config in _plan(teacher)[1:]}
    entries: dict[str, ModelEntry] = {}
    for name in names:
        method_class(name)  # an unknown name fails here with its close matches
        plan = _plan(name)
        if plan:
            entries.setdefault(name, ModelEntry(name, name, plan[0][1]))
        elif name in students:
            teacher, config = students[name]
            entries.setdefault(teacher, ModelEntry(teacher, teacher, _plan(teacher)[0][1]))
            entries[name] = ModelEntry(name, name, config, teacher=teacher)
        else:  # trained with no packaged config: its row says so
            entries[name] = ModelEntry(name, name, None)
    # teachers before their students, otherwise in the order asked
    return sorted(entries.values(), key=lambda e: e.teacher is not None)


def _plan(method: str) -> list[tuple[str, str]]:
    from antispoof.training.quickstart import quickstart_configs

    try:
        return quickstart_configs(method)
    except ValueError:
        return []


def _config_method(config: str) -> str:
    import yaml

    from antispoof.methods import config_path

    raw = yaml.safe_load(config_path(config).read_text(encoding="utf-8")) or {}
    return str((raw.get("model") or {}).get("method", "entry"))


def bundle_entries(bundles: Sequence[str | Path]) -> list[ModelEntry]:
    """An entry per bundle folder (named after the folder)."""
    from antispoof.inference.card import CARD_FILE

    out = []
    for b in bundles:
        path = Path(b)
        if not (path / CARD_FILE).is_file():
            raise FileNotFoundError(f"{path} is not a bundle (no {CARD_FILE}); give a folder made by calibrate, export or import")
        out.append(ModelEntry(f"bundle:{path.name}", bundle=path))
    return out


def run_benchmark(
    out: str | Path,
    *,
    entries: Sequence[ModelEntry],
    protocols: Sequence[str] = PROTOCOLS,
    quick: bool = False,
    seed: int = 0,
    subjects: int | None = None,
    family: str = DEFAULT_UNSEEN_FAMILY,
    domain: str = DEFAULT_UNSEEN_DOMAIN,
    overrides: Sequence[str] = (),
    workers: int = 2,
    progress: bool = True,
) -> dict[str, Any]:
    """Train, score and report every (entry, protocol); returns the content of ``table.json`` (see module doc)."""
    from antispoof.studies.benchmark_runs import BenchmarkData, score_entry, train_entry

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mode = QUICK if quick else FULL
    settings = {"seed": seed, "subjects": subjects or mode["subjects"], "epochs": mode["epochs"], "quick": quick,
                "unseen_family": family, "unseen_domain": domain, "overrides": list(overrides)}
    plans = [make_protocol(p, family=family, domain=domain) for p in protocols]
    data = BenchmarkData.create(out, entries, seed=seed, subjects=settings["subjects"], workers=workers, progress=progress)
    done = _earlier_rows(out, settings)
    covered = {(e.name, p.name) for p in plans for e in entries}
    kept = [r for k, r in done.items() if k not in covered]  # rows of models or protocols this call does not run stay
    rows: list[dict[str, Any]] = []
    runs: dict[tuple[str, str], Path] = {}
    for protocol in plans:
        for entry in entries:
            key = (entry.name, protocol.name)
            if key in done and "error" not in done[key]:  # a failed row is tried again
                log.info("benchmark: %s on %s already done", *key)
                rows.append(done[key])
                if done[key].get("run"):
                    runs[key] = Path(done[key]["run"])
                continue
            row: dict[str, Any] = {"model": entry.name, "method": entry.method or "bundle", "protocol": protocol.name,
                                   "held_out": protocol.held_out, "config": entry.config,
                                   "bundle": str(entry.bundle) if entry.bundle else None}
            log.info("benchmark: %s on %s", *key)
            try:
                start = time.perf_counter()
                if entry.bundle is None:
                    teacher = runs.get((entry.teacher, protocol.name)) if entry.teacher else None
                    if entry.teacher and teacher is None:
                        raise RuntimeError(f"{entry.name} distils the {entry.teacher} run of this protocol, which did not finish")
                    run = train_entry(entry, protocol, data, out / "runs" / protocol.name / _slug(entry.name), teacher=teacher,
                                      epochs=settings["epochs"], seed=seed, overrides=overrides, progress=progress)
                    runs[key] = run
                    row["run"] = str(run)
                    row["train_seconds"] = round(time.perf_counter() - start, 1)
                start = time.perf_counter()
                dev, test = score_entry(entry, runs.get(key), data, out / "eval" / protocol.name / _slug(entry.name),
                                        progress=progress)
                row["score_seconds"] = round(time.perf_counter() - start, 1)
                row.update(protocol_metrics(protocol, dev, test, data.domain_of))
            except Exception as err:  # a failed model writes its error in its row; the table goes on
                log.exception("benchmark: %s on %s failed", *key)
                row["error"] = f"{type(err).__name__}: {err}"
            rows.append(row)
            _write(out, _in_order([*rows, *kept]), settings)
    return _write(out, _in_order([*rows, *kept]), settings)


def _in_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows grouped by protocol (in :data:`PROTOCOLS` order), each group in the order the rows were run."""
    rank = {name: i for i, name in enumerate(PROTOCOLS)}
    return sorted(rows, key=lambda r: rank.get(r["protocol"], len(rank)))


def protocol_metrics(protocol: Protocol, dev: Any, test: Any, domain_of: dict[str, str]) -> dict[str, Any]:
    """The row's metrics: the target units' report at the dev-EER threshold (with intervals), and the seen side's HTER / AUC."""
    from antispoof.metrics import evaluate

    dev = dev.subset(~_held(protocol, dev, domain_of))  # dev never holds what the protocol leaves out
    masks = protocol.sides(_column(test.pai), _domains(test, domain_of), np.asarray(test.is_bonafide, dtype=bool))
    target = test.subset(masks["target"])
    _check_scored(target, protocol)
    report = evaluate(target, dev, threshold="eer", ci=CI_LEVEL, n_resamples=CI_RESAMPLES, seed=0)
    full = report.to_dict()
    row: dict[str, Any] = {k: full[k] for k in ("threshold", "apcer", "apcer_pooled", "apcer_per_pai", "bpcer", "acer",
                                                 "hter", "eer", "auc", "tpr_at_fpr", "n_bonafide", "n_attack",
                                                 "n_failed_to_acquire")}
    row["ci"] = {k: full["ci"][k] for k in ("apcer", "bpcer", "acer", "hter", "auc") if k in full.get("ci", {})}
    row["ci_level"], row["ci_unit"] = CI_LEVEL, full.get("ci", {}).get("unit")
    if "seen" in masks:
        seen = evaluate(test.subset(masks["seen"]), threshold=report.threshold)
        row["seen"] = {"hter": seen.hter, "auc": seen.auc, "apcer": seen.apcer_pooled, "bpcer": seen.bpcer,
                       "n_bonafide": seen.n_bonafide, "n_attack": seen.n_attack}
    return row


def _check_scored(target: Any, protocol: Protocol) -> None:
    """A clear error when the target units of a class all failed to acquire (e.g. a detector that finds no face there)."""
    scored = ~np.asarray(target.failed_to_acquire, dtype=bool)
    live = np.asarray(target.is_bonafide, dtype=bool)
    for name, cls in (("bona fide", live), ("attack", ~live)):
        if cls.any() and not (cls & scored).any():
            where = f" ({protocol.held_out})" if protocol.held_out else ""
            raise ValueError(f"every {name} frame of the {protocol.name}{where} target failed to acquire "
                             f"({int(cls.sum())} frames; reasons: {sorted(set(map(str, _column(target.fta_reason)[cls]))) if target.fta_reason is not None else '-'}); "
                             "the model's detector finds no face there, so no error rate can be given")


def _column(values: Any) -> np.ndarray:
    return np.asarray(values if values is not None else [], dtype=object).astype(str)


def _domains(scores: Any, domain_of: dict[str, str]) -> np.ndarray:
    if scores.video is None:
        raise ValueError("the score set has no video column, so its capture domains cannot be looked up")
    return np.array([domain_of.get(str(v), "") for v in scores.video], dtype=object)


def _held(protocol: Protocol, scores: Any, domain_of: dict[str, str]) -> np.ndarray:
    """Rows of a score set that the protocol holds out of training and dev (a held-out family's attacks, a held-out domain)."""
    live = np.asarray(scores.is_bonafide, dtype=bool)
    held = protocol.unseen(_column(scores.pai), _domains(scores, domain_of))
    return held & ~live if protocol.attacks_only else held


def _slug(name: str) -> str:
    return name.replace(":", "-").replace("/", "-")


def _earlier_rows(out: Path, settings: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    path = out / "table.json"
    if not path.is_file():
        return {}
    table = json.loads(path.read_text(encoding="utf-8"))
    if table.get("settings") != settings:
        raise ValueError(f"{out} holds a benchmark run with other settings ({table.get('settings')}); give another --out")
    return {(r["model"], r["protocol"]): r for r in table.get("rows", [])}


def _write(out: Path, rows: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    from antispoof._runs import git_revision
    from antispoof.studies.benchmark_table import markdown, plot, summary

    revision, dirty = git_revision()
    table = {"settings": settings, "git_revision": revision, "git_dirty": dirty,
             "threshold_rule": "eer on the dev split (without what the protocol holds out)",
             "aggregation": "mean of frame scores per video", "ci": f"{CI_LEVEL:.0%} subject bootstrap, {CI_RESAMPLES} resamples",
             "rows": rows}
    (out / "table.json").write_text(json.dumps(table, indent=2, default=float) + "\n", encoding="utf-8")
    (out / "table.md").write_text(markdown(table), encoding="utf-8")
    (out / "summary.md").write_text(summary(table), encoding="utf-8")
    plot(rows, out / "benchmark.png")
    return table
