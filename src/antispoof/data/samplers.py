"""Samplers a method can choose through its ``train_sampler`` hook, and the seed hash they share.

Like :class:`~antispoof.training.data.EpochSampler` they are pure functions of
``(seed, epoch)``, deal their order to the processes of a DDP run, and yield
``epoch * n + index`` so that the augmentation is seeded per epoch and sample. They live
below the training engine so that methods choose one without importing it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler

__all__ = ["BalancedSampler", "mix_seed"]


def mix_seed(*parts: int) -> int:
    """One 63-bit seed from several integers (a splitmix-style hash, stable across runs and platforms)."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h ^= (int(p) + 0x9E3779B97F4A7C15 + ((h << 6) & 0xFFFFFFFFFFFFFFFF) + (h >> 2)) & 0xFFFFFFFFFFFFFFFF
        h = (h * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h & 0x7FFFFFFFFFFFFFFF


class BalancedSampler(Sampler[int]):
    """Live and spoof resampled 1:1: every epoch draws ``n`` samples, half bona fide, half attack, interleaved.

    Each class is drawn from its own seeded permutation, repeated as often as needed (the
    smaller class is oversampled, the larger one subsampled when ``n`` is smaller than
    twice its size), and the two streams alternate, so every batch of two or more holds
    both labels. Unlabelled samples (label -1) are never drawn. ``n`` defaults to the
    number of labelled samples.
    """

    def __init__(self, labels: np.ndarray, seed: int, num_replicas: int = 1, rank: int = 0, n: int | None = None) -> None:
        labels = np.asarray(labels)
        self.live = np.flatnonzero(labels == 1)
        self.spoof = np.flatnonzero(labels == 0)
        if len(self.live) == 0 or len(self.spoof) == 0:
            raise ValueError(f"1:1 live/spoof sampling needs both labels in the training set; it has {len(self.live)} bona fide "
                             f"and {len(self.spoof)} attack samples")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in [0, {num_replicas})")
        self.size = len(labels)
        self.n = int(n) if n is not None else int(len(self.live) + len(self.spoof))
        self.seed, self.num_replicas, self.rank = int(seed), num_replicas, rank
        self.epoch = 0
        self.per_replica = math.ceil(self.n / num_replicas)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.per_replica

    def _stream(self, pool: np.ndarray, count: int, salt: int) -> list[int]:
        g = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch, salt))
        out: list[int] = []
        while len(out) < count:
            out += pool[torch.randperm(len(pool), generator=g).numpy()].tolist()
        return out[:count]

    def __iter__(self) -> Iterator[int]:
        half = math.ceil(self.per_replica / 2)
        total = half * self.num_replicas
        live, spoof = self._stream(self.live, total, 1), self._stream(self.spoof, total, 2)
        # each replica takes its own share of both streams, then alternates them: every batch of it holds both labels
        mine = [i for pair in zip(live[self.rank :: self.num_replicas], spoof[self.rank :: self.num_replicas]) for i in pair]
        base = self.epoch * self.size
        return iter(base + i for i in mine[: self.per_replica])
