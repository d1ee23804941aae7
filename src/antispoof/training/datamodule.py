"""The Lightning data module of the engine: seeded, DDP-aware loaders over frame datasets."""

from __future__ import annotations

from typing import Any

import lightning as L
from torch.utils.data import DataLoader, Dataset

from antispoof.data.transforms import build_transform, eval_transform
from antispoof.training.data import Augmented, EpochSampler

__all__ = ["FramesDataModule"]


class FramesDataModule(L.LightningDataModule):
    """Loaders for a training set and an optional dev set of frame items (raw RGB ``image``)."""

    def __init__(
        self,
        train_set: Dataset,
        dev_set: Dataset | None,
        *,
        image_size: int,
        augment: str,
        batch_size: int,
        num_workers: int,
        seed: int,
    ) -> None:
        super().__init__()
        self.train_set, self.dev_set = train_set, dev_set
        self.image_size, self.augment = image_size, augment
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed

    def _replicas(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def _loader(self, data: Dataset, sampler: EpochSampler, drop_last: bool) -> DataLoader:
        return DataLoader(
            data,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            drop_last=drop_last,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        world, rank = self._replicas()
        data = Augmented(self.train_set, build_transform(self.augment, self.image_size), self.seed)
        sampler = EpochSampler(len(data), self.seed, shuffle=True, num_replicas=world, rank=rank)
        # drop a last partial batch (BatchNorm cannot train on one sample) unless it is the only one
        return self._loader(data, sampler, drop_last=len(sampler) >= self.batch_size)

    def val_dataloader(self) -> Any:
        if self.dev_set is None or len(self.dev_set) == 0:  # type: ignore[arg-type]
            return []
        world, rank = self._replicas()
        data = Augmented(self.dev_set, eval_transform(self.image_size), self.seed)
        return self._loader(data, EpochSampler(len(data), self.seed, shuffle=False, num_replicas=world, rank=rank), False)
