"""Per-video aggregation, subject bootstrap, folds: against direct numpy computations."""

from __future__ import annotations

import numpy as np
import pytest

from antispoof.metrics import (
    ScoreSet,
    aggregate_videos,
    auc,
    bootstrap_ci,
    compute_report,
    eer,
    evaluate,
    evaluate_folds,
    parse_aggregation,
    summarize_folds,
)
from antispoof.metrics.bootstrap import _weighted_curve_metrics, resampling_unit


def frames(seed=0, n_videos=30, per_video=5):
    rng = np.random.default_rng(seed)
    video = np.repeat([f"v{i:02d}" for i in range(n_videos)], per_video)
    live = np.repeat(rng.random(n_videos) < 0.5, per_video)
    live[:per_video] = True
    live[per_video : 2 * per_video] = False
    scores = np.round(rng.normal(live * 1.0, 1.0), 2)
    pai = np.where(live, "bonafide", np.repeat(np.where(rng.random(n_videos) < 0.5, "print", "replay"), per_video))
    subject = np.repeat([f"s{i % 7}" for i in range(n_videos)], per_video)
    return ScoreSet.from_arrays(scores, live, pai=pai, video=video, subject=subject)


def per_video(s, fn):
    out = {}
    for v in np.unique(s.video):
        sel = (s.video == v) & ~s.failed_to_acquire
        if sel.any():
            out[v] = fn(s.scores[sel])
    return out


def trimmed(x, p):
    x = np.sort(x)
    k = int(np.floor(p * len(x)))
    return x[k : len(x) - k].mean()


@pytest.mark.parametrize(
    "method,fn",
    [
        ("mean", np.mean),
        ("median", np.median),
        ("min", np.min),
        ("trimmed-mean=0.2", lambda x: trimmed(x, 0.2)),
        ("trimmed-mean", lambda x: trimmed(x, 0.1)),
        ("vote=0.3", lambda x: np.mean(x >= 0.3)),
    ],
)
def test_aggregation_matches_numpy_per_video(method, fn):
    s = frames(per_video=7)
    out, info = aggregate_videos(s, method)
    expected = per_video(s, fn)
    assert out.video.tolist() == sorted(expected)
    np.testing.assert_allclose(out.scores, [expected[v] for v in out.video], rtol=0, atol=1e-12)
    assert info.method == str(parse_aggregation(method)) and info.n_videos == 30 and info.n_frames == 210
    assert info.frames_per_video_min == info.frames_per_video_max == 7


def test_identical_videos_get_identical_scores():
    # Ties between videos must survive aggregation exactly (they decide the EER tie rule).
    s = ScoreSet.from_arrays([0.1, 0.7, 0.3] * 2 + [0.2] * 3, [1] * 6 + [0] * 3, video=["a"] * 3 + ["b"] * 3 + ["c"] * 3)
    out, _ = aggregate_videos(s, "mean")
    assert out.scores[0] == out.scores[1]


def test_failed_frames_and_failed_videos():
    s = ScoreSet.from_arrays(
        [0.9, np.nan, 0.7, np.nan, np.nan, 0.1],
        [1, 1, 1, 0, 0, 0],
        video=["a", "a", "a", "b", "b", "c"],
        failed_to_acquire=[False, True, False, True, True, False],
        fta_reason=["", "no_face", "", "no_face", "unreadable", ""],
    )
    out, info = aggregate_videos(s, "mean")
    assert out.scores[0] == 0.8 and np.isnan(out.scores[1]) and out.scores[2] == 0.1
    assert out.failed_to_acquire.tolist() == [False, True, False]
    assert out.fta_reason[1] == "no_face,unreadable"
    assert info.n_failed_frames == 3 and info.n_failed_videos == 1 and info.n_frames == 3
    report = evaluate(s, threshold=0.5)
    assert report.n_failed_to_acquire == 1 and report.n_bonafide == 1 and report.n_attack == 1
    assert report.aggregation["n_failed_frames"] == 3
    assert any("3 frame(s) failed to acquire" in n for n in report.notes)


def test_a_video_with_two_labels_is_an_error():
    s = ScoreSet.from_arrays([0.1, 0.2], [1, 0], video=["a", "a"])
    with pytest.raises(ValueError, match="video 'a' has both bona fide and attack"):
        aggregate_videos(s)
    s = ScoreSet.from_arrays([0.1, 0.2], [0, 0], pai=["print", "mask"], video=["a", "a"])
    with pytest.raises(ValueError, match="disagree on pai"):
        aggregate_videos(s)


def test_none_and_no_video_column_leave_rows_alone():
    s = frames()
    assert aggregate_videos(s, "none") == (s, None)
    plain = ScoreSet.from_arrays([0.1, 0.9], [0, 1])
    assert aggregate_videos(plain, "median") == (plain, None)


