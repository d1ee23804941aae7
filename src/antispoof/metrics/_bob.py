"""The threshold choices of bob.measure 6.x / bob.pad.base, for side-by-side agreement with them.

Used by ``convention="bob"`` (eer, min-hter) and ``"bob-pad"`` (all rules). Rates at a given threshold, APCER per species, ACER,
HTER and AUC do not change; only which threshold a rule picks does. Where the exact
convention and bob differ (checked against bob.measure 6.1.1):

- ``eer`` / ``min-hter`` (bob.measure ``eer_threshold`` / ``min_hter_threshold``): bob
  walks the same candidates but tracks FAR and FRR as running float sums (``far -= 1/N``),
  so a tie in exact arithmetic is decided by rounding noise; inside its walk a later
  (higher) candidate wins a tie, the candidate where one class runs out and the one above
  the highest score win only when strictly better, and candidates after one class has run
  out are not visited. When the highest score is shared by both classes it returns that
  score itself. This module replays that walk vectorised (``numpy.cumsum`` accumulates in
  the same order as bob's loop, so the float values are bit-identical).
- ``bpcer@apcer=X`` (bob.pad ``apcer_threshold``: the max over species of
  ``far_threshold``): per species, the lowest attack score ``v`` with
  ``#(attacks >= v) / N <= X``, or the next float above the highest attack when none is;
  a score value, not a midpoint, so its BPCER can exceed the exact rule's.
- ``apcer@bpcer=X`` (bob.measure ``frr_threshold`` on the bona fide scores): the highest
  bona fide score ``v`` with ``(index of its last copy) / N <= X`` (it counts the copies
  of ``v`` as rejected), or the next float above the lowest bona fide score when none is.
"""

from __future__ import annotations

import numpy as np

from antispoof.metrics.sweep import Sweep

__all__ = ["bob_minimizing_threshold", "bob_apcer_threshold", "bob_frr_threshold"]

_EPS = np.finfo(np.float64).eps


def bob_minimizing_threshold(sw: Sweep, criterion: str) -> float:
    """bob.measure's ``eer_threshold`` (``criterion="eer"``) or ``min_hter_threshold`` (``"min-hter"``)."""
    na, nb = sw.n_attack, sw.n_bonafide
    far_run = np.cumsum(np.r_[1.0, np.full(na, -(1.0 / na))])
    frr_run = np.cumsum(np.r_[0.0, np.full(nb, 1.0 / nb)])
    far = far_run[na - sw.false_accepts]
    frr = frr_run[sw.false_rejects]
    if criterion == "eer":
        predicate = np.abs(far - frr)
        above_all = abs(0.0 - 1.0)
    elif criterion == "min-hter":
        predicate = (0.5 * far) + ((1.0 - 0.5) * frr)
        above_all = (0.5 * 0.0) + ((1.0 - 0.5) * 1.0)
    else:
        raise ValueError(f"unknown criterion {criterion!r}; use 'eer' or 'min-hter'")
    # Candidates visited inside bob's loop: both classes still have scores above them.
    n_loop = int(((sw.false_accepts > 0) & (sw.false_rejects < nb)).sum())
    loop = predicate[:n_loop]
    j = n_loop - 1 - int(np.argmin(loop[::-1]))
    best, threshold = float(loop[j]), float(sw.thresholds[j])
    both_done = sw.false_accepts[n_loop] == 0 and sw.false_rejects[n_loop] == nb
    if predicate[n_loop] < best:
        best = float(predicate[n_loop])
        threshold = float(sw.distinct[-1]) if both_done else float(sw.thresholds[n_loop])
    if not both_done and above_all < best:
        threshold = float(sw.thresholds[-1])
    return threshold


def _far_threshold(values: np.ndarray, at_or_above: np.ndarray, n: int, target: float) -> float:
    """bob.measure ``far_threshold`` from one species' distinct scores (ascending) and counts ``>=`` each."""
    if target >= 1.0 - _EPS:
        return float(np.nextafter(values[0], -np.inf))
    ok = at_or_above / n <= target  # suffix of the ascending values
    if not ok.any():
        return float(np.nextafter(values[-1], np.inf))
    return float(values[int(np.argmax(ok))])


def bob_apcer_threshold(sw: Sweep, target: float) -> float:
    """bob.pad's threshold for ``bpcerXX``: the max over species of ``far_threshold(species, target)``."""
    best = -np.inf
    for k in range(len(sw.species)):
        counts = sw.species_false_accepts[k]
        present = counts[:-1] > counts[1:]  # this species has scores at distinct[j]
        best = max(best, _far_threshold(sw.distinct[present], counts[:-1][present], int(sw.species_counts[k]), target))
    return float(best)


def bob_frr_threshold(sw: Sweep, target: float) -> float:
    """bob.measure ``frr_threshold`` on the bona fide scores (bob.pad's ``apcerXX`` rule)."""
    rejected_through = sw.false_rejects[1:]  # bona fide <= distinct[j]
    present = rejected_through > sw.false_rejects[:-1]
    values = sw.distinct[present]
    if target >= 1.0 - _EPS:
        return float(np.nextafter(values[-1], np.inf))
    ok = (rejected_through[present] - 1) / sw.n_bonafide <= target  # prefix of the ascending values
    if not ok[0]:
        return float(np.nextafter(values[0], np.inf))
    return float(values[int(np.flatnonzero(ok)[-1])])
