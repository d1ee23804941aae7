"""Candidate thresholds, the EER rule and the other threshold rules, against hand values and a naive reference."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from antispoof.metrics import (
    ThresholdRule,
    choose_threshold,
    eer,
    eer_of_sweep,
    eer_threshold,
    error_rates,
    parse_threshold_rule,
    sweep,
)
from antispoof.metrics.sweep import candidate_thresholds, midpoints


# --- an independent, slow reference written from the convention text -------------------------


def naive_candidates(scores):
    distinct = sorted(set(float(s) for s in scores))
    out = [distinct[0]]
    out += [(a + b) / 2 for a, b in zip(distinct, distinct[1:])]
    out.append(float(np.nextafter(distinct[-1], np.inf)))
    return out


def naive_rates(bonafide, attacks, t):
    fa = sum(1 for s in attacks if s >= t)
    fr = sum(1 for s in bonafide if s < t)
    return fa, fr


def naive_choice(bonafide, attacks, cost):
    """Candidate minimising ``cost(far, frr)`` (exact fractions); ties to the higher threshold."""
    best = None
    for t in naive_candidates(list(bonafide) + list(attacks)):
        fa, fr = naive_rates(bonafide, attacks, t)
        c = cost(Fraction(fa, len(attacks)), Fraction(fr, len(bonafide)))
        if best is None or c <= best[0]:
            best = (c, t, fa, fr)
    return best


def naive_eer(bonafide, attacks):
    _, t, fa, fr = naive_choice(bonafide, attacks, lambda far, frr: abs(far - frr))
    return (fa / len(attacks) + fr / len(bonafide)) / 2, t


def split(bonafide, attacks):
    scores = np.r_[np.asarray(bonafide, float), np.asarray(attacks, float)]
    labels = np.r_[np.ones(len(bonafide), bool), np.zeros(len(attacks), bool)]
    return scores, labels


# --- candidates ---------------------------------------------------------------------------------


def test_candidates_are_lowest_midpoints_and_next_float_above_highest():
    got = candidate_thresholds(np.array([0.1, 0.4, 0.5]))
    assert got[0] == 0.1
    assert got[1] == (0.1 + 0.4) / 2 and got[2] == (0.4 + 0.5) / 2
    assert got[3] == np.nextafter(0.5, np.inf) and got[3] > 0.5
    assert np.nextafter(got[3], -np.inf) == 0.5  # nothing between the highest score and the last candidate


def test_midpoint_of_adjacent_floats_stays_above_the_lower_score():
    a = np.array([1.0])
    b = np.nextafter(a, np.inf)
    mid = midpoints(a, b)
    assert mid[0] > a[0] and mid[0] <= b[0]


def test_midpoint_does_not_overflow():
    big = np.finfo(np.float64).max
    mid = midpoints(np.array([big / 2 * 1.5]), np.array([big]))
    assert np.isfinite(mid[0]) and big / 2 * 1.5 < mid[0] <= big


def test_sweep_counts_match_direct_counting_at_every_candidate():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 7, 60) / 6
    labels = rng.random(60) < 0.4
    sw = sweep(scores, labels)
    for t, fa, fr in zip(sw.thresholds, sw.false_accepts, sw.false_rejects):
        assert fa == (scores[~labels] >= t).sum()
        assert fr == (scores[labels] < t).sum()


# --- EER -------------------------------------------------------------------------------------


def test_eer_hand_example_separable():
    # bona fide 0.6, 0.8; attacks 0.2, 0.4: the midpoint 0.5 separates them.
    assert eer_threshold([0.6, 0.8, 0.2, 0.4], [1, 1, 0, 0]) == 0.5
    assert eer([0.6, 0.8, 0.2, 0.4], [1, 1, 0, 0]) == 0.0


def test_eer_tie_goes_to_the_higher_threshold():
    # attacks [0.2], bona fide [0.1, 0.3]. Candidates: 0.1 (FAR 1, FRR 0), 0.15 (1, 1/2),
    # 0.25 (0, 1/2), above 0.3 (0, 1). |FAR - FRR| ties at 0.15 and 0.25 (both 1/2): the
    # higher, 0.25, wins, so EER = (0 + 1/2) / 2 = 0.25. (bob.measure 6.1 keeps the lower one
    # here, 0.15 with EER 0.75, because it compares its last candidate strictly.)
    scores, labels = split([0.1, 0.3], [0.2])
    value, t = eer_of_sweep(sweep(scores, labels), "exact")
    assert t == 0.25 and value == 0.25


def test_eer_tie_with_unequal_class_sizes_is_exact_not_float_noise():
    # 10 bona fide, 107 attacks: |54/107 - 5/10| == |53/107 - 5/10| exactly (both 5/1070);
    # float subtraction would see them differ in the last bit. Ties go to the higher threshold.
    rng = np.random.default_rng(0)
    attacks = np.sort(rng.normal(0, 1, 107))
    bonafide = np.sort(rng.normal(1, 1, 10))
    value, t = eer_of_sweep(sweep(*split(bonafide, attacks)), "exact")
    ref_value, ref_t = naive_eer(bonafide, attacks)
    assert t == ref_t and value == ref_value


def test_eer_all_scores_equal():
    # One distinct value: candidates are the value (FAR 1, FRR 0) and the next float (FAR 0, FRR 1).
    scores, labels = split([0.5, 0.5], [0.5])
    value, t = eer_of_sweep(sweep(scores, labels), "exact")
    assert t == np.nextafter(0.5, np.inf) and value == 0.5


def test_eer_three_samples():
    # bona fide 0.3, 0.9; attack 0.5: candidates 0.3 (FAR 1, FRR 0), 0.4 (1, 1/2), 0.7 (0, 1/2),
    # above 0.9 (0, 1). |FAR - FRR| = 1, 1/2, 1/2, 1: the tie goes to 0.7; EER = (0 + 1/2) / 2.
    scores, labels = split([0.3, 0.9], [0.5])
    value, t = eer_of_sweep(sweep(scores, labels), "exact")
    assert t == (0.5 + 0.9) / 2
    assert value == 0.25


def test_eer_discrete_scores_match_reference():
    rng = np.random.default_rng(1)
    for _ in range(50):
        bonafide = rng.integers(0, 5, rng.integers(1, 12)) / 4
        attacks = rng.integers(0, 4, rng.integers(1, 12)) / 4
        value, t = eer_of_sweep(sweep(*split(bonafide, attacks)), "exact")
        ref_value, ref_t = naive_eer(bonafide, attacks)
        assert (value, t) == (ref_value, ref_t)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-6, 6), min_size=1, max_size=15),
    st.lists(st.integers(-6, 6), min_size=1, max_size=15),
)
def test_property_rules_equal_the_naive_reference(bonafide_int, attack_int):
    bonafide = [x / 4 for x in bonafide_int]
    attacks = [x / 4 for x in attack_int]
    sw = sweep(*split(bonafide, attacks))
    assert eer_of_sweep(sw, "exact") == naive_eer(bonafide, attacks)
    _, t, _, _ = naive_choice(bonafide, attacks, lambda far, frr: far + frr)
    assert choose_threshold(sw, "min-hter", "exact") == t
    value = eer_of_sweep(sw, "exact")[0]
    # Shifting all scores by a constant moves the threshold but not the EER.
    shifted = sweep(*split([b + 10 for b in bonafide], [a + 10 for a in attacks]))
    assert eer_of_sweep(shifted, "exact")[0] == value


# --- other rules -----------------------------------------------------------------------------


def test_min_hter_hand_example():
    # bona fide 0.2, 0.8, 0.9; attacks 0.1, 0.3: candidate 0.55 gives FAR 0, FRR 1/3 (sum 1/3),
    # the best; 0.25 gives FAR 1/2, FRR 1/3.
    scores, labels = split([0.2, 0.8, 0.9], [0.1, 0.3])
    assert choose_threshold(sweep(scores, labels), "min-hter") == (0.3 + 0.8) / 2


def test_bpcer_at_apcer_uses_the_max_over_species():
    # bona fide 0.5 .. 0.9; print attacks 0.1, 0.2; replay attacks 0.3, 0.6.
    bonafide = [0.5, 0.6, 0.7, 0.8, 0.9]
    attacks = [0.1, 0.2, 0.3, 0.6]
    pai = ["bonafide"] * 5 + ["print", "print", "replay", "replay"]
    scores, labels = split(bonafide, attacks)
    sw = sweep(scores, labels, pai)
    # APCER <= 0.5: at 0.4 print 0/2, replay 1/2 and no bona fide rejected: the lowest BPCER.
    t = choose_threshold(sw, "bpcer@apcer=0.5")
    assert t == (0.3 + 0.5) / 2
    rates = error_rates(scores, labels, t, pai)
    assert rates.apcer_per_pai == {"print": 0.0, "replay": 0.5} and rates.bpcer == 0.0
    # APCER <= 0.25: the pooled APCER at 0.4 is 1/4, but the replay species is at 1/2, so the
    # rule must reject the replay at 0.6: the lowest BPCER above it is 2/5, first at 0.65.
    assert rates.apcer_pooled == 0.25
    t = choose_threshold(sw, "bpcer@apcer=0.25")
    assert t == (0.6 + 0.7) / 2
    rates = error_rates(scores, labels, t, pai)
    assert rates.apcer == 0.0 and rates.bpcer == 2 / 5
    # Any APCER allowed: BPCER 0 at 0.1, 0.15, 0.25 and 0.4; the tie goes to the highest.
    assert choose_threshold(sw, "bpcer@apcer=1") == (0.3 + 0.5) / 2


def test_apcer_at_bpcer_picks_the_highest_threshold_within_the_bpcer_budget():
    bonafide = [0.4, 0.5, 0.6, 0.7, 0.8]
    attacks = [0.1, 0.45, 0.55, 0.9]
    scores, labels = split(bonafide, attacks)
    sw = sweep(scores, labels)
    # One bona fide of five may be rejected: candidates 0.425 and 0.475 reject only 0.4; the
    # higher one has the lower APCER (0.55 and 0.9 accepted: 2/4).
    t = choose_threshold(sw, "apcer@bpcer=0.2")
    assert t == (0.45 + 0.5) / 2
    rates = error_rates(scores, labels, t)
    assert rates.bpcer == 0.2 and rates.apcer == 0.5
    assert choose_threshold(sw, "apcer@bpcer=0") == (0.1 + 0.4) / 2


def test_fixed_and_parsed_rules():
    assert parse_threshold_rule("0.42") == ThresholdRule("fixed", 0.42)
    assert parse_threshold_rule(0.5) == ThresholdRule("fixed", 0.5)
    assert parse_threshold_rule("BPCER@APCER=0.05") == ThresholdRule("bpcer@apcer", 0.05)
    assert str(parse_threshold_rule("apcer@bpcer=0.01")) == "apcer@bpcer=0.01"
    assert parse_threshold_rule("min_hter").kind == "min-hter"
    sw = sweep([0.1, 0.9], [0, 1])
    assert choose_threshold(sw, 0.3) == 0.3


@pytest.mark.parametrize("bad", ["eerr", "bpcer@apcer=x", "bpcer@apcer=1.5", "nan", "inf"])
def test_bad_rules_are_clear_errors(bad):
    with pytest.raises(ValueError, match="threshold"):
        parse_threshold_rule(bad)


# --- the one calibration function: a rule on dev scores ------------------------------------------


def _tiny_dev():
    from antispoof.metrics import ScoreSet

    scores = [0.9, 0.8, 0.6, 0.7, 0.3, 0.2]  # three bona fide, then three replays
    return ScoreSet.from_arrays(scores, [1, 1, 1, 0, 0, 0], pai=["bonafide"] * 3 + ["replay"] * 3,
                                video=[f"v{i}" for i in range(6)])


def test_dev_threshold_by_hand():
    from antispoof.metrics.calibration import dev_threshold

    # candidates 0.2, 0.25, 0.45, 0.65, 0.75, 0.85, just above 0.9; at 0.65 one replay (0.7) is
    # accepted and one bona fide (0.6) rejected: FAR = FRR = 1/3, the only equal pair.
    report, problem = dev_threshold(_tiny_dev(), "eer", "none")
    assert report.threshold == (0.6 + 0.7) / 2 and report.apcer == report.bpcer == 1 / 3 and problem == ""
    # APCER <= 0.5 allows one of three replays accepted: thresholds above 0.3; BPCER 0 only at 0.45
    report, _ = dev_threshold(_tiny_dev(), "bpcer@apcer=0.5", "none")
    assert report.threshold == (0.3 + 0.6) / 2 and report.bpcer == 0 and report.apcer == 1 / 3


def test_dev_threshold_refuses_coarse_targets_oracle_and_test():
    from antispoof.metrics.calibration import calibration_rule, dev_threshold

    # an APCER of 0.1 needs ten replays; three resolve 0.5 at best
    with pytest.raises(ValueError, match=r"needs at least 10 attack.*--target bpcer@apcer=0\.5 .*--allow-coarse"):
        dev_threshold(_tiny_dev(), "bpcer@apcer=0.1", "none")
    report, problem = dev_threshold(_tiny_dev(), "bpcer@apcer=0.1", "none", allow_coarse=True)
    assert "replay has 3" in problem and report.apcer == 0
    with pytest.raises(ValueError, match="'oracle' rule reads the test set"):
        dev_threshold(_tiny_dev(), "oracle", "none")
    with pytest.raises(ValueError, match="never on test"):
        calibration_rule("eer", "test")
