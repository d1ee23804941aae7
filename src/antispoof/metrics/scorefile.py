"""The score file every method's evaluation writes, and :class:`ScoreSet`, its in-memory form.

A score file is a CSV with a header row. Columns (any order; others are ignored):

==============  ========  ===========================================================
column          required  meaning
==============  ========  ===========================================================
``score``       yes       liveness score, higher = more likely bona fide; a finite
                          number, or **empty** for a failure to acquire
``label``       yes       ``bonafide`` or ``attack``
``pai``         no        attack species (print, replay, mask, ...); required on
                          attack rows when the column exists; empty or ``bonafide``
                          on bona fide rows
``video``       no        presentation id; rows sharing it are frames of one video
``subject``     no        subject id (the bootstrap resamples subjects)
``frame``       no        frame index (integer; -1 or empty for a whole video/image)
``fta_reason``  no        why acquisition failed (``no_face``, ``unreadable``, ...);
                          only on rows with an empty score
==============  ========  ===========================================================

**Failure to acquire** (no face found, unreadable input): a row whose ``score`` cell is
empty. It keeps its label (and pai, video, subject), is counted and reported apart
(``n_failed_to_acquire``), and never enters an error rate. A score written as ``nan``
is an error, not a failure to acquire: the file must say which it is.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.metrics._checks import ATTACK, BONAFIDE, as_is_bonafide, factorize

__all__ = ["ScoreSet", "read_scores", "write_scores", "SCORE_COLUMNS", "REQUIRED_COLUMNS"]

SCORE_COLUMNS = ("score", "label", "pai", "video", "subject", "frame", "fta_reason")
REQUIRED_COLUMNS = ("score", "label")


@dataclass
class ScoreSet:
    """Scores of one split, one row per frame or presentation.

    ``scores`` is NaN exactly where ``failed_to_acquire`` is True. ``pai`` holds the species
    of attack rows and ``bonafide`` on bona fide rows (None when unknown). ``frame`` is -1
    where unknown.
    """

    scores: np.ndarray
    is_bonafide: np.ndarray
    failed_to_acquire: np.ndarray
    pai: np.ndarray | None = None
    video: np.ndarray | None = None
    subject: np.ndarray | None = None
    frame: np.ndarray | None = None
    fta_reason: np.ndarray | None = None
    source: str = field(default="<arrays>")

    @classmethod
    def from_arrays(
        cls,
        scores: Any,
        labels: Any,
        *,
        pai: Any = None,
        video: Any = None,
        subject: Any = None,
        frame: Any = None,
        failed_to_acquire: Any = None,
        fta_reason: Any = None,
        source: str = "<arrays>",
    ) -> ScoreSet:
        """Build and check a score set from arrays (labels: bools, 0/1 or 'bonafide'/'attack').

        A NaN score is an error unless its row is marked ``failed_to_acquire``.
        """
        values = np.asarray(scores, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(f"{source}: scores must be 1-D; got shape {values.shape}")
        n = values.shape[0]
        is_bf = as_is_bonafide(labels, n, f"{source} labels")
        fta = np.zeros(n, dtype=bool) if failed_to_acquire is None else np.asarray(failed_to_acquire, dtype=bool)
        if fta.shape != (n,):
            raise ValueError(f"{source}: failed_to_acquire needs one flag per score ({n}); got shape {fta.shape}")
        bad = ~np.isfinite(values) & ~fta
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{source}: score {values[i]!r} at index {i} is not a finite number; mark a failure to acquire "
                "with failed_to_acquire=True (an empty score cell in a score file) instead of a NaN score"
            )
        values = values.copy()
        values[fta] = np.nan

        def column(data: Any, name: str) -> np.ndarray | None:
            if data is None:
                return None
            arr = np.asarray(data, dtype=object)
            if arr.shape != (n,):
                raise ValueError(f"{source}: {name} needs one entry per score ({n}); got shape {arr.shape}")
            return np.array([str(v) for v in arr], dtype=object) if n else np.empty(0, dtype=object)

        pai_arr = column(pai, "pai")
        if pai_arr is not None:
            pai_arr[is_bf] = BONAFIDE
            empty = (pai_arr == "") & ~is_bf
            if empty.any():
                raise ValueError(f"{source}: attack at index {int(np.flatnonzero(empty)[0])} has an empty pai species")
        frame_arr = None
        if frame is not None:
            frame_arr = np.asarray(frame, dtype=np.int64)
            if frame_arr.shape != (n,):
                raise ValueError(f"{source}: frame needs one entry per score ({n}); got shape {frame_arr.shape}")
        reason = column(fta_reason, "fta_reason")
        if reason is not None and (reason[~fta] != "").any():
            i = int(np.flatnonzero((reason != "") & ~fta)[0])
            raise ValueError(f"{source}: row {i} has an fta_reason but also a score; a failure to acquire has no score")
        return cls(values, is_bf, fta, pai_arr, column(video, "video"), column(subject, "subject"), frame_arr, reason, source)

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @property
    def acquired(self) -> np.ndarray:
        """Mask of the rows that have a score."""
        return ~self.failed_to_acquire

    def subset(self, mask: np.ndarray) -> ScoreSet:
        """The rows where ``mask`` is True."""

        def pick(arr: np.ndarray | None) -> np.ndarray | None:
            return None if arr is None else arr[mask]

        return ScoreSet(
            self.scores[mask],
            self.is_bonafide[mask],
            self.failed_to_acquire[mask],
            pick(self.pai),
            pick(self.video),
            pick(self.subject),
            pick(self.frame),
            pick(self.fta_reason),
            self.source,
        )


def _fail(path: Path, line: int, column: str, message: str) -> ValueError:
    return ValueError(f"{path}: line {line}, column {column!r}: {message}")


def read_scores(path: str | Path) -> ScoreSet:
    """Read a score file (see the module docstring); errors name the file, the line and the column."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"score file {path} not found; give the CSV an evaluation wrote (score,label,...)")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ValueError(f"{path}: the file is empty; a score file starts with a header row such as 'score,label'") from None
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ValueError(
                f"{path}: line 1 (header) lacks the column(s) {', '.join(missing)}; found {', '.join(header) or 'nothing'}. "
                "A score file needs at least 'score,label' (optional: pai,video,subject,frame,fta_reason)"
            )
        duplicated = sorted({c for c in header if header.count(c) > 1 and c in SCORE_COLUMNS})
        if duplicated:
            raise ValueError(f"{path}: line 1 (header) repeats the column(s) {', '.join(duplicated)}")
        index = {c: header.index(c) for c in SCORE_COLUMNS if c in header}
        columns: dict[str, list[str]] = {c: [] for c in index}
        lines: list[int] = []
        width = len(header)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                raise _fail(path, reader.line_num, "*", f"has {len(row)} fields but the header has {width}")
            lines.append(reader.line_num)
            for c, i in index.items():
                columns[c].append(row[i].strip())
    if not lines:
        raise ValueError(f"{path}: no score rows after the header")
    return _parse_columns(path, columns, np.asarray(lines))


