"""The Lightning data module of the engine: seeded, DDP-aware loaders shaped by the method's input spec."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
from torch.utils.data import DataLoader, Dataset, Sampler

from antispoof.data.inputs import InputSpec
from antispoof.data.transforms import Transform, build_transform, eval_transform
from antispoof.training.data import Augmented, EpochSampler

__all__ = ["FramesDataModule", "auto_workers"]

#: ``(labels, seed, num_replicas, rank) -> Sampler | None``: a method's ``train_sampler`` hook.
SamplerHook = Callable[[Any, int, int, int], "Sampler[int] | None"]


class FramesDataModule(L.LightningDataModule):
    """Loaders for a training set and an optional dev set of raw frame-store items, transformed by ``spec``.

    ``sampler`` is the method's ``train_sampler`` hook; when it gives None (the default)
    the training order is the engine's seeded shuffle (:class:`EpochSampler`).
    """

    def __init__(
        self,
        train_set: Dataset,
        dev_set: Dataset | None,
        *,
        spec: InputSpec | int,
        augment: str,
        batch_size: int,
        num_workers: int | str,
        seed: int,
        sampler: SamplerHook | None = None,
        transform: Transform | None = None,
        start_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.start_epoch = start_epoch  # a resumed run's first epoch (its checkpoint's), known before Lightning restores it
        self.train_set, self.dev_set = train_set, dev_set
        self.spec = InputSpec.rgb(spec) if isinstance(spec, int) else spec
        self.augment, self.sampler_hook = augment, sampler
        self.transform = transform  # the method's own training transform; None = the ``augment`` pipeline
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed

    def _replicas(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def _epoch(self) -> int:
        """The epoch the next training iterator serves: 0, or the restored one when resuming (as Lightning counts it).

        ``start_epoch`` covers a loader built before Lightning restores the checkpoint: a schedule that asks for the
        run's length (``estimated_stepping_batches``, onecycle) builds it while configuring the optimizer, and with
        persistent workers that first iterator served epoch 0's order in the resumed epoch."""
        trainer = getattr(self, "trainer", None)
        return max(self.start_epoch, 0 if trainer is None else int(trainer.fit_loop.epoch_progress.current.processed))

    def _workers(self) -> int:
        """``train.num_workers``, with ``auto`` resolved for this machine and the training processes it runs."""
        if self.num_workers != "auto":
            return int(self.num_workers)
        trainer = getattr(self, "trainer", None)
        if trainer is None or type(trainer.accelerator).__name__ == "CPUAccelerator":
            return 0  # on the CPU the training loop itself uses the cores: no device waits for the loader
        return auto_workers(max(1, trainer.world_size // max(1, trainer.num_nodes)))

    def _loader(self, data: Dataset, sampler: Sampler[int], drop_last: bool) -> DataLoader:
        workers = self._workers()
        return DataLoader(
            data,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=workers,
            drop_last=drop_last,
            persistent_workers=workers > 0,
            # not fork: a forked worker inherits objects other threads hold (PyAV's threaded converters among them)
            # and frees them in the child, where those threads do not exist; seen hanging a loader worker forever
            multiprocessing_context="forkserver" if workers > 0 else None,
        )

    def train_dataloader(self) -> DataLoader:
        from antispoof.training.frames import dataset_labels

        world, rank = self._replicas()
        transform = self.transform if self.transform is not None else build_transform(self.augment, self.spec)
        data = Augmented(self.train_set, transform, self.seed)
        sampler = None
        if self.sampler_hook is not None and _overridden(self.sampler_hook):
            sampler = self.sampler_hook(dataset_labels(self.train_set), self.seed, world, rank)
        if sampler is None:
            sampler = EpochSampler(len(data), self.seed, shuffle=True, num_replicas=world, rank=rank)
        if hasattr(sampler, "set_epoch"):
            # Lightning makes the loader's first iterator before it calls set_epoch; a resumed run would draw
            # epoch 0's order for its first epoch (seen with persistent workers), so give the restored epoch now
            sampler.set_epoch(self._epoch())
        # drop a last partial batch (BatchNorm cannot train on one sample) unless it is the only one
        return self._loader(data, sampler, drop_last=len(sampler) >= self.batch_size)  # type: ignore[arg-type]

    def val_dataloader(self) -> Any:
        if self.dev_set is None or len(self.dev_set) == 0:  # type: ignore[arg-type]
            return []
        world, rank = self._replicas()
        data = Augmented(self.dev_set, eval_transform(self.spec), self.seed)
        return self._loader(data, EpochSampler(len(data), self.seed, shuffle=False, num_replicas=world, rank=rank), False)


def auto_workers(processes_per_machine: int = 1, cores: int | None = None) -> int:
    """Loader workers for ``train.num_workers=auto``: this process's share of the usable cores, less one for the
    training loop itself, at most 8 (more rarely helps small crops and costs memory); 0 on one core."""
    import os

    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(8, cores // max(1, processes_per_machine) - 1))


def _overridden(hook: Any) -> bool:
    """False for the base Method's ``train_sampler`` (the engine's shuffle), so labels are not gathered for nothing."""
    from antispoof.methods.base import Method

    return getattr(hook, "__func__", None) is not Method.train_sampler
