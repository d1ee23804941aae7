"""The ``bob`` threshold convention (bob.measure 6.x / bob.pad.base choices) against a loop written from its description."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from antispoof.metrics import choose_threshold, eer_of_sweep, error_rates, evaluate, sweep
from antispoof.metrics.scorefile import ScoreSet


def walk(bonafide, attacks, criterion):
    """bob's running walk, one score at a time: running float FAR/FRR, later candidate wins ties
    inside the walk, the last two candidates only when strictly better."""
    neg, pos = sorted(attacks), sorted(bonafide)
    cost = (lambda a, b: abs(a - b)) if criterion == "eer" else (lambda a, b: 0.5 * a + 0.5 * b)
    far, frr = 1.0, 0.0
    i = j = 0
    t = min(neg[0], pos[0])
    best, best_t = 1e8, 1e8
    while i < len(pos) and j < len(neg):
        c = cost(far, frr)
        if c <= best:
            best, best_t = c, t
        t = neg[j] if pos[i] >= neg[j] else pos[i]
        while j < len(neg) and neg[j] == t:
            j += 1
            far -= 1.0 / len(neg)
        while i < len(pos) and pos[i] == t:
            i += 1
            frr += 1.0 / len(pos)
        rest = [x for x in (neg[j] if j < len(neg) else None, pos[i] if i < len(pos) else None) if x is not None]
        if rest:
            t = (t + min(rest)) / 2
    c = cost(far, frr)
    if c < best:
        best, best_t = c, t
    if i < len(pos) or j < len(neg):
        if cost(0.0, 1.0) < best:
            best_t = float(np.nextafter(max(neg[-1], pos[-1]), np.inf))
    return best_t


def split(bonafide, attacks):
    return np.r_[bonafide, attacks].astype(float), np.r_[np.ones(len(bonafide), bool), np.zeros(len(attacks), bool)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 8), min_size=1, max_size=25),
    st.lists(st.integers(0, 8), min_size=1, max_size=25),
)
def test_property_vectorised_bob_walk_equals_the_loop(bonafide_int, attack_int):
    bonafide = [x / 8 for x in bonafide_int]
    attacks = [x / 8 for x in attack_int]
    sw = sweep(*split(bonafide, attacks))
    assert choose_threshold(sw, "eer", "bob") == walk(bonafide, attacks, "eer")
    assert choose_threshold(sw, "min-hter", "bob") == walk(bonafide, attacks, "min-hter")


def test_bob_walk_on_continuous_scores_with_unequal_classes():
    rng = np.random.default_rng(5)
    for n_bf, n_at in ((10, 107), (100, 300), (37, 1000)):
        bonafide, attacks = rng.normal(1, 1, n_bf), rng.normal(0, 1, n_at)
        sw = sweep(*split(bonafide, attacks))
        assert choose_threshold(sw, "eer", "bob") == walk(list(bonafide), list(attacks), "eer")
        assert choose_threshold(sw, "min-hter", "bob") == walk(list(bonafide), list(attacks), "min-hter")


def test_where_bob_and_the_exact_rule_part():
    # attacks [0.2], bona fide [0.1, 0.3]: |FAR - FRR| ties at 0.15 and 0.25. The exact rule
    # takes the higher (EER 0.25); bob's walk meets 0.25 only after the attacks ran out and
    # keeps 0.15 (EER (1 + 0.5) / 2 = 0.75).
    sw = sweep(*split([0.1, 0.3], [0.2]))
    assert eer_of_sweep(sw, "exact") == (0.25, 0.25)
    assert eer_of_sweep(sw, "bob") == eer_of_sweep(sw) == (0.75, (0.1 + 0.2) / 2)  # bob is the default


def test_bob_returns_the_top_score_when_both_classes_share_it():
    # Everything at 0.5: bob ends its walk on the shared top score and returns 0.5 itself.
    sw = sweep(*split([0.5, 0.5], [0.5]))
    assert choose_threshold(sw, "eer", "bob") == 0.5
    assert choose_threshold(sw, "eer", "exact") == np.nextafter(0.5, np.inf)
    assert eer_of_sweep(sw, "bob")[0] == eer_of_sweep(sw, "exact")[0] == 0.5


def test_bob_apcer_threshold_is_a_species_score():
    # print attacks 0.1 .. 1.0, replay 0.2, 0.4; bona fide high. bob.pad's bpcer@apcer=0.1 takes,
    # per species, the lowest attack score with at most 10% of that species at or above it:
    # print -> 1.0 (1 of 10), replay -> next float above 0.4 (1 of 2 is already 50%).
    print_scores = list(np.arange(1, 11) / 10)
    attacks = print_scores + [0.2, 0.4]
    pai = ["bonafide"] * 3 + ["print"] * 10 + ["replay"] * 2
    scores, labels = split([0.95, 1.2, 1.5], attacks)
    sw = sweep(scores, labels, pai)
    assert choose_threshold(sw, "bpcer@apcer=0.1", "bob-pad") == 1.0
    # The definition (default and exact) finds a lower BPCER: any threshold in (0.9, 0.95]
    # keeps APCER(print) = 1/10.
    exact = choose_threshold(sw, "bpcer@apcer=0.1")
    assert exact == choose_threshold(sw, "bpcer@apcer=0.1", "exact")
    assert error_rates(scores, labels, exact, pai).bpcer == 0.0
    assert error_rates(scores, labels, 1.0, pai).bpcer == 1 / 3


def test_bob_frr_threshold_counts_copies_of_a_score_as_rejected():
    # bona fide 0.3, 0.5, 0.5, 0.7 ... BPCER <= 0.25 allows one reject. Exact: threshold just
    # below 0.5 rejects only 0.3 (BPCER 1/4). bob's frr_threshold sees the second 0.5 at index 2
    # (2/4 > 0.25) and stops at 0.3.
    bonafide = [0.3, 0.5, 0.5, 0.7]
    scores, labels = split(bonafide, [0.1, 0.4, 0.6])
    sw = sweep(scores, labels)
    assert choose_threshold(sw, "apcer@bpcer=0.25", "bob-pad") == 0.3
    exact = choose_threshold(sw, "apcer@bpcer=0.25")
    assert exact == choose_threshold(sw, "apcer@bpcer=0.25", "exact")
    assert exact == (0.4 + 0.5) / 2 and error_rates(scores, labels, exact).bpcer == 0.25


def test_evaluate_with_the_bob_convention_says_so():
    rng = np.random.default_rng(0)
    s = ScoreSet.from_arrays(rng.normal(0, 1, 50), rng.random(50) < 0.5)
    report = evaluate(s, convention="bob")
    assert any("'bob' convention" in note for note in report.notes)
    with pytest.raises(ValueError, match="unknown threshold convention"):
        evaluate(s, convention="bobb")
