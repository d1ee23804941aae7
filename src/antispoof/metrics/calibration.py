"""The one way a deployment threshold is chosen: a rule of :mod:`.threshold` on dev scores, never on test.

Runs (:func:`antispoof.inference.calibrate.calibrate_run`), bundles
(:func:`antispoof.inference.calibrate_bundle.calibrate_bundle`) and ensembles
(:func:`antispoof.inference.ensemble.calibrate_on_store`) all call :func:`dev_threshold`.
:func:`calibration_rule` is its first check, exposed so a caller can refuse a bad target
before scoring anything.
"""

from __future__ import annotations

import logging
from typing import Any

from antispoof.metrics.report import MetricsReport, evaluate
from antispoof.metrics.threshold import ThresholdRule, parse_threshold_rule, resolution_problem

__all__ = ["calibration_rule", "dev_threshold"]

log = logging.getLogger(__name__)


def calibration_rule(target: str | float | ThresholdRule, split: str = "dev") -> ThresholdRule:
    """``target`` parsed, refused where it would read the test set (``oracle``, or ``split`` test)."""
    rule = parse_threshold_rule(target)
    if rule.kind == "oracle":
        raise ValueError("the 'oracle' rule reads the test set; calibrate with eer, bpcer@apcer=X or apcer@bpcer=X on dev")
    if split == "test":
        raise ValueError("a deployment threshold is chosen on the dev split, never on test; use --split dev")
    return rule


def dev_threshold(scores: Any, rule: str | float | ThresholdRule, aggregate: str = "mean", allow_coarse: bool = False,
                  *, split: str = "dev") -> tuple[MetricsReport, str]:
    """``(report, resolution problem or '')``: the report at ``rule``'s threshold chosen on the dev ``scores``.

    The rule is checked by :func:`calibration_rule`; a target finer than the scores resolve
    (:func:`~antispoof.metrics.threshold.resolution_problem`) is refused unless ``allow_coarse``.
    """
    rule = calibration_rule(rule, split)
    report = evaluate(scores, scores, threshold=rule, aggregate=aggregate)
    per_pai = dict(report.n_attack_per_pai) or report.n_attack
    problem = resolution_problem(rule, report.n_bonafide, per_pai)
    if problem and not allow_coarse:
        fewest = min(per_pai.values()) if isinstance(per_pai, dict) else per_pai
        raise ValueError(f"{problem}. Choose a coarser target (e.g. --target bpcer@apcer={_coarse(fewest)} or "
                         "--target eer), calibrate on a larger dev set, or pass --allow-coarse to go on")
    if problem:
        log.warning("calibrating anyway (allow_coarse): %s", problem)
    return report, problem


def _coarse(n_attack: int) -> str:
    """The finest APCER target ``n_attack`` presentations (of the smallest species) resolve, as a plain value."""
    return next((f"{v:g}" for v in (0.01, 0.02, 0.05, 0.1, 0.2) if n_attack >= 1.0 / v), "0.5")
