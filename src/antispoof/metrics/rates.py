"""ISO/IEC 30107-3 error rates at one threshold: APCER (per species, max, pooled), BPCER, ACER, HTER.

Decision: bona fide iff ``score >= threshold``. An attack is a false accept when its score
is ``>= threshold`` (a tie at the threshold is accepted); a bona fide score is a false
reject when it is ``< threshold``. Each rate is ``count / total`` in float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from antispoof.metrics._checks import as_is_bonafide, as_scores, require_both_classes, species_codes

__all__ = ["ErrorRates", "error_rates", "far_frr", "apcer_per_pai", "apcer_max"]


@dataclass(frozen=True)
class ErrorRates:
    """The error rates of one score set at one threshold, with the counts behind them."""

    threshold: float
    apcer: float
    apcer_pooled: float
    apcer_per_pai: dict[str, float]
    bpcer: float
    acer: float
    hter: float
    n_bonafide: int
    n_attack: int
    n_attack_per_pai: dict[str, int] = field(default_factory=dict)
    false_rejects: int = 0
    false_accepts: int = 0

    @classmethod
    def from_counts(
        cls,
        threshold: float,
        species: Any,
        species_accepted: Any,
        species_totals: Any,
        false_rejects: int,
        n_bonafide: int,
    ) -> ErrorRates:
        """The rates from the counts at one threshold: the one place APCER, BPCER, ACER and HTER are formed."""
        per = {name: float(species_accepted[k] / species_totals[k]) for k, name in enumerate(species)}
        n_attack = int(sum(int(t) for t in species_totals))
        false_accepts = int(sum(int(a) for a in species_accepted))
        apcer = max(per.values())
        pooled = false_accepts / n_attack
        bpcer = int(false_rejects) / int(n_bonafide)
        return cls(
            threshold=float(threshold),
            apcer=apcer,
            apcer_pooled=pooled,
            apcer_per_pai=per,
            bpcer=bpcer,
            acer=(apcer + bpcer) / 2.0,
            hter=(pooled + bpcer) / 2.0,
            n_bonafide=int(n_bonafide),
            n_attack=n_attack,
            n_attack_per_pai={name: int(species_totals[k]) for k, name in enumerate(species)},
            false_rejects=int(false_rejects),
            false_accepts=false_accepts,
        )


def _split(scores: Any, labels: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    values = as_scores(scores, f"{what} scores")
    is_bf = as_is_bonafide(labels, values.shape[0], f"{what} labels")
    return values, is_bf


def far_frr(scores: Any, labels: Any, threshold: float) -> tuple[float, float]:
    """(pooled APCER, BPCER) at ``threshold``: attacks ``>= threshold`` accepted, bona fide ``< threshold`` rejected."""
    values, is_bf = _split(scores, labels, "far_frr")
    require_both_classes(is_bf, "the score set", "FAR/FRR")
    attacks, bonafide = values[~is_bf], values[is_bf]
    return float((attacks >= threshold).sum() / attacks.shape[0]), float((bonafide < threshold).sum() / bonafide.shape[0])


def apcer_per_pai(scores: Any, labels: Any, pai: Any, threshold: float) -> dict[str, float]:
    """APCER of each presentation-attack-instrument species: share of its attacks scoring ``>= threshold``."""
    values, is_bf = _split(scores, labels, "apcer_per_pai")
    if (~is_bf).sum() == 0:
        raise ValueError("apcer_per_pai: the score set has no attack scores; APCER needs attacks")
    names, codes = species_codes(None if pai is None else np.asarray(pai, dtype=object)[~is_bf], int((~is_bf).sum()))
    accepted = values[~is_bf] >= threshold
    totals = np.bincount(codes, minlength=len(names))
    hits = np.bincount(codes, weights=accepted, minlength=len(names))
    return {name: float(hits[k] / totals[k]) for k, name in enumerate(names)}


def apcer_max(scores: Any, labels: Any, pai: Any, threshold: float) -> float:
    """APCER as ISO/IEC 30107-3 reports it: the max over PAI species.

    Needs at least two species: with one (or no ``pai``) the max is just that species' rate,
    the pooled APCER; ask :func:`far_frr` for it instead.
    """
    per = apcer_per_pai(scores, labels, pai, threshold)
    if pai is None or len(per) < 2:
        found = "no pai labels" if pai is None else f"only the species {next(iter(per))!r}"
        raise ValueError(
            f"apcer_max: a max over PAI species needs at least two species; got {found}. Give one pai per "
            "attack score (e.g. print, replay, mask), or use the pooled APCER (far_frr) for a single species"
        )
    return max(per.values())


def error_rates(scores: Any, labels: Any, threshold: float, pai: Any = None) -> ErrorRates:
    """All error rates at ``threshold``. With one species (or no ``pai``), ``apcer`` equals the pooled APCER.

    ACER = (APCER + BPCER) / 2 with APCER the max over species; HTER = (pooled APCER + BPCER) / 2.
    """
    values, is_bf = _split(scores, labels, "error_rates")
    require_both_classes(is_bf, "the score set", "APCER/BPCER")
    threshold = float(threshold)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number; got {threshold}")
    attacks = values[~is_bf]
    names, codes = species_codes(None if pai is None else np.asarray(pai, dtype=object)[~is_bf], attacks.shape[0])
    accepted = attacks >= threshold
    totals = np.bincount(codes, minlength=len(names)).astype(np.int64)
    hits = np.bincount(codes[accepted], minlength=len(names)).astype(np.int64)
    false_rejects = int((values[is_bf] < threshold).sum())
    return ErrorRates.from_counts(threshold, names, hits, totals, false_rejects, int(is_bf.sum()))
