"""The score-file format: round trip, failure to acquire, and errors naming file, line and column."""

from __future__ import annotations

import numpy as np
import pytest

from antispoof.metrics import ScoreSet, evaluate, read_scores, write_scores


def write(tmp_path, text, name="scores.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_only_score_and_label_are_required(tmp_path):
    s = read_scores(write(tmp_path, "score,label\n0.9,bonafide\n0.2,attack\n"))
    assert s.scores.tolist() == [0.9, 0.2] and s.is_bonafide.tolist() == [True, False]
    assert s.pai is None and s.video is None and s.subject is None and s.frame is None


def test_columns_in_any_order_and_extra_columns_ignored(tmp_path):
    s = read_scores(write(tmp_path, "path,label,score,pai\na.jpg,attack,0.3,print\nb.jpg,bonafide,0.8,\n"))
    assert s.scores.tolist() == [0.3, 0.8] and s.pai.tolist() == ["print", "bonafide"]


def test_round_trip(tmp_path):
    original = ScoreSet.from_arrays(
        [0.25, np.nan, 0.75, 1e-17],
        ["attack", "bonafide", "bonafide", "attack"],
        pai=["replay", "bonafide", "bonafide", "print"],
        video=["v1", "v2", "v2", "v3"],
        subject=["s1", "s2", "s2", "s1"],
        frame=[0, 0, 1, -1],
        failed_to_acquire=[False, True, False, False],
        fta_reason=["", "no_face", "", ""],
    )
    back = read_scores(write_scores(tmp_path / "out" / "s.csv", original))
    np.testing.assert_array_equal(back.scores, original.scores)  # repr() keeps every bit
    for name in ("is_bonafide", "failed_to_acquire", "pai", "video", "subject", "frame", "fta_reason"):
        np.testing.assert_array_equal(getattr(back, name), getattr(original, name))


def test_empty_score_is_a_failure_to_acquire_counted_apart(tmp_path):
    path = write(
        tmp_path,
        "score,label,pai,fta_reason\n0.9,bonafide,,\n,bonafide,,no_face\n0.1,attack,print,\n,attack,print,unreadable\n0.2,attack,print,\n0.8,bonafide,,\n",
    )
    s = read_scores(path)
    assert s.failed_to_acquire.tolist() == [False, True, False, True, False, False]
    report = evaluate(s, threshold=0.5)
    assert report.n_failed_to_acquire == 2
    assert report.n_bonafide == 2 and report.n_attack == 2  # the failures are not in the rates
    assert report.failed_to_acquire == {
        "bonafide": 1,
        "attack": 1,
        "rate_bonafide": 1 / 3,
        "rate_attack": 1 / 3,
        "reasons": {"no_face": 1, "unreadable": 1},
    }
    assert report.bpcer == 0.0 and report.apcer == 0.0
    assert any("failed to acquire" in note for note in report.notes)


@pytest.mark.parametrize(
    "text,line,column,match",
    [
        ("score,label\n0.9,bonafide\nabc,attack\n", 3, "score", "not a number"),
        ("score,label\n0.9,bonafide\nnan,attack\n", 3, "score", "leave the cell empty"),
        ("score,label\n0.9,bonafide\n-inf,attack\n", 3, "score", "not a finite"),
        ("score,label\n0.9,bonafide\n0.1,spoof\n", 3, "label", "neither"),
        ("score,label,pai\n0.9,bonafide,\n0.1,attack,\n", 3, "pai", "without a species"),
        ("score,label,pai\n0.9,bonafide,print\n0.1,attack,print\n", 2, "pai", "bona fide row"),
        ("score,label,frame\n0.9,bonafide,x\n", 2, "frame", "not an integer"),
        ("score,label\n0.9,bonafide\n0.1,attack,extra\n", 3, "*", "3 fields"),
        ("score,label,fta_reason\n0.9,bonafide,no_face\n", 2, "fta_reason", "cannot have"),
        ("score,label,video,frame\n0.9,bonafide,a,1\n0.8,bonafide,b,1\n0.7,bonafide,a,1\n", 4, "frame", "appears twice"),
    ],
)
def test_malformed_rows_name_file_line_and_column(tmp_path, text, line, column, match):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        read_scores(path)
    message = str(info.value)
    assert str(path) in message and f"line {line}," in message and f"column {column!r}" in message
    assert match in message


def test_missing_required_column(tmp_path):
    path = write(tmp_path, "score,pai\n0.9,print\n")
    with pytest.raises(ValueError, match=r"line 1 \(header\) lacks the column\(s\) label"):
        read_scores(path)


def test_empty_file_and_no_rows(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        read_scores(write(tmp_path, ""))
    with pytest.raises(ValueError, match="no score rows"):
        read_scores(write(tmp_path, "score,label\n"))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_scores(tmp_path / "nope.csv")


def test_blank_lines_keep_line_numbers_right(tmp_path):
    path = write(tmp_path, "score,label\n\n0.9,bonafide\n\nbad,attack\n")
    with pytest.raises(ValueError, match="line 5,"):
        read_scores(path)


def test_from_arrays_rejects_unmarked_nan():
    with pytest.raises(ValueError, match="failed_to_acquire=True"):
        ScoreSet.from_arrays([0.1, np.nan], [1, 0])
    ok = ScoreSet.from_arrays([0.1, np.nan], [1, 0], failed_to_acquire=[False, True])
    assert ok.failed_to_acquire.tolist() == [False, True]
