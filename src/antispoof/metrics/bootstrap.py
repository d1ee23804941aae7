"""Bootstrap confidence intervals that resample whole subjects.

Error rates from a few dozen test subjects are noisy, and the frames (or videos) of one
subject are not independent, so the unit of resampling is the subject: each of
``n_resamples`` resamples draws as many subjects as the set has, with replacement, and
keeps all their presentations (a subject drawn twice counts twice). Without a subject
column the unit is the video, without either the single presentation.

- APCER (max over species present in the resample), pooled APCER, BPCER, ACER and HTER
  are evaluated at the **fixed** threshold already chosen (on dev, or on test for
  ``oracle``); the interval shows the sampling noise of the test set, not of the
  threshold choice.
- EER and AUC are recomputed on every resample with the same rules as
  :mod:`antispoof.metrics.threshold` and :mod:`antispoof.metrics.curves` (a resample
  is a weighted copy of the set, so the scores are sorted once for all resamples).
- The interval is the percentile interval: the ``(1 - level) / 2`` and ``(1 + level) / 2``
  quantiles (numpy's default linear interpolation) of the resampled values. Resamples
  that lack bona fide or attack presentations have no value; their number is reported
  as ``n_degenerate``.
- ``numpy.random.default_rng(seed)`` draws the units; the seed is part of the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from antispoof.metrics._checks import factorize, species_codes
from antispoof.metrics.scorefile import ScoreSet

__all__ = ["bootstrap_ci", "resampling_unit", "CI_METRICS"]

CI_METRICS = ("apcer", "apcer_pooled", "bpcer", "acer", "hter", "eer", "auc")
_CHUNK_CELLS = 4_000_000  # resamples x presentations held in memory at once


def resampling_unit(scores: ScoreSet) -> tuple[str, np.ndarray]:
    """(``subject`` | ``video`` | ``sample``, one integer unit id per row)."""
    for name in ("subject", "video"):
        column = getattr(scores, name)
        if column is None:
            continue
        names, codes = factorize(column)
        if "" not in names:
            return name, codes
    return "sample", np.arange(len(scores), dtype=np.int64)


def _weighted_curve_metrics(
    sorted_bf: np.ndarray, starts: np.ndarray, unit_sorted: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """EER and AUC for each row of ``weights`` (resamples x units) on pre-sorted scores."""
    w = weights[:, unit_sorted]  # (chunk, n)
    w_bf = w * sorted_bf
    w_at = w - w_bf
    cut = np.append(starts, sorted_bf.shape[0])
    zero = np.zeros((w.shape[0], 1))
    bf_below = np.concatenate([zero, np.cumsum(w_bf, axis=1)], axis=1)[:, cut]  # (chunk, C)
    at_below = np.concatenate([zero, np.cumsum(w_at, axis=1)], axis=1)[:, cut]
    n_bf = bf_below[:, -1:]
    n_at = at_below[:, -1:]
    fa = n_at - at_below
    fr = bf_below
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(fa * n_bf - fr * n_at)
        j = gap.shape[1] - 1 - np.argmin(gap[:, ::-1], axis=1)
        rows = np.arange(gap.shape[0])
        eer = (fa[rows, j] / n_at[:, 0] + fr[rows, j] / n_bf[:, 0]) / 2.0
        bf_at_value = np.diff(fr, axis=1)
        at_at_value = -np.diff(fa, axis=1)
        wins = (bf_at_value * (2.0 * (n_at - fa[:, :-1]) + at_at_value)).sum(axis=1)
        auc = wins / (2.0 * n_bf[:, 0] * n_at[:, 0])
    return eer, auc


def bootstrap_ci(
    scores: ScoreSet,
    threshold: float,
    *,
    level: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Percentile bootstrap intervals of :data:`CI_METRICS` over resampled subjects (see module docstring).

    ``scores`` holds the presentations that were evaluated (failures to acquire are left out).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"the confidence level must be between 0 and 1 (e.g. 0.95); got {level}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1; got {n_resamples}")
    kept = scores.subset(~scores.failed_to_acquire)
    if len(kept) == 0:
        raise ValueError(f"{scores.source}: no scored presentations to bootstrap")
    unit_name, unit = resampling_unit(kept)
    n_units = int(unit.max()) + 1
    values, is_bf = kept.scores, kept.is_bonafide
    attack_pai = None if kept.pai is None else kept.pai[~is_bf]
    species, codes = species_codes(attack_pai, int((~is_bf).sum()))

    # Per-unit counts at the fixed threshold.
    bf_total = np.bincount(unit[is_bf], minlength=n_units).astype(np.float64)
    bf_rejected = np.bincount(unit[is_bf & (values < threshold)], minlength=n_units).astype(np.float64)
    at_unit = unit[~is_bf]
    accepted = values[~is_bf] >= threshold
    sp_total = np.zeros((len(species), n_units))
    sp_accepted = np.zeros((len(species), n_units))
    for k in range(len(species)):
        sp_total[k] = np.bincount(at_unit[codes == k], minlength=n_units)
        sp_accepted[k] = np.bincount(at_unit[(codes == k) & accepted], minlength=n_units)

    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_units, size=(n_resamples, n_units))
    weights = np.bincount(
        (draws + n_units * np.arange(n_resamples)[:, None]).ravel(), minlength=n_resamples * n_units
    ).reshape(n_resamples, n_units).astype(np.float64)

    with np.errstate(invalid="ignore", divide="ignore"):
        n_bf = weights @ bf_total
        bpcer = (weights @ bf_rejected) / n_bf
        sp_n = weights @ sp_total.T  # (B, K)
        sp_rate = (weights @ sp_accepted.T) / sp_n
        sp_rate[sp_n == 0] = -np.inf  # a species absent from a resample does not enter the max
        apcer = sp_rate.max(axis=1)
        n_at = sp_n.sum(axis=1)
        pooled = (weights @ sp_accepted.sum(axis=0)) / n_at
    degenerate = (n_bf == 0) | (n_at == 0)
    apcer[degenerate] = np.nan
    pooled[degenerate] = np.nan
    bpcer[degenerate] = np.nan

    order = np.argsort(values)
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    sorted_bf = is_bf[order].astype(np.float64)
    unit_sorted = unit[order]
    eer = np.full(n_resamples, np.nan)
    auc = np.full(n_resamples, np.nan)
    chunk = max(1, _CHUNK_CELLS // max(1, len(kept)))
    for lo in range(0, n_resamples, chunk):
        hi = min(n_resamples, lo + chunk)
        eer[lo:hi], auc[lo:hi] = _weighted_curve_metrics(sorted_bf, starts, unit_sorted, weights[lo:hi])
    eer[degenerate] = np.nan
    auc[degenerate] = np.nan

    samples = {
        "apcer": apcer,
        "apcer_pooled": pooled,
        "bpcer": bpcer,
        "acer": (apcer + bpcer) / 2.0,
        "hter": (pooled + bpcer) / 2.0,
        "eer": eer,
        "auc": auc,
    }
    q = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    valid = ~degenerate
    intervals = {
        name: [float(x) for x in np.quantile(s[valid], q)] if valid.any() else [float("nan"), float("nan")]
        for name, s in samples.items()
    }
    return {
        "level": float(level),
        "method": "percentile bootstrap",
        "unit": unit_name,
        "n_units": n_units,
        "n_resamples": int(n_resamples),
        "n_degenerate": int(degenerate.sum()),
        "seed": int(seed),
        "threshold": "held fixed at the chosen value",
        **intervals,
    }