@pytest.mark.parametrize("bad", ["avg", "trimmed-mean=0.5", "vote=x", "mean=3"])
def test_bad_aggregation_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="aggregation|share"):
        parse_aggregation(bad)


# --- bootstrap -----------------------------------------------------------------------------------


def test_bootstrap_is_seeded_and_resamples_subjects():
    s = frames(n_videos=40)
    out, _ = aggregate_videos(s)
    a = bootstrap_ci(out, 0.5, level=0.9, n_resamples=200, seed=3)
    b = bootstrap_ci(out, 0.5, level=0.9, n_resamples=200, seed=3)
    c = bootstrap_ci(out, 0.5, level=0.9, n_resamples=200, seed=4)
    assert a == b and a != c
    assert a["unit"] == "subject" and a["n_units"] == 7 and a["seed"] == 3 and a["level"] == 0.9
    for key in ("apcer", "apcer_pooled", "bpcer", "acer", "hter", "eer", "auc"):
        lo, hi = a[key]
        assert 0.0 <= lo <= hi <= 1.0


def test_unit_falls_back_to_video_then_sample():
    s = ScoreSet.from_arrays([0.1, 0.9], [0, 1], video=["a", "b"])
    assert resampling_unit(s)[0] == "video"
    assert resampling_unit(ScoreSet.from_arrays([0.1, 0.9], [0, 1]))[0] == "sample"


def test_weighted_resample_equals_the_materialised_resample():
    # A resample that draws units with multiplicity w is the set with each unit repeated w times.
    rng = np.random.default_rng(7)
    n = 60
    scores = np.round(rng.normal(0, 1, n), 1)
    labels = rng.random(n) < 0.5
    labels[:2] = [True, False]
    unit = rng.integers(0, 12, n)
    order = np.argsort(scores)
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    weights = rng.integers(0, 3, (5, 12)).astype(float)
    weights[:, unit[0]] = 1  # keep both classes in every resample
    weights[:, unit[1]] = 1
    got_eer, got_auc = _weighted_curve_metrics(labels[order].astype(float), starts, unit[order], weights)
    for r in range(5):
        reps = weights[r, unit].astype(int)
        s_r, l_r = np.repeat(scores, reps), np.repeat(labels, reps)
        assert got_eer[r] == eer(s_r, l_r)
        assert abs(got_auc[r] - auc(s_r, l_r)) < 1e-12


def test_bootstrap_metrics_at_fixed_threshold_match_a_materialised_resample():
    s = frames(n_videos=24)
    out, _ = aggregate_videos(s)
    ci = bootstrap_ci(out, 0.3, level=0.5, n_resamples=1, seed=11)
    # Rebuild the single resample with the same generator and compare every interval end.
    _, unit = resampling_unit(out)
    draws = np.random.default_rng(11).integers(0, unit.max() + 1, size=(1, unit.max() + 1))[0]
    rows = np.concatenate([np.flatnonzero(unit == u) for u in draws])
    direct = compute_report(out.scores[rows], out.is_bonafide[rows], test_pai=out.pai[rows], threshold=0.3)
    for key in ("apcer", "apcer_pooled", "bpcer", "acer", "hter", "eer", "auc"):
        assert ci[key][0] == pytest.approx(getattr(direct, key), abs=1e-12)


def test_report_with_ci_states_how_it_was_made():
    s = frames(n_videos=40)
    report = evaluate(s, threshold="oracle", ci=0.95, n_resamples=100, seed=1)
    d = report.to_dict()
    assert d["ci"]["method"] == "percentile bootstrap" and d["ci"]["n_resamples"] == 100 and d["ci"]["seed"] == 1
    assert "95% CI" in report.to_markdown()


# --- folds -------------------------------------------------------------------------------------


def test_folds_threshold_per_fold_then_mean_and_sample_std():
    folds = [(frames(seed=2 * k), frames(seed=2 * k + 1)) for k in range(4)]
    summary = evaluate_folds(folds, threshold="eer")
    for k, (dev, test) in enumerate(folds):
        alone = evaluate(test, dev, threshold="eer")
        assert summary.folds[k].to_dict() == alone.to_dict()
    acer = np.array([evaluate(t, d).acer for d, t in folds])
    assert summary.mean["acer"] == pytest.approx(acer.mean(), abs=1e-15)
    assert summary.std["acer"] == pytest.approx(acer.std(ddof=1), abs=1e-15)
    d = summary.to_dict()
    assert d["n_folds"] == 4 and d["std_ddof"] == 1 and set(d["mean"]["tpr_at_fpr"]) == {"1e-2", "1e-3", "1e-4"}
    assert "| acer |" in summary.to_markdown()


def test_folds_must_share_one_rule():
    a = evaluate(frames(1), frames(2), threshold="eer")
    b = evaluate(frames(1), frames(2), threshold="min-hter")
    with pytest.raises(ValueError, match="different threshold rules"):
        summarize_folds([a, b])
