"""Frame sampling policies: exact indices, seeds, clips, option parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from antispoof.data.sampling import FrameSampler, clips, evenly_spaced, every_nth, first_n, random_n


def test_policies_by_hand() -> None:
    assert every_nth(25, 10) == [0, 10, 20]
    assert every_nth(25, 10, offset=3) == [3, 13, 23]
    assert evenly_spaced(101, 11) == list(range(0, 101, 10))
    assert evenly_spaced(5, 11) == [0, 1, 2, 3, 4]
    assert evenly_spaced(9, 1) == [4]
    assert first_n(30, 11) == list(range(11))
    assert first_n(4, 11) == [0, 1, 2, 3]
    assert clips(100, 11, stride=1, num_clips=1) == [list(range(44, 55))]  # one clip: the middle one
    assert clips(100, 3, stride=2, num_clips=2) == [[0, 2, 4], [95, 97, 99]]
    assert clips(4, 11) == [[0, 1, 2, 3]]


def test_seeded_policies_repeat_and_differ_by_seed() -> None:
    assert random_n(1000, 10, seed=1) == random_n(1000, 10, seed=1)
    assert random_n(1000, 10, seed=1) != random_n(1000, 10, seed=2)
    a = FrameSampler("clips", 11, num_clips=3, seed=5).indices(300)
    assert a == FrameSampler("clips", 11, num_clips=3, seed=5).indices(300)
    assert len(a) == 33


@given(st.integers(0, 500), st.integers(1, 40), st.sampled_from(["every", "evenly", "first", "random", "clips", "all"]))
def test_indices_sorted_distinct_in_range(num_frames: int, n: int, policy: str) -> None:
    indices = FrameSampler(policy, n, seed=0).indices(num_frames)
    assert indices == sorted(set(indices))
    assert all(0 <= i < num_frames for i in indices)
    if policy in ("evenly", "first", "random") and num_frames:
        assert len(indices) == min(n, num_frames)


def test_from_options_and_errors() -> None:
    assert FrameSampler.from_options() == FrameSampler("every", 10)
    assert FrameSampler.from_options(frames=11) == FrameSampler("evenly", 11)
    assert FrameSampler.from_options(clip_len=11, clip_stride=2).policy == "clips"
    assert FrameSampler.from_dict(FrameSampler("first", 3).to_dict()) == FrameSampler("first", 3)
    with pytest.raises(ValueError, match="only one of"):
        FrameSampler.from_options(every=10, frames=11)
    with pytest.raises(ValueError, match="unknown sampling policy 'sometimes'"):
        FrameSampler("sometimes", 3)
    with pytest.raises(ValueError, match="needs a seed"):
        FrameSampler("random", 3)
    with pytest.raises(ValueError, match="positive"):
        every_nth(10, 0)