def _parse_columns(path: Path, columns: dict[str, list[str]], lines: np.ndarray) -> ScoreSet:
    raw_score = np.asarray(columns["score"], dtype=object)
    fta = raw_score == ""
    scores = np.full(raw_score.shape[0], np.nan)
    text = raw_score[~fta].astype(str)
    try:
        parsed = text.astype(np.float64)
    except ValueError:
        for i, value in zip(np.flatnonzero(~fta), text):
            try:
                float(value)
            except ValueError:
                raise _fail(path, int(lines[i]), "score", f"{value!r} is not a number (leave it empty for a failure to acquire)") from None
        raise
    scores[~fta] = parsed
    bad = ~fta & ~np.isfinite(scores)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(
            path, int(lines[i]), "score",
            f"{raw_score[i]!r} is not a finite score; leave the cell empty to mark a failure to acquire",
        )

    label = np.asarray(columns["label"], dtype=object).astype(str)
    is_bf = label == BONAFIDE
    ok = is_bf | (label == ATTACK)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise _fail(path, int(lines[i]), "label", f"{label[i]!r} is neither {BONAFIDE!r} nor {ATTACK!r}")

    pai = None
    if "pai" in columns:
        pai = np.asarray(columns["pai"], dtype=object).astype(str).astype(object)
        wrong = is_bf & (pai != "") & (pai != BONAFIDE)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise _fail(path, int(lines[i]), "pai", f"bona fide row has the attack species {pai[i]!r}; leave it empty or write 'bonafide'")
        empty = ~is_bf & (pai == "")
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise _fail(path, int(lines[i]), "pai", "attack row without a species; fill it (e.g. print, replay, mask) or drop the pai column")
        pai[is_bf] = BONAFIDE

    frame = None
    if "frame" in columns:
        frame = np.full(len(lines), -1, dtype=np.int64)
        for i, value in enumerate(columns["frame"]):
            if value == "":
                continue
            try:
                frame[i] = int(value)
            except ValueError:
                raise _fail(path, int(lines[i]), "frame", f"{value!r} is not an integer frame index") from None

    reason = None
    if "fta_reason" in columns:
        reason = np.asarray(columns["fta_reason"], dtype=object)
        clash = (reason != "") & ~fta
        if clash.any():
            i = int(np.flatnonzero(clash)[0])
            raise _fail(path, int(lines[i]), "fta_reason", "a row with a score cannot have a failure-to-acquire reason; empty the score or the reason")

    def optional(name: str) -> np.ndarray | None:
        return np.asarray(columns[name], dtype=object) if name in columns else None

    video = optional("video")
    if video is not None and frame is not None:
        _check_unique_frames(path, video, frame, lines)
    return ScoreSet(scores, is_bf, fta, pai, video, optional("subject"), frame, reason, str(path))


