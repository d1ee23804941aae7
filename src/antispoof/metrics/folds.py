"""Protocols with folds (OULU-NPU protocols 3 and 4): one threshold per fold, then mean and std.

Each fold's threshold is chosen on that fold's dev set and applied to that fold's test
set; the summary is the mean and the **sample** standard deviation (``ddof=1``, the
spread one would expect from another draw of folds) of every number over folds. A PAI
species missing from some folds is averaged over the folds that have it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.metrics.report import MetricsReport, evaluate, json_text
from antispoof.metrics.scorefile import ScoreSet
from antispoof.metrics.threshold import DEFAULT_CONVENTION

__all__ = ["FoldsReport", "evaluate_folds", "summarize_folds", "FOLD_SCALARS"]

FOLD_SCALARS = ("threshold", "apcer", "apcer_pooled", "bpcer", "acer", "hter", "eer_dev", "eer", "auc")
STD_DDOF = 1


@dataclass
class FoldsReport:
    """Per-fold reports and their mean / standard deviation."""

    folds: list[MetricsReport]
    mean: dict[str, Any]
    std: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_folds": len(self.folds),
            "threshold_rule": self.folds[0].threshold_rule,
            "std_ddof": STD_DDOF,
            "mean": self.mean,
            "std": self.std,
            "folds": [f.to_dict() for f in self.folds],
        }

    def to_json(self, path: str | Path | None = None, indent: int = 2) -> str:
        return json_text(self.to_dict(), path, indent)

    def to_markdown(self, title: str = "PAD metrics over folds (ISO/IEC 30107-3)") -> str:
        n = len(self.folds)
        lines = [
            f"# {title}",
            "",
            f"{n} folds, threshold rule `{self.folds[0].threshold_rule}` chosen on each fold's dev set; "
            f"mean +- sample standard deviation (ddof={STD_DDOF}).",
            "",
            "| metric | mean | std | " + " | ".join(f"fold {i + 1}" for i in range(n)) + " |",
            "|---|---|---|" + "---|" * n,
        ]
        for key in FOLD_SCALARS:
            if key not in self.mean:
                continue
            scale = 1.0 if key in ("threshold", "auc") else 100.0
            cells = [f"{scale * getattr(f, key):.4g}" for f in self.folds]
            lines.append(f"| {key} | {scale * self.mean[key]:.4g} | {scale * self.std[key]:.4g} | " + " | ".join(cells) + " |")
        for key, value in self.mean.get("apcer_per_pai", {}).items():
            lines.append(f"| apcer[{key}] | {100 * value:.4g} | {100 * self.std['apcer_per_pai'][key]:.4g} | " + " | ".join(
                f"{100 * f.apcer_per_pai[key]:.4g}" if key in f.apcer_per_pai else "-" for f in self.folds
            ) + " |")
        lines.append("")
        lines.append("Rates in percent; threshold and AUC as numbers.")
        return "\n".join(lines) + "\n"


def _mean_std(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    std = float(arr.std(ddof=STD_DDOF)) if arr.shape[0] > STD_DDOF else float("nan")
    return float(arr.mean()), std


def summarize_folds(reports: Sequence[MetricsReport]) -> FoldsReport:
    """Mean and sample std over fold reports (all made with the same threshold rule)."""
    reports = list(reports)
    if not reports:
        raise ValueError("summarize_folds needs at least one fold report")
    rules = {r.threshold_rule for r in reports}
    if len(rules) > 1:
        raise ValueError(f"the folds used different threshold rules ({', '.join(sorted(rules))}); use one rule for all folds")
    mean: dict[str, Any] = {}
    std: dict[str, Any] = {}
    for key in FOLD_SCALARS:
        values = [getattr(r, key) for r in reports]
        if any(v is None for v in values):
            continue
        mean[key], std[key] = _mean_std(values)
    for group in ("tpr_at_fpr", "apcer_per_pai"):
        names = sorted({k for r in reports for k in getattr(r, group)}) if group == "apcer_per_pai" else list(reports[0].tpr_at_fpr)
        mean[group], std[group] = {}, {}
        for name in names:
            values = [getattr(r, group)[name] for r in reports if name in getattr(r, group)]
            mean[group][name], std[group][name] = _mean_std(values)
    return FoldsReport(reports, mean, std)


def evaluate_folds(
    folds: Sequence[tuple[ScoreSet, ScoreSet]],
    *,
    threshold: str | float | None = "eer",
    aggregate: str = "mean",
    ci: float | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    convention: str = DEFAULT_CONVENTION,
) -> FoldsReport:
    """Evaluate each ``(dev, test)`` fold with its own dev threshold, then summarize."""
    if not folds:
        raise ValueError("evaluate_folds needs at least one (dev, test) fold")
    reports = [
        evaluate(
            test, dev, threshold=threshold, aggregate=aggregate, ci=ci, n_resamples=n_resamples, seed=seed, convention=convention
        )
        for dev, test in folds
    ]
    return summarize_folds(reports)
