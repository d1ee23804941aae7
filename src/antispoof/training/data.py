"""Training data: seeded epoch sampling and seeded augmentation, so runs are reproducible.

A run's data order and augmentation are pure functions of ``(seed, epoch, sample)``:

- :class:`EpochSampler` draws one permutation per epoch from ``seed + epoch`` and deals it
  to the processes of a DDP run like ``DistributedSampler`` does (rank ``r`` of ``w`` gets
  positions ``r, r + w, ...``); it yields ``epoch * len(dataset) + index``;
- :class:`Augmented` decodes that number, reseeds the augmentation from
  ``(seed, epoch, index)`` and returns the item with every modality of the spec transformed.

So a resumed run (Lightning restores the epoch and calls ``set_epoch``) sees exactly
the batches the uninterrupted run would have seen, and two processes with batch ``B``
see together what one process sees with batch ``2B``. Nothing depends on the global
random state or on the number of loader workers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from antispoof.data.samplers import mix_seed
from antispoof.data.transforms import Transform

__all__ = ["EpochSampler", "Augmented", "mix_seed"]


class EpochSampler(Sampler[int]):
    """Seeded per-epoch order over ``n`` samples for one of ``num_replicas`` processes; yields ``epoch * n + index``.

    The order is padded (by wrapping) to a multiple of ``num_replicas`` so every process
    gets the same number of samples, as ``DistributedSampler`` does.
    """

    def __init__(self, n: int, seed: int, shuffle: bool = True, num_replicas: int = 1, rank: int = 0) -> None:
        if n <= 0:
            raise ValueError("the dataset is empty: nothing to sample; check the split and the frame store")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in [0, {num_replicas})")
        self.n, self.seed, self.shuffle = n, int(seed), shuffle
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch = 0
        self.per_replica = math.ceil(n / num_replicas)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.per_replica

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch))
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        total = self.per_replica * self.num_replicas
        order = (order * math.ceil(total / self.n))[:total]
        base = self.epoch * self.n
        return iter(base + i for i in order[self.rank :: self.num_replicas])


class Augmented(Dataset):
    """Wraps a frame dataset (raw ``uint8`` items); applies ``transform.apply`` seeded per sample.

    Every modality key of the transform's input spec (``image``, ``ir``, ``depth``; frames
    or clips) becomes a tensor, all with one random draw. Accepts plain indices (epoch 0)
    and the ``epoch * n + index`` numbers of :class:`EpochSampler`.
    """

    def __init__(self, base: Dataset, transform: Transform, seed: int) -> None:
        self.base = base
        self.transform = transform
        self.seed = int(seed)
        self.n = len(base)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, k: int) -> dict[str, Any]:
        epoch, index = divmod(int(k), self.n)
        self.transform.seed(mix_seed(self.seed, epoch, index))
        return self.transform.apply(self.base[index])
