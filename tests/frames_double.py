"""An in-memory stand-in for the frame-store dataset: the same item contract, tiny images.

Items: ``image`` (RGB uint8 HxWx3), ``label`` (1 bona fide, 0 attack), ``attributes``
(float32, 7, NaN unknown), ``pai``, ``video``, ``subject``, ``domain`` (str), ``frame`` (int).
Attacks carry a stripe pattern (their "moire"), so a tiny network can learn them.
"""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset


class FramesDouble(Dataset):
    def __init__(self, n: int = 32, size: int = 32, seed: int = 0, frames_per_video: int = 2, unknown_attributes: bool = False) -> None:
        rng = np.random.default_rng(seed)
        self.items = []
        for i in range(n):
            live = (i // frames_per_video) % 2 == 0
            base = rng.integers(60, 200, size=3)
            img = np.empty((size, size, 3), np.float32)
            img[:] = base
            img += rng.normal(0, 8, size=(size, size, 3))
            attrs = np.zeros(7, np.float32)
            if not live:
                period = int(rng.integers(3, 6))
                stripes = (np.arange(size) // period % 2 * 70.0)[None, :, None]
                img += stripes
                attrs[3] = 1.0  # moire
            if unknown_attributes and i % 3 == 0:
                attrs[:] = np.nan
            video = i // frames_per_video
            self.items.append(
                {
                    "image": np.clip(img, 0, 255).astype(np.uint8),
                    "label": int(live),
                    "attributes": attrs,
                    "pai": "bonafide" if live else "replay",
                    "video": f"v{video}",
                    "subject": f"s{video % 5}",
                    "domain": "double",
                    "frame": i % frames_per_video,
                }
            )

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def write_manifest_dataset(root, videos_per_split=None, frames_per_video: int = 2, size: int = 48) -> None:
    """A tiny dataset in the generic manifest format (PNG frames with face boxes) from the same images."""
    import csv
    from pathlib import Path

    import cv2

    root = Path(root)
    (root / "frames").mkdir(parents=True, exist_ok=True)
    videos_per_split = videos_per_split or {"train": 12, "dev": 6, "test": 6}
    rows = []
    for s, (split, n_videos) in enumerate(videos_per_split.items()):
        data = FramesDouble(n=n_videos * frames_per_video, size=size, seed=10 + s, frames_per_video=frames_per_video)
        for i, item in enumerate(data.items):
            video = i // frames_per_video
            name = f"frames/{split}_{i:03d}.png"
            cv2.imwrite(str(root / name), item["image"][:, :, ::-1])
            rows.append({
                "path": name, "label": "bonafide" if item["label"] == 1 else "attack",
                "pai": item["pai"], "subject": f"{split}{video // 2}", "session": "1",
                "video": f"{split}_v{video}", "frame": i % frames_per_video, "domain": "double", "split": split,
                "box_x0": 8, "box_y0": 8, "box_x1": size - 8, "box_y1": size - 8,
                "moire": 0 if item["label"] == 1 else 1,
            })
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
