"""Input checks shared by the metric functions: one place for the error messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

BONAFIDE = "bonafide"
ATTACK = "attack"
SINGLE_SPECIES = "attack"  # species name of every attack when no PAI labels are given


def as_scores(scores: Any, what: str = "scores") -> np.ndarray:
    """A 1-D float64 array of finite scores, or a ValueError naming the first bad one."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of numbers; got shape {arr.shape}")
    finite = np.isfinite(arr)
    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        n_nan = int(np.isnan(arr).sum())
        raise ValueError(
            f"{what}: {n_nan} NaN and {int((~finite).sum()) - n_nan} infinite score(s), the first at index "
            f"{index} ({arr[index]!r}); scores must be finite numbers. Mark a failure to acquire (no face, "
            "unreadable input) as such (failed_to_acquire=True, or an empty score cell in a score file) "
            "instead of a NaN score"
        )
    return arr


def as_is_bonafide(labels: Any, n: int | None = None, what: str = "labels") -> np.ndarray:
    """Labels to a boolean array, True for bona fide.

    Accepts booleans (True = bona fide), integers 1 (bona fide) / 0 (attack), or the strings
    ``bonafide`` / ``attack``.
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D; got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{what} has {arr.shape[0]} entries but there are {n} scores; give one label per score")
    if arr.dtype == bool:
        return arr.copy()
    if arr.dtype.kind in "iuf":
        ok = (arr == 0) | (arr == 1)
        if not ok.all():
            bad = arr[~ok][0]
            raise ValueError(f"{what}: numeric labels must be 1 (bona fide) or 0 (attack); found {bad!r}")
        return arr == 1
    if arr.dtype.kind in "UO":
        text = arr.astype(str)
        is_bf = text == BONAFIDE
        ok = is_bf | (text == ATTACK)
        if not ok.all():
            index = int(np.flatnonzero(~ok)[0])
            raise ValueError(
                f"{what}: label {text[index]!r} at index {index} is neither {BONAFIDE!r} nor {ATTACK!r}"
            )
        return is_bf
    raise ValueError(f"{what}: cannot read labels of dtype {arr.dtype}; use bools, 0/1 or 'bonafide'/'attack'")


def require_both_classes(is_bonafide: np.ndarray, what: str, needs: str) -> None:
    """Raise when one class is empty: every PAD error rate needs bona fide and attack scores."""
    n_bf = int(is_bonafide.sum())
    n_at = int(is_bonafide.shape[0] - n_bf)
    if n_bf == 0 or n_at == 0:
        missing = "bona fide" if n_bf == 0 else "attack"
        raise ValueError(
            f"{what} has no {missing} scores ({n_bf} bona fide, {n_at} attack); {needs} needs both classes. "
            "Check the label column (labels are 'bonafide' or 'attack') and that the right file was given"
        )


def check_rate(value: float, what: str) -> float:
    """A rate target in [0, 1]."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be a rate between 0 and 1; got {value}")
    return value


def factorize(values: np.ndarray, few: int = 16) -> tuple[list[str], np.ndarray]:
    """(sorted distinct strings, one integer code per entry) of a 1-D array of labels.

    Few distinct values (species) take a handful of vectorised equality passes; many (video
    or subject ids) a single dict pass. Both avoid sorting strings.
    """
    arr = np.asarray(values, dtype=object)
    codes = np.full(arr.shape[0], -1, dtype=np.int64)
    names: list[str] = []
    left = np.arange(arr.shape[0])
    if len(set(arr[:256].tolist())) > few // 2:
        few = 0  # many distinct values: straight to the dict pass
    while left.size and len(names) < few:
        name = arr[left[0]]
        hit = arr[left] == name
        codes[left[hit]] = len(names)
        names.append(name)
        left = left[~hit]
    if left.size:
        rest = arr[left].tolist()
        lookup = {name: k for k, name in enumerate(dict.fromkeys(names + rest))}
        codes[left] = np.fromiter(map(lookup.__getitem__, rest), dtype=np.int64, count=len(rest))
        names = list(lookup)
    text = [str(x) for x in names]
    order = sorted(range(len(text)), key=text.__getitem__)
    rank = np.empty(len(text), dtype=np.int64)
    rank[order] = np.arange(len(text))
    merged: list[str] = []
    for k in order:  # two objects with one string form (1 and "1") share a code
        if not merged or merged[-1] != text[k]:
            merged.append(text[k])
        rank[k] = len(merged) - 1
    return merged, rank[codes] if codes.size else codes


def species_codes(pai: Sequence[str] | np.ndarray | None, n: int) -> tuple[tuple[str, ...], np.ndarray]:
    """Species names (sorted) and one integer code per attack score."""
    if pai is None:
        return (SINGLE_SPECIES,), np.zeros(n, dtype=np.int64)
    arr = np.asarray(pai, dtype=object)
    if arr.shape != (n,):
        raise ValueError(f"pai must give one species per attack score ({n}); got shape {arr.shape}")
    names, codes = factorize(arr)
    return tuple(names), codes
