"""Threshold rules: which candidate threshold each rule picks, and the EER.

Every data-driven rule picks one of the candidates of :mod:`antispoof.metrics.sweep`
(lowest score, midpoints between consecutive distinct scores, next float above the
highest) and, among equally good candidates, the **highest** threshold:

=====================  ==============================================================
rule                   picks
=====================  ==============================================================
``eer``                min ``|FAR - FRR|`` (pooled APCER vs BPCER)
``min-hter``           min ``FAR + FRR``
``bpcer@apcer=X``      min BPCER among candidates with APCER (max over species) ``<= X``
``apcer@bpcer=X``      min APCER (max over species) among candidates with BPCER ``<= X``
``oracle``             the ``eer`` rule on the test set itself
a number               that fixed threshold
=====================  ==============================================================

Rates are compared exactly through integer counts, so ties are true ties.

Three conventions decide which candidate wins (see :mod:`antispoof.metrics._bob` for
where and why they differ):

- ``bob`` (the default): ``eer``, ``oracle`` and ``min-hter`` pick exactly the threshold
  bob.measure 6.x picks (``eer_threshold`` / ``min_hter_threshold``, the reference PAD
  tooling the EER rule is defined by); ``bpcer@apcer`` and ``apcer@bpcer`` follow the
  definitions in the table above, which bob.measure does not have.
- ``exact``: every rule as in the table, ties always going to the higher threshold,
  decided on exact integer counts (differs from bob only where two candidates tie).
- ``bob-pad``: as ``bob``, and ``bpcer@apcer`` / ``apcer@bpcer`` take bob.pad.base's
  score-valued thresholds (its ``bpcerXX`` / ``apcerXX``), which can be worse than the
  definitions above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from antispoof.metrics._checks import check_rate
from antispoof.metrics.sweep import Sweep, sweep

__all__ = [
    "ThresholdRule",
    "parse_threshold_rule",
    "resolution_problem",
    "choose_threshold",
    "choose_index",
    "eer",
    "eer_threshold",
    "eer_of_sweep",
    "RULE_NAMES",
    "CONVENTIONS",
    "DEFAULT_CONVENTION",
]

CONVENTIONS = ("bob", "exact", "bob-pad")
DEFAULT_CONVENTION = "bob"
RULE_NAMES = ("eer", "min-hter", "bpcer@apcer=X", "apcer@bpcer=X", "oracle", "<number>")
_TARGET_RULE = re.compile(r"^(bpcer@apcer|apcer@bpcer)=(.+)$")


@dataclass(frozen=True)
class ThresholdRule:
    """A parsed threshold rule: ``kind`` is eer, min-hter, bpcer@apcer, apcer@bpcer, oracle or fixed."""

    kind: str
    value: float | None = None

    def __str__(self) -> str:
        if self.kind in ("bpcer@apcer", "apcer@bpcer"):
            return f"{self.kind}={self.value:g}"
        if self.kind == "fixed":
            return f"fixed={self.value!r}"
        return self.kind

    @property
    def data_driven(self) -> bool:
        """True when the rule reads scores (all but a fixed value)."""
        return self.kind != "fixed"


def resolution_problem(rule: ThresholdRule, n_bonafide: int, n_attack: int | dict[str, int]) -> str:
    """Why ``rule`` is finer than the presentations can resolve ('' when it is not).

    An error-rate target X needs at least 1/X presentations of the class it bounds. APCER
    is the maximum over the attack species, so ``bpcer@apcer=X`` needs 1/X attacks of
    *every* species: with 8 replays of one kind, one replay is already 12.5% APCER and a
    5% target can only be met by accepting no attack at all, at a very high BPCER.
    ``n_attack``: attack presentations per species (or one total when species are unknown).
    """
    per_pai = n_attack if isinstance(n_attack, dict) else {"all attacks": int(n_attack)}
    if rule.kind == "bpcer@apcer" and rule.value and per_pai:
        species, fewest = min(per_pai.items(), key=lambda kv: kv[1])
        if fewest < 1.0 / rule.value:
            return (f"{rule} needs at least {int(np.ceil(1.0 / rule.value))} attack presentations of each species to resolve "
                    f"an APCER of {rule.value:g} (APCER is the worst species'); {species} has {fewest} "
                    f"(one of them = {1.0 / max(fewest, 1):.2%} APCER)")
    if rule.kind == "apcer@bpcer" and rule.value and n_bonafide < 1.0 / rule.value:
        return (f"{rule} needs at least {int(np.ceil(1.0 / rule.value))} bona fide presentations to resolve a BPCER of "
                f"{rule.value:g}; the data has {n_bonafide} (one bona fide = {1.0 / max(n_bonafide, 1):.2%} BPCER)")
    return ""


def parse_threshold_rule(rule: str | float | ThresholdRule) -> ThresholdRule:
    """Read ``eer``, ``min-hter``, ``bpcer@apcer=0.05``, ``apcer@bpcer=0.01``, ``oracle`` or a number."""
    if isinstance(rule, ThresholdRule):
        return rule
    if isinstance(rule, (int, float, np.floating, np.integer)) and not isinstance(rule, bool):
        value = float(rule)
        if not np.isfinite(value):
            raise ValueError(f"a fixed threshold must be a finite number; got {value}")
        return ThresholdRule("fixed", value)
    text = str(rule).strip().lower().replace("_", "-")
    if text in ("eer", "min-hter", "oracle"):
        return ThresholdRule(text)
    match = _TARGET_RULE.match(text)
    if match:
        kind, target = match.groups()
        try:
            value = float(target)
        except ValueError:
            raise ValueError(f"threshold rule {rule!r}: {target!r} is not a number; e.g. {kind}=0.05") from None
        return ThresholdRule(kind, check_rate(value, f"the target of threshold rule {rule!r}"))
    try:
        return parse_threshold_rule(float(text))
    except ValueError:
        pass
    raise ValueError(
        f"unknown threshold rule {rule!r}; use one of: eer, min-hter, bpcer@apcer=X, apcer@bpcer=X "
        "(X a rate such as 0.05), oracle, or a number (a fixed threshold)"
    )


def _last_argmin(values: np.ndarray) -> int:
    """Index of the minimum; among equal minima the last (highest threshold)."""
    return int(values.shape[0] - 1 - np.argmin(values[::-1]))


def choose_index(sw: Sweep, rule: ThresholdRule) -> int:
    """Index into ``sw.thresholds`` of the candidate a data-driven rule picks."""
    fa = sw.false_accepts
    fr = sw.false_rejects
    if rule.kind in ("eer", "oracle"):
        return _last_argmin(np.abs(fa * sw.n_bonafide - fr * sw.n_attack))
    if rule.kind == "min-hter":
        return _last_argmin(fa * sw.n_bonafide + fr * sw.n_attack)
    if rule.kind == "bpcer@apcer":
        feasible = sw.apcer_max() <= rule.value
        cost = np.where(feasible, fr, np.iinfo(np.int64).max)
        return _last_argmin(cost)
    if rule.kind == "apcer@bpcer":
        feasible = sw.bpcer <= rule.value
        # APCER is non-increasing in the threshold, so the highest feasible candidate has the
        # lowest APCER, and ties already go to the higher threshold.
        return int(np.flatnonzero(feasible)[-1])
    raise ValueError(f"threshold rule {rule} does not choose from scores")


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown threshold convention {convention!r}; use one of {', '.join(CONVENTIONS)}")


def choose_threshold(sw: Sweep, rule: str | float | ThresholdRule, convention: str = DEFAULT_CONVENTION) -> float:
    """The threshold ``rule`` picks on the score set behind ``sw`` (a fixed rule returns its value)."""
    _check_convention(convention)
    parsed = parse_threshold_rule(rule)
    if parsed.kind == "fixed":
        return float(parsed.value)  # type: ignore[arg-type]
    if convention in ("bob", "bob-pad") and parsed.kind in ("eer", "oracle", "min-hter"):
        from antispoof.metrics._bob import bob_minimizing_threshold

        return bob_minimizing_threshold(sw, "min-hter" if parsed.kind == "min-hter" else "eer")
    if convention == "bob-pad":
        from antispoof.metrics._bob import bob_apcer_threshold, bob_frr_threshold

        if parsed.kind == "bpcer@apcer":
            return bob_apcer_threshold(sw, float(parsed.value))  # type: ignore[arg-type]
        return bob_frr_threshold(sw, float(parsed.value))  # type: ignore[arg-type]
    return float(sw.thresholds[choose_index(sw, parsed)])


def eer_of_sweep(sw: Sweep, convention: str = DEFAULT_CONVENTION) -> tuple[float, float]:
    """(EER, threshold): EER = (FAR + FRR) / 2 at the ``eer`` threshold, no interpolation."""
    threshold = choose_threshold(sw, "eer", convention)
    j = sw.index_at(threshold)
    far = sw.false_accepts[j] / sw.n_attack
    frr = sw.false_rejects[j] / sw.n_bonafide
    return float((far + frr) / 2.0), threshold


def eer_threshold(scores: Any, labels: Any) -> float:
    """The EER threshold of a score set (labels: True / 1 / 'bonafide' for bona fide)."""
    return eer_of_sweep(sweep(scores, labels))[1]


def eer(scores: Any, labels: Any) -> float:
    """The equal error rate of a score set: (FAR + FRR) / 2 at :func:`eer_threshold`."""
    return eer_of_sweep(sweep(scores, labels))[0]