def _check_unique_frames(path: Path, video: np.ndarray, frame: np.ndarray, lines: np.ndarray) -> None:
    keyed = frame >= 0
    if not keyed.any():
        return
    keys = np.array([f"{v}\x00{f}" for v, f in zip(video[keyed], frame[keyed])], dtype=object)
    _, codes = factorize(keys)
    counts = np.bincount(codes)
    if (counts > 1).any():
        dup = int(np.flatnonzero(counts > 1)[0])
        rows = np.flatnonzero(codes == dup)
        key = keys[rows[0]]
        where = np.flatnonzero(keyed)[rows]
        v, f = key.split("\x00")
        raise _fail(path, int(lines[where[1]]), "frame", f"video {v!r} frame {f} appears twice (lines {int(lines[where[0]])} and {int(lines[where[1]])})")


def write_scores(path: str | Path, scores: ScoreSet) -> Path:
    """Write a score set as a score file (only the optional columns it has); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    present = ["score", "label"] + [
        c for c in ("pai", "video", "subject", "frame", "fta_reason") if getattr(scores, c) is not None
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(present)
        for i in range(len(scores)):
            row: list[str] = []
            for c in present:
                if c == "score":
                    row.append("" if scores.failed_to_acquire[i] else repr(float(scores.scores[i])))
                elif c == "label":
                    row.append(BONAFIDE if scores.is_bonafide[i] else ATTACK)
                elif c == "pai":
                    row.append("" if scores.is_bonafide[i] else str(scores.pai[i]))  # type: ignore[index]
                elif c == "frame":
                    row.append(str(int(scores.frame[i])))  # type: ignore[index]
                else:
                    row.append(str(getattr(scores, c)[i]))
            writer.writerow(row)
    return path
