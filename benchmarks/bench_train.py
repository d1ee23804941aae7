"""Training throughput of the `entry` method against the bare timm backbone, and the loader's share.

Measured in one run, same batch and image size:

1. bare step: timm backbone with a 2-class classifier, cross-entropy, AdamW step;
2. entry step: the Entry method's training_loss (8 heads, Reduced Focal Loss with the
   attribute mask), backward, AdamW step; goal: step cost <= 1.25x the bare step;
3. loader: the engine's data path alone (seeded `entry` augmentation, collation), and
   the entry step fed by it; goal: >= 0.9 of the model-only rate.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_train.py --backbone resnet18 --size 128 --batch 32

Prints images/s and the ratios, with the core count; never fails on a time.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import timm
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from antispoof.data.transforms import build_transform
from antispoof.methods.entry import EntryConfig, EntryMethod
from antispoof.training.data import Augmented, EpochSampler


class RandomFrames(Dataset):
    """Random RGB frames with the frame-store item contract (labels and attributes included)."""

    def __init__(self, n: int, size: int) -> None:
        rng = np.random.default_rng(0)
        self.images = rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
        self.attrs = (rng.random((n, 7)) > 0.5).astype(np.float32)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.images[i], "label": int(i % 2), "attributes": self.attrs[i], "pai": "x",
                "video": str(i), "subject": "s", "domain": "d", "frame": 0}


def _batch(b: int, size: int) -> dict:
    g = torch.Generator().manual_seed(0)
    return {"image": torch.randn(b, 3, size, size, generator=g), "label": torch.randint(0, 2, (b,), generator=g),
            "attributes": (torch.rand(b, 7, generator=g) > 0.5).float()}


def _timed(step, batches, warmup: int) -> float:
    for b in batches[:warmup]:
        step(b)
    start = time.perf_counter()
    n = 0
    for b in batches[warmup:]:
        step(b)
        n += b["image"].shape[0]
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default="resnet18")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="data-loader workers for the loader measurements")
    ap.add_argument("--repeats", type=int, default=2, help="alternate bare/entry measurements this many times; the best of each is kept")
    args = ap.parse_args()
    torch.manual_seed(0)

    bare = timm.create_model(args.backbone, num_classes=2)
    bare_opt = torch.optim.AdamW(bare.parameters(), lr=1e-4)
    method = EntryMethod(EntryConfig.model_validate({"model": {"backbone": args.backbone}}))
    entry_opt = torch.optim.AdamW([p for p in method.parameters() if p.requires_grad], lr=1e-4)
    bare.train(), method.train()

    def bare_step(b: dict) -> None:
        bare_opt.zero_grad(set_to_none=True)
        F.cross_entropy(bare(b["image"]), b["label"]).backward()
        bare_opt.step()

    def entry_step(b: dict) -> None:
        entry_opt.zero_grad(set_to_none=True)
        method.training_loss(b)[0].backward()
        entry_opt.step()

    fixed = [_batch(args.batch, args.size) for _ in range(args.warmup + args.steps)]
    bare_rate = entry_rate = 0.0
    for _ in range(args.repeats):
        bare_rate = max(bare_rate, _timed(bare_step, fixed, args.warmup))
        entry_rate = max(entry_rate, _timed(entry_step, fixed, args.warmup))

    n = args.batch * (args.warmup + args.steps)
    data = Augmented(RandomFrames(n, int(args.size * 1.25)), build_transform("entry", args.size), seed=0)
    loader = DataLoader(data, batch_size=args.batch, sampler=EpochSampler(n, seed=0), num_workers=args.workers,
                        persistent_workers=args.workers > 0, drop_last=True)
    start = time.perf_counter()
    loaded = list(loader)
    loader_rate = n / (time.perf_counter() - start)
    fed_rate = _timed(entry_step, list(loader), args.warmup)  # materialised: the model's own rate on loader batches
    start = time.perf_counter()
    count = 0
    for i, b in enumerate(loader):  # the loader feeding the model live
        entry_step(b)
        count += b["image"].shape[0] if i >= args.warmup else 0
        if i == args.warmup - 1:
            start = time.perf_counter()
    live_rate = count / (time.perf_counter() - start)
    del loaded

    print(f"cores: {os.cpu_count()}  torch threads: {torch.get_num_threads()}  backbone: {args.backbone}  "
          f"batch: {args.batch}  size: {args.size}  loader workers: {args.workers}")
    print(f"bare timm + CE step : {bare_rate:8.1f} images/s")
    print(f"entry step          : {entry_rate:8.1f} images/s")
    print(f"entry step cost / bare step cost : {bare_rate / entry_rate:.3f}  (goal <= 1.25)")
    print(f"loader alone        : {loader_rate:8.1f} images/s")
    print(f"entry fed by loader : {live_rate:8.1f} images/s  (model-only on the same batches {fed_rate:.1f})")
    print(f"fed / model-only    : {live_rate / fed_rate:.3f}  (goal >= 0.9)")


if __name__ == "__main__":
    main()
