"""Evaluate a trained run on a dataset protocol: per-frame score files, per-video metrics, report, plots.

For each fold of the protocol (one fold, or the six of OULU-NPU protocols 3 and 4 when
``--protocol Protocol_3`` names their common prefix):

1. the dev split and the evaluated split are scored frame by frame (``score`` =
   liveness, higher = bona fide) into ``scores_dev.csv`` / ``scores_<split>.csv`` in
   the score-file format of :mod:`antispoof.metrics.scorefile`; frames whose face was
   not acquired are rows with an empty score; methods with cue heads also write
   ``cues_<split>.csv`` (the explanation per frame);
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

import numpy as np
import torch
from torch.utils.data import DataLoader

__all__ = ["score_frames", "evaluate_run", "EvaluationResult", "protocol_folds", "resolve_data"]

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

    load_all()
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


def score_frames(method: Any, store: Path, split: str | None, *, image_size: int, batch_size: int = 64,
                 num_workers: int = 0, progress: bool = True) -> tuple[Any, Any]:
    """``(ScoreSet, cue DataFrame or None)`` of every frame of ``split`` in ``store``, failures as FTA rows."""
    import pandas as pd

    from antispoof.data.base import BONAFIDE
    from antispoof.data.store import FrameDataset
    from antispoof.data.transforms import eval_transform
    from antispoof.metrics import ScoreSet

    data = FrameDataset(store, split=split, transform=eval_transform(image_size))
    scores: list[np.ndarray] = []
    cues: dict[str, list[np.ndarray]] = {}
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    method.eval()
    device = next(method.parameters()).device
    with torch.no_grad(), _progress(progress, len(loader), f"score {split or 'all'}") as advance:
        for batch in loader:
            batch = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
            scores.append(method.score(batch).float().cpu().numpy())
            for name, value in method.explain(batch).items():
                cues.setdefault(name, []).append(value.float().cpu().numpy())
            advance()
    rows, failed = data.rows, data.failed
    table = pd.concat([rows.assign(_score=np.concatenate(scores) if scores else np.zeros(0)),
                       failed.assign(_score=np.nan)], ignore_index=True)
    fta = table["failure"] != ""
    reason = np.where(fta, table["failure"].str.split(":").str[0], "")
    score_set = ScoreSet.from_arrays(
        table["_score"].to_numpy(np.float64),
        (table["label"] == BONAFIDE).to_numpy(),
        pai=table["pai"].astype(str).to_numpy(),
        video=table["video"].astype(str).to_numpy(),
        subject=table["subject"].astype(str).to_numpy(),
        frame=table["frame"].to_numpy(np.int64),
        failed_to_acquire=fta.to_numpy(),
        fta_reason=reason,
        source=f"{store} split={split}",
    )
    cue_table = None
    if cues:
        cue_table = rows[["video", "frame", "label", "pai"]].copy()
        for name, parts in cues.items():
            cue_table[name] = np.concatenate(parts)
    return score_set, cue_table


class _progress:
    """A rich progress bar when ``enabled`` (a no-op otherwise); yields an ``advance()`` callable."""

    def __init__(self, enabled: bool, total: int, what: str) -> None:
        self.enabled, self.total, self.what = enabled, total, what

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn(f"[bold]{self.what}[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True)
        self._bar.start()
        task = self._bar.add_task(self.what, total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.stop()


def resolve_data(
    config: Any, *, dataset: str | None, root: str | Path | None, protocol: str | None, store: str | Path | None
) -> tuple[str, str | Path | None, str | None, str | Path | None]:
    """``(dataset, root, protocol, store)`` to score: the run's own data for whatever is not given.

    The run's prepared store is reused only when the data asked for is the run's own.
    """
    d = config.data
    same_data = dataset is None or dataset == d.dataset
    dataset = dataset or d.dataset
    root = root if root is not None else (d.root if same_data else None)
    protocol = protocol if protocol is not None else (d.protocol if same_data else None)
    if store is None and same_data and root == d.root and protocol == d.protocol:
        store = d.store
    return dataset, root, protocol, store


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
    progress: bool = True,
) -> EvaluationResult:
    """Evaluate the run in ``run_dir`` (dataset/root/protocol default to the run's own); see the module docstring."""
    from antispoof.metrics import evaluate, evaluate_folds, write_scores
    from antispoof.training.frames import store_for
    from antispoof.training.runner import load_trained, read_run_config

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    d = config.data
    dataset, root, protocol, store = resolve_data(config, dataset=dataset, root=root, protocol=protocol, store=store)
    if split not in ("dev", "test", "train"):
        raise ValueError(f"split must be test, dev or train, got {split!r}")
    method = load_trained(run_dir)
    size = d.image_size
    bs = batch_size or max(config.train.batch_size, 32)
    out_dir = Path(out) if out is not None else run_dir / "eval" / f"{dataset}-{protocol or 'default'}-{split}"
    out_dir.mkdir(parents=True, exist_ok=True)

    folds = protocol_folds(dataset, root, protocol) if store is None else [protocol]
    pairs, sweeps, thresholds = [], {}, {}
    for fold in folds:
        fold_dir = out_dir if len(folds) == 1 else out_dir / str(fold)
        fold_dir.mkdir(parents=True, exist_ok=True)
        fold_store = store_for(dataset, root, fold, size=size, store=store, cache_dir=d.cache_dir,
                               frames_per_video=d.frames_per_video, progress=progress)
        dev, _ = score_frames(method, fold_store, "dev", image_size=size, batch_size=bs, progress=progress)
        test, cues = score_frames(method, fold_store, split, image_size=size, batch_size=bs, progress=progress)
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


def _test_sweep(scores: Any, aggregate: str) -> Any:
    from antispoof.metrics import aggregate_videos, sweep

    units, _ = aggregate_videos(scores, aggregate)
    kept = units.subset(~units.failed_to_acquire)
    return sweep(kept.scores, kept.is_bonafide, kept.pai)


def _write_report(report: Any, out_dir: Path, title: str) -> None:
    (out_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.md").write_text(report.to_markdown(title=f"PAD metrics: {title}"), encoding="utf-8")
