"""Error rates at a threshold, exact AUC, TPR at FPR and ROC points: hand values, sklearn, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from antispoof.metrics import (
    apcer_max,
    apcer_per_pai,
    auc,
    auc_of_sweep,
    compute_report,
    error_rates,
    far_frr,
    roc_curve,
    sweep,
    tpr_at_fpr,
)

SCORES = np.array([0.9, 0.7, 0.5, 0.3, 0.5, 0.4, 0.8, 0.1])
LABELS = np.array(["bonafide", "bonafide", "bonafide", "bonafide", "attack", "attack", "attack", "attack"])
PAI = np.array(["", "", "", "", "print", "print", "replay", "replay"])


def test_decision_is_score_at_least_threshold():
    # At threshold 0.5: the attack scoring exactly 0.5 is a false accept; the bona fide scoring
    # exactly 0.5 is accepted. Bona fide 0.3 is rejected.
    far, frr = far_frr(SCORES, LABELS, 0.5)
    assert far == 2 / 4  # 0.5 and 0.8
    assert frr == 1 / 4  # 0.3


def test_rates_by_hand():
    r = error_rates(SCORES, LABELS, 0.5, PAI)
    assert r.apcer_per_pai == {"print": 0.5, "replay": 0.5}
    assert r.apcer == 0.5 and r.apcer_pooled == 0.5 and r.bpcer == 0.25
    assert r.acer == (0.5 + 0.25) / 2 and r.hter == (0.5 + 0.25) / 2
    r = error_rates(SCORES, LABELS, 0.6, PAI)
    # print: 0.5, 0.4 rejected -> 0; replay: 0.8 accepted -> 1/2; pooled 1/4; bona fide 0.5, 0.3 rejected.
    assert r.apcer_per_pai == {"print": 0.0, "replay": 0.5}
    assert r.apcer == 0.5 and r.apcer_pooled == 0.25 and r.bpcer == 0.5
    assert r.acer == (0.5 + 0.5) / 2 and r.hter == (0.25 + 0.5) / 2
    assert r.n_attack_per_pai == {"print": 2, "replay": 2}


def test_apcer_per_pai_and_max():
    assert apcer_per_pai(SCORES, LABELS, PAI, 0.45) == {"print": 0.5, "replay": 0.5}
    assert apcer_max(SCORES, LABELS, PAI, 0.6) == 0.5


def test_apcer_max_with_one_species_is_a_clear_error():
    with pytest.raises(ValueError, match="at least two species"):
        apcer_max(SCORES, LABELS, None, 0.5)
    with pytest.raises(ValueError, match="only the species 'print'"):
        apcer_max(SCORES, LABELS, ["", "", "", "", "print", "print", "print", "print"], 0.5)


@pytest.mark.parametrize(
    "scores,labels,match",
    [
        ([0.1, 0.2], ["attack", "attack"], "no bona fide"),
        ([0.1, 0.2], ["bonafide", "bonafide"], "no attack"),
        ([0.1, float("nan")], ["bonafide", "attack"], "NaN"),
        ([0.1, float("inf")], ["bonafide", "attack"], "infinite"),
        ([0.1, 0.2], ["bonafide", "spoof"], "neither"),
    ],
)
def test_clear_errors(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        error_rates(scores, labels, 0.5)
    with pytest.raises(ValueError, match=match):
        sweep(scores, labels)


def test_nan_error_says_how_to_mark_a_failure_to_acquire():
    with pytest.raises(ValueError, match="failure to acquire"):
        compute_report([0.1, float("nan"), 0.9], [0, 1, 1])


# --- AUC -------------------------------------------------------------------------------------


def test_auc_hand_example_with_a_tie():
    # bona fide 0.5, 0.9; attacks 0.5, 0.1: pairs (0.5>0.1) 1, (0.5=0.5) 1/2, (0.9>0.5) 1, (0.9>0.1) 1.
    assert auc([0.5, 0.9, 0.5, 0.1], [1, 1, 0, 0]) == 3.5 / 4


def test_auc_matches_sklearn_with_many_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 300))
        labels = rng.random(n) < 0.5
        labels[:2] = [True, False]
        scores = rng.integers(0, 10, n) / 9.0 + labels * rng.integers(0, 2, n) / 9.0
        assert abs(auc(scores, labels) - roc_auc_score(labels, scores)) < 1e-12


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-5, 5), min_size=1, max_size=20),
    st.lists(st.integers(-5, 5), min_size=1, max_size=20),
)
def test_property_auc_is_the_pairwise_mann_whitney_statistic(bonafide, attacks):
    pairs = sum((b > a) + 0.5 * (b == a) for b in bonafide for a in attacks)
    scores = np.r_[bonafide, attacks].astype(float)
    labels = np.r_[np.ones(len(bonafide), bool), np.zeros(len(attacks), bool)]
    assert auc(scores, labels) == pairs / (len(bonafide) * len(attacks))
    # Any strictly increasing transform leaves it unchanged.
    assert auc(np.exp(scores / 3), labels) == auc(scores, labels)


# --- ROC / TPR at FPR --------------------------------------------------------------------------


def test_roc_points_match_sklearn():
    rng = np.random.default_rng(1)
    labels = rng.random(400) < 0.3
    scores = np.round(rng.normal(labels * 1.5, 1.0), 1)
    fpr, tpr, _ = roc_curve(sweep(scores, labels))
    sk_fpr, sk_tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    ours = sorted(set(zip(fpr.tolist(), tpr.tolist())))
    theirs = sorted(set(zip(sk_fpr.tolist(), sk_tpr.tolist())))
    assert ours == theirs


def test_tpr_at_fpr_matches_sklearn_roc():
    rng = np.random.default_rng(2)
    labels = rng.random(5000) < 0.5
    scores = rng.normal(labels * 2.0, 1.0)
    sw = sweep(scores, labels)
    sk_fpr, sk_tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    for target in (1e-2, 1e-3, 1e-4):
        assert tpr_at_fpr(sw, target) == sk_tpr[sk_fpr <= target].max()


def test_tpr_at_fpr_by_hand():
    # attacks 0.1 .. 1.0 (10); bona fide 0.55, 0.95, 0.99, 1.5. FPR <= 0.1 allows one attack (1.0)
    # accepted: the candidate 0.925 (between attack 0.9 and bona fide 0.95) accepts bona fide
    # 0.95, 0.99 and 1.5 -> TPR 3/4.
    attacks = np.arange(1, 11) / 10
    bonafide = np.array([0.55, 0.95, 0.99, 1.5])
    sw = sweep(np.r_[bonafide, attacks], np.r_[np.ones(4, bool), np.zeros(10, bool)])
    assert tpr_at_fpr(sw, 0.1) == 3 / 4
    assert tpr_at_fpr(sw, 0.0) == 1 / 4  # only 1.5 is above every attack


def test_ten_bonafide_against_ten_thousand_attacks():
    rng = np.random.default_rng(4)
    attacks = rng.normal(0, 1, 10_000)
    bonafide = rng.normal(3, 1, 10)
    scores = np.r_[bonafide, attacks]
    labels = np.r_[np.ones(10, bool), np.zeros(10_000, bool)]
    report = compute_report(scores, labels, threshold="oracle")
    assert report.n_bonafide == 10 and report.n_attack == 10_000
    assert abs(report.auc - roc_auc_score(labels, scores)) < 1e-12
    sk_fpr, sk_tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    for key, target in (("1e-2", 1e-2), ("1e-3", 1e-3), ("1e-4", 1e-4)):
        assert report.tpr_at_fpr[key] == sk_tpr[sk_fpr <= target].max()
    # 10,000 attacks make FPR 1e-4 (one false accept) reachable: no "not meaningful" note.
    assert not any("TPR at FPR" in note for note in report.notes)
    # BPCER moves in steps of 1/10: every rate is a multiple of it.
    assert (report.bpcer * 10) == round(report.bpcer * 10)
    small = compute_report(scores[:9_009], labels[:9_009], threshold="oracle")  # 10 bona fide, 8,999 attacks
    assert any(note.startswith("TPR at FPR 1e-4") for note in small.notes)
    assert not any(note.startswith("TPR at FPR 1e-3") for note in small.notes)


def test_auc_of_sweep_equals_function():
    sw = sweep(SCORES, LABELS)
    assert auc_of_sweep(sw) == auc(SCORES, LABELS)


def test_rates_read_from_the_sweep_equal_direct_counting():
    rng = np.random.default_rng(6)
    scores = rng.integers(0, 12, 300) / 11
    labels = rng.random(300) < 0.4
    pai = np.where(labels, "bonafide", rng.choice(["print", "replay", "mask"], 300))
    sw = sweep(scores, labels, pai)
    # Thresholds on scores (ties), between scores, below and above all of them.
    for t in np.r_[np.unique(scores), np.unique(scores) + 1 / 22, -1.0, 2.0]:
        assert sw.rates_at(t) == error_rates(scores, labels, t, pai)
