"""Threshold-free summaries of a sweep: exact AUC, TPR at a fixed FPR, ROC and DET points.

Positive class = bona fide (accepted iff ``score >= threshold``): FPR is the pooled APCER,
TPR = 1 - BPCER, computed as accepted bona fide / all bona fide.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from antispoof.metrics.sweep import Sweep, sweep

__all__ = ["auc", "auc_of_sweep", "tpr_at_fpr", "roc_curve", "det_curve", "TPR_TARGETS"]

TPR_TARGETS = {"1e-2": 1e-2, "1e-3": 1e-3, "1e-4": 1e-4}


def auc_of_sweep(sw: Sweep) -> float:
    """Exact area under the ROC: the Mann-Whitney statistic, a bona fide/attack tie counting one half.

    ``AUC = (#pairs bona fide > attack + 0.5 #ties) / (N_bf N_att)``, summed over distinct
    score values in integers and divided once (Python ints: correctly rounded).
    """
    bf_at_value = np.diff(sw.false_rejects)  # bona fide scores equal to each distinct value
    attacks_at_value = -np.diff(sw.false_accepts)
    attacks_below = sw.n_attack - sw.false_accepts[:-1]
    twice_wins = int(np.dot(bf_at_value, 2 * attacks_below + attacks_at_value))
    return twice_wins / (2 * sw.n_bonafide * sw.n_attack)


def auc(scores: Any, labels: Any) -> float:
    """Exact ROC AUC of a score set (labels: True / 1 / 'bonafide' for bona fide)."""
    return auc_of_sweep(sweep(scores, labels))


def tpr_at_fpr(sw: Sweep, target: float) -> float:
    """The best TPR among candidate thresholds whose FPR (pooled APCER) is at most ``target``."""
    feasible = sw.apcer_pooled <= target
    return float(sw.tpr[feasible].max())  # the highest candidate always has FPR 0


def roc_curve(sw: Sweep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FPR, TPR, threshold) at every candidate, from the highest threshold (0, 0) to the lowest (1, 1)."""
    return sw.apcer_pooled[::-1], sw.tpr[::-1], sw.thresholds[::-1]


def det_curve(sw: Sweep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pooled APCER, BPCER, threshold) at every candidate, ascending threshold."""
    return sw.apcer_pooled, sw.bpcer, sw.thresholds
