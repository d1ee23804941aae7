"""Evaluate a trained run on a dataset protocol: per-frame score files, per-video metrics, report, plots.

For each fold of the protocol (one fold, or the six of OULU-NPU protocols 3 and 4 when
``--protocol Protocol_3`` names their common prefix):

1. the dev split and the evaluated split are scored unit by unit (a frame, or a clip for
   clip methods; ``score`` = liveness, higher = bona fide) into ``scores_dev.csv`` /
   ``scores_<split>.csv`` in the score-file format of :mod:`antispoof.metrics.scorefile`;
   frames whose face was not acquired are rows with an empty score; methods with cues
   or clips also write ``cues_<split>.csv`` (one row per unit: its frames, then the cues);
2. frames are aggregated per video (mean by default), the threshold is chosen on dev
   (``eer`` by default) and applied unchanged to the evaluated split;
3. ``report.json`` / ``report.md`` and ``roc.png`` / ``det.png`` are written. Several
   folds give each fold's report and their mean +- std.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from antispoof.data._cache import resolve_data, store_for
from antispoof.inference.scoring import score_frames

__all__ = ["score_frames", "evaluate_run", "evaluate_grid", "is_grid", "EvaluationResult", "protocol_folds", "resolve_data"]

log = logging.getLogger(__name__)


@dataclass
class EvaluationResult:
    """What an evaluation wrote: the report object (MetricsReport or FoldsReport) and its folder."""

    report: Any
    out_dir: Path

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict()


def protocol_folds(dataset: str, root: str | Path | None, protocol: str | None) -> list[str | None]:
    """The protocols to run: ``[protocol]``, or its folds when it names a family (``Protocol_3`` -> ``Protocol_3_1..6``)."""
    if protocol is None or root is None:
        return [protocol]
    from antispoof._registry import DATASETS, load_all

    load_all("datasets")
    try:
        known = DATASETS.create(dataset, root=root).protocols()
    except Exception:  # an adapter that cannot list protocols here: take the name as given
        return [protocol]
    if protocol in known:
        return [protocol]
    folds = sorted(p for p in known if p.startswith(f"{protocol}_") and p[len(protocol) + 1 :].isdigit())
    if not folds:
        raise ValueError(f"unknown protocol {protocol!r} for dataset {dataset!r}; choose one of {', '.join(known)}")
    return folds


def evaluate_run(
    run_dir: str | Path,
    *,
    dataset: str | None = None,
    root: str | Path | None = None,
    protocol: str | None = None,
    split: str = "test",
    threshold: str = "eer",
    aggregate: str = "mean",
    store: str | Path | None = None,
    out: str | Path | None = None,
    batch_size: int | None = None,
    allow_mismatch: bool = False,
    progress: bool = True,
) -> EvaluationResult:
    """Evaluate the run in ``run_dir`` (dataset/root/protocol default to the run's own); see the module docstring.

    A store acquired unlike the run's training data (its weights' acquisition record) is refused unless ``allow_mismatch``.
    """
    from antispoof.data.acquisition import AcquisitionSpec, check_same_acquisition
    from antispoof.data.store import FrameStore
    from antispoof.methods import read_run_config
    from antispoof.metrics import evaluate, evaluate_folds, write_scores
    from antispoof.weights import input_spec_of, load_network

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    d = config.data
    dataset, root, protocol, store = resolve_data(config, dataset=dataset, root=root, protocol=protocol, store=store)
    if split not in ("dev", "test", "train"):
        raise ValueError(f"split must be test, dev or train, got {split!r}")
    network, meta = load_network(run_dir)
    spec = input_spec_of(meta)
    trained = AcquisitionSpec.of_weights(meta)
    bs = batch_size or max(config.train.batch_size, 32)
    out_dir = Path(out) if out is not None else run_dir / "eval" / f"{dataset}-{protocol or 'default'}-{split}"
    out_dir.mkdir(parents=True, exist_ok=True)

    folds = protocol_folds(dataset, root, protocol) if store is None else [protocol]
    pairs, sweeps, thresholds = [], {}, {}
    for fold in folds:
        fold_dir = out_dir if len(folds) == 1 else out_dir / str(fold)
        fold_dir.mkdir(parents=True, exist_ok=True)
        fold_store = store_for(dataset, root, fold, size=spec.crop_size, store=store, cache_dir=d.cache_dir,
                               frames_per_video=d.frames_per_video, progress=progress)
        check_same_acquisition(trained, FrameStore(fold_store).acquisition, data_name=f"the frame store {fold_store}",
                               allow=allow_mismatch)
        # the threshold comes from the run's own dev split: without the attacks it was trained without
        dev, _ = score_frames(network, fold_store, "dev", spec=spec, batch_size=bs, progress=progress,
                              exclude_pai=getattr(d, "exclude_attacks", ()), exclude_domains=getattr(d, "exclude_domains", ()))
        test, cues = score_frames(network, fold_store, split, spec=spec, batch_size=bs, progress=progress)
        write_scores(fold_dir / "scores_dev.csv", dev)
        write_scores(fold_dir / f"scores_{split}.csv", test)
        if cues is not None:
            cues.to_csv(fold_dir / f"cues_{split}.csv", index=False, float_format="%.6f")
        report = evaluate(test, dev, threshold=threshold, aggregate=aggregate)
        _write_report(report, fold_dir, f"{run_dir.name} on {dataset} {fold or ''} {split}")
        sweeps[str(fold or split)] = _test_sweep(test, aggregate)
        thresholds[str(fold or split)] = report.threshold
        pairs.append((dev, test))
    if len(folds) == 1:
        result_report = report
    else:
        result_report = evaluate_folds(pairs, threshold=threshold, aggregate=aggregate)
        _write_report(result_report, out_dir, f"{run_dir.name} on {dataset} {protocol} {split}, {len(folds)} folds")
    from antispoof.metrics.plots import plot_curves

    plot_curves(sweeps, out_dir, thresholds=thresholds, title=f"{dataset} {protocol or ''} {split}")
    log.info("evaluation of %s written to %s", run_dir, out_dir)
    return EvaluationResult(result_report, out_dir)


def is_grid(folder: str | Path) -> bool:
    """Whether ``folder`` is a grid of runs made by ``antispoof train CONFIG folds=... / seeds=[...]`` (it has folds.json)."""
    from antispoof.training.folds import FOLDS_FILE

    return (Path(folder) / FOLDS_FILE).is_file() and not (Path(folder) / "config.yaml").is_file()


def evaluate_grid(grid_dir: str | Path, *, out: str | Path | None = None, **options: Any) -> tuple[list[tuple[str, EvaluationResult]], list[str]]:
    """Evaluate every finished run of a grid with :func:`evaluate_run`; ``(name, result) per run, names not finished``.

    Each run is evaluated on its own data unless ``options`` say otherwise, into ``out/<run>`` (default: each run's own
    ``eval/`` folder). A run of the plan without weights (the grid was stopped before it) is listed, not evaluated.
    """
    from antispoof.training.folds import FOLDS_FILE
    from antispoof.weights import WEIGHTS_FILE

    grid_dir = Path(grid_dir)
    plan = json.loads((grid_dir / FOLDS_FILE).read_text(encoding="utf-8")).get("runs", [])
    names = [entry["run"] for entry in plan]
    finished = [n for n in names if (grid_dir / n / WEIGHTS_FILE).is_file()]
    unfinished = [n for n in names if n not in finished]
    if not finished:
        raise ValueError(f"no run of the grid {grid_dir} has finished ({', '.join(names) or 'its plan is empty'}); "
                         "finish it by running the same `antispoof train ... --out` command again")
    results = [(n, evaluate_run(grid_dir / n, out=None if out is None else Path(out) / n, **options)) for n in finished]
    return results, unfinished


def _test_sweep(scores: Any, aggregate: str) -> Any:
    from antispoof.metrics import aggregate_videos, sweep

    units, _ = aggregate_videos(scores, aggregate)
    kept = units.subset(~units.failed_to_acquire)
    return sweep(kept.scores, kept.is_bonafide, kept.pai)


def _write_report(report: Any, out_dir: Path, title: str) -> None:
    (out_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.md").write_text(report.to_markdown(title=f"PAD metrics: {title}"), encoding="utf-8")
