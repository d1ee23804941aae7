"""The metrics report: every number an evaluation publishes, how it was obtained, as JSON and Markdown.

:func:`evaluate` takes score sets (:class:`~antispoof.metrics.scorefile.ScoreSet`);
:func:`compute_report` takes plain arrays. Both return a :class:`MetricsReport`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.metrics._checks import require_both_classes
from antispoof.metrics.aggregate import AggregationInfo, aggregate_videos
from antispoof.metrics.bootstrap import bootstrap_ci
from antispoof.metrics.curves import TPR_TARGETS, auc_of_sweep, tpr_at_fpr
from antispoof.metrics.scorefile import ScoreSet
from antispoof.metrics.sweep import Sweep, sweep
from antispoof.metrics.threshold import (
    DEFAULT_CONVENTION,
    ThresholdRule,
    choose_threshold,
    eer_of_sweep,
    parse_threshold_rule,
)

__all__ = ["MetricsReport", "evaluate", "compute_report", "REPORT_KEYS"]

# The keys of MetricsReport.to_dict(), in order (``eer_dev`` only when a dev set was given).
REPORT_KEYS = (
    "threshold",
    "threshold_rule",
    "apcer",
    "apcer_pooled",
    "apcer_per_pai",
    "bpcer",
    "acer",
    "hter",
    "eer_dev",
    "eer",
    "auc",
    "tpr_at_fpr",
    "n_bonafide",
    "n_attack",
    "n_failed_to_acquire",
)
# Sections present only when they apply: failure-to-acquire breakdown, aggregation, CI, notes.
OPTIONAL_KEYS = ("failed_to_acquire", "aggregation", "ci", "notes")


def json_text(data: dict[str, Any], path: str | Path | None = None, indent: int = 2) -> str:
    """``data`` as JSON text (one trailing newline); also written to ``path`` when given."""
    text = json.dumps(data, indent=indent) + "\n"
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    return text


@dataclass
class MetricsReport:
    """ISO/IEC 30107-3 metrics of one test set at one threshold (see :mod:`antispoof.metrics`)."""

    threshold: float
    threshold_rule: str
    apcer: float
    apcer_pooled: float
    apcer_per_pai: dict[str, float]
    bpcer: float
    acer: float
    hter: float
    eer: float
    auc: float
    tpr_at_fpr: dict[str, float]
    n_bonafide: int
    n_attack: int
    n_failed_to_acquire: int
    eer_dev: float | None = None
    failed_to_acquire: dict[str, Any] | None = None
    aggregation: dict[str, Any] | None = None
    ci: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    n_attack_per_pai: dict[str, int] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: :data:`REPORT_KEYS` (``eer_dev`` only with a dev set), then the optional sections that apply."""
        out: dict[str, Any] = {}
        for key in REPORT_KEYS:
            if key == "eer_dev" and self.eer_dev is None:
                continue
            out[key] = _plain(getattr(self, key))
        for key in OPTIONAL_KEYS:
            value = getattr(self, key)
            if value:
                out[key] = _plain(value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricsReport:
        """Read back what :meth:`to_dict` wrote."""
        known = set(REPORT_KEYS) | set(OPTIONAL_KEYS)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"not a metrics report: unknown key(s) {', '.join(unknown)}")
        return cls(**{k: v for k, v in data.items()})

    def to_json(self, path: str | Path | None = None, indent: int = 2) -> str:
        """The JSON text; also written to ``path`` when given."""
        return json_text(self.to_dict(), path, indent)

    def to_markdown(self, title: str = "PAD metrics (ISO/IEC 30107-3)") -> str:
        """A Markdown page: the metric table (with intervals when computed), species, TPR, failures, notes."""
        ci = self.ci or {}
        level = f"{100 * ci['level']:g}% CI" if ci else None
        lines = [f"# {title}", ""]
        lines.append(f"Threshold `{self.threshold!r}` from rule `{self.threshold_rule}`.")
        if self.aggregation:
            a = self.aggregation
            lines.append(
                f"Per-video aggregation `{a['method']}`: {a['n_videos']} videos from {a['n_frames']} frames "
                f"({a['frames_per_video_min']}-{a['frames_per_video_max']} per video, median "
                f"{a['frames_per_video_median']:g}); {a['n_failed_frames']} frames failed to acquire."
            )
        lines.append(
            f"{self.n_bonafide} bona fide and {self.n_attack} attack presentations; "
            f"{self.n_failed_to_acquire} failed to acquire (counted apart, not in the error rates)."
        )
        lines += ["", "| metric | value |" + (f" {level} |" if level else ""), "|---|---|" + ("---|" if level else "")]
        rows = [
            ("APCER (max over PAI species)", "apcer", self.apcer),
            ("APCER pooled", "apcer_pooled", self.apcer_pooled),
            ("BPCER", "bpcer", self.bpcer),
            ("ACER", "acer", self.acer),
            ("HTER", "hter", self.hter),
            ("EER (test)", "eer", self.eer),
        ]
        if self.eer_dev is not None:
            rows.append(("EER (dev)", "eer_dev", self.eer_dev))
        for name, key, value in rows:
            cell = f" {_interval(ci[key], percent=True)} |" if level and key in ci else (" |" if level else "")
            lines.append(f"| {name} | {_pct(value)} |{cell}")
        cell = f" {_interval(ci['auc'], percent=False)} |" if level and "auc" in ci else (" |" if level else "")
        lines.append(f"| AUC | {self.auc:.6f} |{cell}")
        for key, value in self.tpr_at_fpr.items():
            lines.append(f"| TPR @ FPR={key} | {_pct(value)} |" + (" |" if level else ""))
        lines += ["", "## APCER per PAI species", "", "| species | attacks | APCER |", "|---|---|---|"]
        for species, value in self.apcer_per_pai.items():
            lines.append(f"| {species} | {self.n_attack_per_pai.get(species, '-')} | {_pct(value)} |")
        if self.failed_to_acquire:
            f = self.failed_to_acquire
            lines += ["", "## Failures to acquire", ""]
            lines.append(f"- bona fide: {f['bonafide']} (rate {_pct(f['rate_bonafide'])})")
            lines.append(f"- attack: {f['attack']} (rate {_pct(f['rate_attack'])})")
            for reason, count in f.get("reasons", {}).items():
                lines.append(f"- reason `{reason}`: {count}")
        if ci:
            lines += [
                "",
                f"Intervals: {ci['method']} over {ci['n_units']} {ci['unit']}s, {ci['n_resamples']} resamples, "
                f"seed {ci['seed']}, threshold {ci['threshold']}; {ci['n_degenerate']} resamples lacked a class.",
            ]
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def _pct(value: float) -> str:
    return f"{100.0 * value:.2f}%"


