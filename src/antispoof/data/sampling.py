"""Which frames of a video to use: every Nth, N evenly spaced, the first N, or clips of T frames.

Each policy is a pure function of the video length (and a seed where it draws at
random), returning sorted frame indices, so the same settings always pick the same
frames. :class:`FrameSampler` bundles one policy with its options and is what the frame
store records in its settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["every_nth", "evenly_spaced", "first_n", "random_n", "clip_starts", "clips", "FrameSampler", "POLICIES"]

POLICIES = ("every", "evenly", "first", "random", "clips", "all")


def _check_positive(name: str, value: int) -> None:
    if int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")


def every_nth(num_frames: int, n: int, offset: int = 0) -> list[int]:
    """Frames ``offset, offset + n, offset + 2n, ...`` below ``num_frames``."""
    _check_positive("n", n)
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    return list(range(offset, max(num_frames, 0), n))


def evenly_spaced(num_frames: int, n: int) -> list[int]:
    """``n`` frames spread evenly from the first to the last (fewer when the video is shorter)."""
    _check_positive("n", n)
    if num_frames <= 0:
        return []
    if n == 1:
        return [(num_frames - 1) // 2]
    return sorted({int(round(x)) for x in np.linspace(0, num_frames - 1, n)})


def first_n(num_frames: int, n: int) -> list[int]:
    """The first ``n`` frames."""
    _check_positive("n", n)
    return list(range(min(n, max(num_frames, 0))))


def random_n(num_frames: int, n: int, seed: int) -> list[int]:
    """``n`` distinct frames drawn uniformly at random with ``seed`` (all frames when fewer)."""
    _check_positive("n", n)
    if num_frames <= n:
        return list(range(max(num_frames, 0)))
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(num_frames, size=n, replace=False))


def clip_starts(num_frames: int, clip_len: int, stride: int = 1, num_clips: int = 1, seed: int | None = None) -> list[int]:
    """First frames of ``num_clips`` clips of ``clip_len`` frames taken ``stride`` apart.

    Without a seed the clips are spread evenly over the video; with a seed their starts
    are drawn at random (distinct where possible). A video shorter than one clip gives
    one clip starting at 0 (the caller decides how to pad it).
    """
    for name, value in (("clip_len", clip_len), ("stride", stride), ("num_clips", num_clips)):
        _check_positive(name, value)
    span = (clip_len - 1) * stride + 1
    last_start = num_frames - span
    if num_frames <= 0:
        return []
    if last_start <= 0:
        return [0]
    if seed is None:
        return evenly_spaced(last_start + 1, num_clips)
    rng = np.random.default_rng(seed)
    count = min(num_clips, last_start + 1)
    return sorted(int(i) for i in rng.choice(last_start + 1, size=count, replace=False))


def clips(num_frames: int, clip_len: int, stride: int = 1, num_clips: int = 1, seed: int | None = None) -> list[list[int]]:
    """The frame indices of each clip (see :func:`clip_starts`), clipped to the video length."""
    return [
        [i for i in range(start, start + clip_len * stride, stride) if i < num_frames]
        for start in clip_starts(num_frames, clip_len, stride, num_clips, seed)
    ]


@dataclass(frozen=True)
class FrameSampler:
    """One sampling policy with its options.

    Args:
        policy: ``every`` (every ``n``-th frame), ``evenly`` (``n`` evenly spaced),
            ``first`` (the first ``n``), ``random`` (``n`` at random, seeded), ``clips``
            (``num_clips`` clips of ``n`` frames, ``stride`` apart) or ``all``.
        n: the policy's count or step.
        stride: frame step inside a clip.
        num_clips: clips per video.
        seed: seed of the random policies (``random``; ``clips`` when given).
    """

    policy: str = "every"
    n: int = 10
    stride: int = 1
    num_clips: int = 1
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown sampling policy {self.policy!r}; choose one of {', '.join(POLICIES)}")
        _check_positive("n", self.n)
        _check_positive("stride", self.stride)
        _check_positive("num_clips", self.num_clips)
        if self.policy == "random" and self.seed is None:
            raise ValueError("the 'random' sampling policy needs a seed (e.g. seed=0) so runs repeat")

    def indices(self, num_frames: int) -> list[int]:
        """Sorted, distinct frame indices this policy takes from a video of ``num_frames`` frames."""
        if self.policy == "every":
            return every_nth(num_frames, self.n)
        if self.policy == "evenly":
            return evenly_spaced(num_frames, self.n)
        if self.policy == "first":
            return first_n(num_frames, self.n)
        if self.policy == "random":
            return random_n(num_frames, self.n, int(self.seed))  # type: ignore[arg-type]
        if self.policy == "clips":
            taken = clips(num_frames, self.n, self.stride, self.num_clips, self.seed)
            return sorted({i for clip in taken for i in clip})
        return list(range(max(num_frames, 0)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameSampler:
        return cls(**data)

    @classmethod
    def from_options(
        cls,
        every: int | None = None,
        frames: int | None = None,
        first: int | None = None,
        clip_len: int | None = None,
        clip_stride: int = 1,
        num_clips: int = 1,
        seed: int | None = None,
    ) -> FrameSampler:
        """Build from the ``prepare`` command's options; exactly one of them may be given (default every 10th)."""
        given = {k: v for k, v in (("every", every), ("frames", frames), ("first", first), ("clip_len", clip_len)) if v}
        if len(given) > 1:
            raise ValueError(f"give only one of --every, --frames, --first, --clip-len (got {', '.join(given)})")
        if clip_len:
            return cls("clips", clip_len, stride=clip_stride, num_clips=num_clips, seed=seed)
        if frames:
            return cls("evenly", frames)
        if first:
            return cls("first", first)
        return cls("every", every or 10)
