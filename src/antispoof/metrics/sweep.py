"""Every candidate threshold of a score set with its error counts, from one sort.

The candidate thresholds are the ones bob.measure walks through: the lowest score, the
midpoint between each pair of consecutive distinct scores, and the next float above the
highest score. Between two consecutive distinct scores every threshold makes the same
decisions, so these ``U + 1`` values (``U`` distinct scores) reach every decision the
score set allows, and every threshold rule of :mod:`antispoof.metrics.threshold` picks
one of them.

Counts are integers, so the rules compare error rates exactly (``FA/N_a`` against
``FR/N_b`` as ``FA * N_b`` against ``FR * N_a``) and a tie is a true tie, never float noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from antispoof.metrics._checks import as_is_bonafide, as_scores, require_both_classes, species_codes
from antispoof.metrics.rates import ErrorRates

__all__ = ["Sweep", "sweep", "candidate_thresholds", "midpoints"]


def midpoints(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``(lower + upper) / 2`` in float64, kept inside the half-open interval ``(lower, upper]``.

    When ``lower`` and ``upper`` are adjacent floats no float lies strictly between them and
    the rounded midpoint can equal ``lower``; ``upper`` is used then, so the candidate still
    accepts exactly the scores ``>= upper``. Sums that overflow are halved first.
    """
    with np.errstate(over="ignore"):
        mid = (lower + upper) / 2.0
    overflow = ~np.isfinite(mid)
    if overflow.any():
        mid[overflow] = lower[overflow] / 2.0 + upper[overflow] / 2.0
    collapsed = ~(mid > lower)
    if collapsed.any():
        mid[collapsed] = upper[collapsed]
    return mid


def candidate_thresholds(distinct: np.ndarray) -> np.ndarray:
    """Candidate thresholds for ascending distinct scores: lowest, midpoints, next float above the highest."""
    out = np.empty(distinct.shape[0] + 1, dtype=np.float64)
    out[0] = distinct[0]
    out[1:-1] = midpoints(distinct[:-1], distinct[1:])
    out[-1] = np.nextafter(distinct[-1], np.inf)
    return out


@dataclass(frozen=True)
class Sweep:
    """Error counts at every candidate threshold (ascending), for one score set.

    ``false_accepts[j]`` counts attacks with score ``>= thresholds[j]``; ``false_rejects[j]``
    counts bona fide scores ``< thresholds[j]``; ``species_false_accepts[k, j]`` is the count
    for species ``species[k]`` alone.
    """

    thresholds: np.ndarray
    false_accepts: np.ndarray
    false_rejects: np.ndarray
    n_bonafide: int
    n_attack: int
    species: tuple[str, ...]
    species_counts: np.ndarray
    species_false_accepts: np.ndarray
    distinct: np.ndarray

    def index_at(self, threshold: float) -> int:
        """The candidate that makes the same decisions as ``threshold`` (accepts the same scores)."""
        return int(np.searchsorted(self.distinct, threshold, side="left"))

    def rates_at(self, threshold: float) -> ErrorRates:
        """All error rates at ``threshold``, read from the counts (same values as :func:`error_rates`)."""
        threshold = float(threshold)
        if not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number; got {threshold}")
        j = self.index_at(threshold)
        return ErrorRates.from_counts(
            threshold, self.species, self.species_false_accepts[:, j], self.species_counts, self.false_rejects[j], self.n_bonafide
        )

    @property
    def apcer_pooled(self) -> np.ndarray:
        """Share of all attacks accepted, per candidate (the FAR / FPR)."""
        return self.false_accepts / self.n_attack

    @property
    def bpcer(self) -> np.ndarray:
        """Share of bona fide rejected, per candidate (the FRR / FNR)."""
        return self.false_rejects / self.n_bonafide

    @property
    def tpr(self) -> np.ndarray:
        """Share of bona fide accepted, per candidate (computed as accepted / total)."""
        return (self.n_bonafide - self.false_rejects) / self.n_bonafide

    def apcer_per_species(self) -> np.ndarray:
        """APCER of each species at each candidate, shape (K, C)."""
        return self.species_false_accepts / self.species_counts[:, None]

    def apcer_max(self) -> np.ndarray:
        """APCER as the max over species, per candidate."""
        return self.apcer_per_species().max(axis=0)


def sweep(scores: Any, labels: Any, pai: Any = None, what: str = "score set") -> Sweep:
    """Sort the scores once and count the errors at every candidate threshold.

    ``labels``: True / 1 / ``"bonafide"`` for bona fide. ``pai``: one species name per score
    (entries of bona fide scores are ignored), or None when all attacks are one species.
    """
    values = as_scores(scores, f"{what} scores")
    is_bf = as_is_bonafide(labels, values.shape[0], f"{what} labels")
    require_both_classes(is_bf, what, "a threshold sweep (EER, AUC, ROC)")
    n = values.shape[0]
    attack_pai = None if pai is None else np.asarray(pai, dtype=object)[~is_bf]
    species, codes = species_codes(attack_pai, int((~is_bf).sum()))

    order = np.argsort(values)
    sorted_values = values[order]
    sorted_bf = is_bf[order]
    new_value = np.empty(n, dtype=bool)
    new_value[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=new_value[1:])
    starts = np.flatnonzero(new_value)
    distinct = sorted_values[starts]
    thresholds = candidate_thresholds(distinct)
    # Candidate j accepts the scores from the j-th distinct value on: counts below starts[j].
    cut = np.append(starts, n)
    bf_below = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sorted_bf, out=bf_below[1:])
    false_rejects = bf_below[cut]
    attacks_below = cut - false_rejects
    n_bf = int(bf_below[-1])
    n_at = n - n_bf
    false_accepts = n_at - attacks_below

    attack_positions = np.flatnonzero(~is_bf)
    code_of_row = np.full(n, -1, dtype=np.int64)
    code_of_row[attack_positions] = codes
    sorted_codes = code_of_row[order]
    species_counts = np.bincount(codes, minlength=len(species)).astype(np.int64)
    species_fa = np.empty((len(species), cut.shape[0]), dtype=np.int64)
    below = np.zeros(n + 1, dtype=np.int64)
    for k in range(len(species)):
        np.cumsum(sorted_codes == k, out=below[1:])
        species_fa[k] = species_counts[k] - below[cut]
    return Sweep(
        thresholds=thresholds,
        false_accepts=false_accepts,
        false_rejects=false_rejects,
        n_bonafide=n_bf,
        n_attack=n_at,
        species=species,
        species_counts=species_counts,
        species_false_accepts=species_fa,
        distinct=distinct,
    )
