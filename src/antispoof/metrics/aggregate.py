"""Per-video aggregation: many frame scores become one score per presentation.

Methods (frames that failed to acquire are left out; a video none of whose frames has a
score is itself a failure to acquire):

- ``mean`` (default): arithmetic mean of the frame scores.
- ``median``: middle frame score; the mean of the two middle ones for an even count.
- ``min``: lowest frame score (the most suspicious frame decides).
- ``trimmed-mean=P``: drop ``floor(P * n)`` frames from each end of the sorted scores,
  average the rest (``0 <= P < 0.5``, default 0.1).
- ``vote=T``: the share of frames with score ``>= T`` (default 0.5). A majority vote is
  this share compared with 0.5: use ``--threshold 0.5`` for it; other threshold rules
  apply to the share like to any score.
- ``none``: no aggregation, every row is a presentation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from antispoof.metrics._checks import factorize
from antispoof.metrics.scorefile import ScoreSet

__all__ = ["Aggregation", "AggregationInfo", "parse_aggregation", "aggregate_videos", "AGGREGATIONS"]

AGGREGATIONS = ("mean", "median", "min", "trimmed-mean", "vote", "none")
_DEFAULT_PARAMETER = {"trimmed-mean": 0.1, "vote": 0.5}


@dataclass(frozen=True)
class Aggregation:
    """A parsed aggregation: ``method`` and its parameter (trim share or vote threshold)."""

    method: str = "mean"
    parameter: float | None = None

    def __str__(self) -> str:
        return self.method if self.parameter is None else f"{self.method}={self.parameter:g}"


@dataclass(frozen=True)
class AggregationInfo:
    """What aggregation did: the method, the videos and the frames behind them."""

    method: str
    n_videos: int
    n_frames: int
    frames_per_video_min: int
    frames_per_video_median: float
    frames_per_video_max: int
    n_failed_frames: int
    n_failed_videos: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_aggregation(text: str | Aggregation) -> Aggregation:
    """Read ``mean``, ``median``, ``min``, ``trimmed-mean[=P]``, ``vote[=T]`` or ``none``."""
    if isinstance(text, Aggregation):
        return text
    raw = str(text).strip().lower().replace("_", "-")
    name, _, value = raw.partition("=")
    if name not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {text!r}; use one of: mean, median, min, trimmed-mean=0.1, vote=0.5, none")
    if name not in _DEFAULT_PARAMETER:
        if value:
            raise ValueError(f"aggregation {name!r} takes no parameter; got {text!r}")
        return Aggregation(name)
    try:
        parameter = float(value) if value else _DEFAULT_PARAMETER[name]
    except ValueError:
        raise ValueError(f"aggregation {text!r}: {value!r} is not a number; e.g. {name}={_DEFAULT_PARAMETER[name]}") from None
    if name == "trimmed-mean" and not 0.0 <= parameter < 0.5:
        raise ValueError(f"trimmed-mean share must be in [0, 0.5); got {parameter}")
    if name == "vote" and not np.isfinite(parameter):
        raise ValueError(f"vote threshold must be a finite number; got {parameter}")
    return Aggregation(name, parameter)


def _segment_sums(values: np.ndarray, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Sum of ``values[begin[i]:end[i]]`` for non-empty segments, each summed on its own."""
    padded = np.append(values, 0.0)
    bounds = np.empty(2 * begin.shape[0], dtype=np.int64)
    bounds[0::2] = begin
    bounds[1::2] = end
    return np.add.reduceat(padded, bounds)[0::2]


def _check_constant(name: str, values: np.ndarray | None, group: np.ndarray, ids: np.ndarray, source: str) -> np.ndarray | None:
    """One value per video, or a ValueError naming a video whose rows disagree."""
    if values is None:
        return None
    _, codes = factorize(values)
    lo = np.full(ids.shape[0], np.iinfo(np.int64).max)
    hi = np.full(ids.shape[0], -1)
    np.minimum.at(lo, group, codes)
    np.maximum.at(hi, group, codes)
    if (lo != hi).any():
        v = int(np.flatnonzero(lo != hi)[0])
        found = sorted({str(x) for x in values[group == v]})
        raise ValueError(f"{source}: the frames of video {ids[v]!r} disagree on {name} ({', '.join(found)}); a video has one {name}")
    first = np.zeros(ids.shape[0], dtype=np.int64)
    first[group[::-1]] = np.arange(group.shape[0])[::-1]
    return values[first]


def aggregate_videos(scores: ScoreSet, method: str | Aggregation = "mean") -> tuple[ScoreSet, AggregationInfo | None]:
    """One score per video (rows sharing ``video``); returns the set unchanged when it has no video column or method is ``none``."""
    agg = parse_aggregation(method)
    if scores.video is None or agg.method == "none":
        return scores, None
    names, group = factorize(scores.video)
    ids = np.array(names, dtype=object)
    n_videos = ids.shape[0]
    is_bf = np.zeros(n_videos, dtype=np.int64)
    np.add.at(is_bf, group, scores.is_bonafide.astype(np.int64))
    rows = np.bincount(group, minlength=n_videos)
    mixed = (is_bf != 0) & (is_bf != rows)
    if mixed.any():
        raise ValueError(f"{scores.source}: video {ids[int(np.flatnonzero(mixed)[0])]!r} has both bona fide and attack frames; a video has one label")
    pai = _check_constant("pai", scores.pai, group, ids, scores.source)
    subject = _check_constant("subject", scores.subject, group, ids, scores.source)

    acquired = ~scores.failed_to_acquire
    frame_scores, frame_group = scores.scores[acquired], group[acquired]
    by_score = np.argsort(frame_scores)
    order = by_score[np.argsort(frame_group[by_score], kind="stable")]  # by video, then by score
    values = frame_scores[order]
    counts = np.bincount(frame_group, minlength=n_videos)
    begin = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    has = counts > 0
    out = np.full(n_videos, np.nan)
    b, m = begin[has], counts[has]
    if agg.method == "mean":
        out[has] = _segment_sums(values, b, b + m) / m
    elif agg.method == "median":
        out[has] = (values[b + (m - 1) // 2] + values[b + m // 2]) / 2.0
    elif agg.method == "min":
        out[has] = values[b]
    elif agg.method == "trimmed-mean":
        cut = np.floor(agg.parameter * m).astype(np.int64)
        out[has] = _segment_sums(values, b + cut, b + m - cut) / (m - 2 * cut)
    elif agg.method == "vote":
        out[has] = _segment_sums((values >= agg.parameter).astype(np.float64), b, b + m) / m

    failed = ~has
    reason = None
    if failed.any() or scores.fta_reason is not None:
        reason = np.full(n_videos, "", dtype=object)
        reason[failed] = "no frame acquired"
        if scores.fta_reason is not None:
            for v in np.flatnonzero(failed):
                given = sorted({str(r) for r in scores.fta_reason[group == v] if str(r)})
                if given:
                    reason[v] = ",".join(given)
    video_set = ScoreSet(out, is_bf.astype(bool), failed, pai, ids, subject, None, reason, scores.source)
    used = counts[has]
    info = AggregationInfo(
        method=str(agg),
        n_videos=int(n_videos),
        n_frames=int(used.sum()),
        frames_per_video_min=int(used.min()) if used.size else 0,
        frames_per_video_median=float(np.median(used)) if used.size else 0.0,
        frames_per_video_max=int(used.max()) if used.size else 0,
        n_failed_frames=int(scores.failed_to_acquire.sum()),
        n_failed_videos=int(failed.sum()),
    )
    return video_set, info