def _interval(bounds: list[float], percent: bool) -> str:
    lo, hi = bounds
    return f"[{_pct(lo)}, {_pct(hi)}]" if percent else f"[{lo:.4f}, {hi:.4f}]"


def _plain(value: Any) -> Any:
    """Numpy scalars and containers to JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _as_scoreset(data: Any, name: str) -> ScoreSet:
    if isinstance(data, ScoreSet):
        return data
    if isinstance(data, tuple) and len(data) in (2, 3):
        pai = data[2] if len(data) == 3 else None
        return ScoreSet.from_arrays(data[0], data[1], pai=pai, source=name)
    raise ValueError(f"{name} must be a ScoreSet or a tuple (scores, labels[, pai]); got {type(data).__name__}")


def _fta_summary(scores: ScoreSet) -> dict[str, Any] | None:
    fta = scores.failed_to_acquire
    if not fta.any():
        return None
    bf = int((fta & scores.is_bonafide).sum())
    at = int((fta & ~scores.is_bonafide).sum())
    n_bf = int(scores.is_bonafide.sum())
    out: dict[str, Any] = {
        "bonafide": bf,
        "attack": at,
        "rate_bonafide": bf / n_bf if n_bf else 0.0,
        "rate_attack": at / (len(scores) - n_bf) if len(scores) - n_bf else 0.0,
    }
    if scores.fta_reason is not None:
        reasons, counts = np.unique(scores.fta_reason[fta].astype(str), return_counts=True)
        out["reasons"] = {str(r) or "unspecified": int(c) for r, c in zip(reasons, counts)}
    return out


def _prepare(scores: ScoreSet, aggregate: str, what: str) -> tuple[ScoreSet, AggregationInfo | None, Sweep]:
    units, info = aggregate_videos(scores, aggregate)
    kept = units.subset(~units.failed_to_acquire) if units.failed_to_acquire.any() else units
    require_both_classes(kept.is_bonafide, f"{what} ({scores.source})", "the metrics")
    return units, info, sweep(kept.scores, kept.is_bonafide, kept.pai, what=f"{what} ({scores.source})")


def evaluate(
    test: ScoreSet,
    dev: ScoreSet | tuple | None = None,
    *,
    threshold: str | float | ThresholdRule | None = None,
    aggregate: str = "mean",
    ci: float | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    convention: str = DEFAULT_CONVENTION,
) -> MetricsReport:
    """All metrics of ``test``, the threshold chosen by ``threshold`` on ``dev`` and applied unchanged to test.

    ``threshold`` (default: ``eer`` with a dev set, ``oracle`` without): ``eer``, ``min-hter``,
    ``bpcer@apcer=X``, ``apcer@bpcer=X``, ``oracle`` (the EER threshold of the test set
    itself) or a number. Rules other than ``oracle`` and a number need ``dev``. Frames are
    aggregated per video with ``aggregate`` (both sets alike). ``ci`` (e.g. 0.95) adds
    subject-level bootstrap intervals with ``n_resamples`` resamples seeded by ``seed``.
    ``convention`` decides tied candidates: ``"bob"`` (default), ``"exact"`` or ``"bob-pad"`` (see :mod:`antispoof.metrics`).
    """
    test = _as_scoreset(test, "test")
    dev_set = None if dev is None else _as_scoreset(dev, "dev")
    rule = parse_threshold_rule(threshold if threshold is not None else ("eer" if dev_set is not None else "oracle"))
    if rule.data_driven and rule.kind != "oracle" and dev_set is None:
        raise ValueError(
            f"threshold rule {rule} is chosen on a dev set, and none was given; give the dev scores "
            "(--dev dev.csv), or use 'oracle' to choose the EER threshold on the test set, or a fixed number"
        )
    notes: list[str] = []
    units, info, test_sweep = _prepare(test, aggregate, "test set")
    eer_dev = None
    if dev_set is not None:
        _, _, dev_sweep = _prepare(dev_set, aggregate, "dev set")
        eer_dev = eer_of_sweep(dev_sweep, convention)[0]
        chosen_on = test_sweep if rule.kind == "oracle" else dev_sweep
        value = choose_threshold(chosen_on, rule, convention)
    else:
        value = choose_threshold(test_sweep, rule, convention)
    if rule.kind == "oracle":
        notes.append("oracle threshold: chosen at the EER of the test set itself (optimistic; as cross-domain papers report)")

    rates = test_sweep.rates_at(value)
    eer_test = eer_of_sweep(test_sweep, convention)[0]
    notes.append(f"thresholds chosen with the {convention!r} convention: {_CONVENTION_TEXT[convention]}")
    tpr = {key: tpr_at_fpr(test_sweep, target) for key, target in TPR_TARGETS.items()}
    for key, target in TPR_TARGETS.items():
        if rates.n_attack * target < 1.0:
            notes.append(
                f"TPR at FPR {key}: only {rates.n_attack} attacks, fewer than {round(1 / target)}, so no false "
                "accept fits under that FPR; the value is the TPR at FPR 0 and is not meaningful at this size"
            )
    if len(rates.apcer_per_pai) == 1:
        species = next(iter(rates.apcer_per_pai))
        why = "no pai column, so all attacks form one species" if units.pai is None else f"one PAI species ({species!r})"
        notes.append(f"{why}: APCER (max over species) equals the pooled APCER")
    if units.failed_to_acquire.any():
        notes.append(
            f"{int(units.failed_to_acquire.sum())} presentation(s) failed to acquire; they are counted in "
            "n_failed_to_acquire and left out of every error rate (ISO/IEC 30107-3 reports them apart)"
        )
    if info is not None and info.n_failed_frames:
        notes.append(
            f"{info.n_failed_frames} frame(s) failed to acquire; each video was scored from its other frames, "
            f"and the {info.n_failed_videos} video(s) with no frame acquired count as failures to acquire"
        )
    ci_result = None
    if ci is not None:
        ci_result = bootstrap_ci(units, value, level=ci, n_resamples=n_resamples, seed=seed)
    return MetricsReport(
        threshold=float(value),
        threshold_rule=str(rule),
        apcer=rates.apcer,
        apcer_pooled=rates.apcer_pooled,
        apcer_per_pai=rates.apcer_per_pai,
        bpcer=rates.bpcer,
        acer=rates.acer,
        hter=rates.hter,
        eer=eer_test,
        auc=auc_of_sweep(test_sweep),
        tpr_at_fpr=tpr,
        n_bonafide=rates.n_bonafide,
        n_attack=rates.n_attack,
        n_failed_to_acquire=int(units.failed_to_acquire.sum()),
        eer_dev=eer_dev,
        failed_to_acquire=_fta_summary(units),
        aggregation=None if info is None else info.to_dict(),
        ci=ci_result,
        notes=notes,
        n_attack_per_pai=rates.n_attack_per_pai,
    )


_CONVENTION_TEXT = {
    "bob": "eer / min-hter as bob.measure picks them, bpcer@apcer / apcer@bpcer as defined (lowest error within the target)",
    "exact": "every rule as defined, ties to the higher threshold on exact counts",
    "bob-pad": "eer / min-hter as bob.measure, bpcer@apcer / apcer@bpcer as bob.pad.base's score-valued thresholds",
}


def compute_report(
    test_scores: Any,
    test_labels: Any,
    *,
    test_pai: Any = None,
    test_video: Any = None,
    test_subject: Any = None,
    test_failed_to_acquire: Any = None,
    dev: ScoreSet | tuple | None = None,
    threshold: str | float | ThresholdRule | None = None,
    aggregate: str = "mean",
    ci: float | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    convention: str = DEFAULT_CONVENTION,
) -> MetricsReport:
    """:func:`evaluate` on arrays. Labels: bools, 1/0 or 'bonafide'/'attack' (True / 1 = bona fide).

    ``dev``: a ScoreSet or a tuple ``(scores, labels[, pai])``. A NaN test score is an error
    unless ``test_failed_to_acquire`` marks its row.
    """
    test = ScoreSet.from_arrays(
        test_scores,
        test_labels,
        pai=test_pai,
        video=test_video,
        subject=test_subject,
        failed_to_acquire=test_failed_to_acquire,
        source="test",
    )
    return evaluate(
        test, dev, threshold=threshold, aggregate=aggregate, ci=ci, n_resamples=n_resamples, seed=seed, convention=convention
    )


