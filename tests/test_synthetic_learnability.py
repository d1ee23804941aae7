"""Learnability of the synthetic dataset: a small CNN trained for a few epochs on CPU.

It must reach ACER < 10% on held-out subjects (threshold chosen on the dev subjects) and
predict each visible-cue attribute above chance (per-clip AUC > 0.6 on held-out subjects,
every cue). Slow (a few minutes on 2 cores): run with
``pytest -m slow tests/test_synthetic_learnability.py -s`` to see the numbers.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from antispoof.data.base import ATTRIBUTES
from antispoof.data.synthetic import SPECIES, generate_dataset

pytestmark = pytest.mark.slow

SIZE = 48
HEADS = (*ATTRIBUTES, "spoof")
EPOCHS = 30
# 288 subjects leave ~115 held out, so each cue's AUC rests on ~200 replay clips; with 192
# the per-clip AUC of the subtler cues (glare, reflection) scattered by +-0.05 across seeds.
SUBJECTS = 288
BATCH = 32


def _load(manifest: Path) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    with manifest.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    images = np.stack([cv2.cvtColor(cv2.imread(str(manifest.parent / r["path"])), cv2.COLOR_BGR2RGB) for r in rows])
    targets = np.array([[float(r[a]) for a in ATTRIBUTES] + [float(r["label"] == "attack")] for r in rows], np.float32)
    return images, targets, rows


def _model():
    import torch.nn as nn

    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    return nn.Sequential(
        block(3, 16), nn.MaxPool2d(2),
        block(16, 32), nn.MaxPool2d(2),
        block(32, 64), nn.MaxPool2d(2),
        block(64, 96), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(96, len(HEADS)),
    )  # fmt: skip


def _train(images: np.ndarray, targets: np.ndarray, epochs: int, seed: int):
    import torch

    torch.manual_seed(seed)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255.0)
    y = torch.from_numpy(targets)
    model = _model()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * ((len(x) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    positives = y.mean(0).clamp(1e-3, 1 - 1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=((1 - positives) / positives).clamp(1.0, 10.0))  # rare cues count
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), BATCH):
            idx = order[i : i + BATCH]
            xb = x[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = loss_fn(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model


def _predict(model, images: np.ndarray) -> np.ndarray:
    import torch

    model.eval()
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255.0)
    with torch.no_grad():
        return torch.cat([torch.sigmoid(model(x[i : i + 256])) for i in range(0, len(x), 256)]).numpy()


def _per_video(videos: np.ndarray, target: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    names, inverse = np.unique(videos, return_inverse=True)
    counts = np.bincount(inverse)
    return np.bincount(inverse, target) / counts, np.bincount(inverse, prob) / counts


def _acer(spoof_prob: np.ndarray, is_attack: np.ndarray, threshold: float) -> tuple[float, float, float]:
    apcer = float(np.mean(spoof_prob[is_attack] < threshold))
    bpcer = float(np.mean(spoof_prob[~is_attack] >= threshold))
    return (apcer + bpcer) / 2, apcer, bpcer


def _eer_threshold(spoof_prob: np.ndarray, is_attack: np.ndarray) -> float:
    candidates = np.unique(spoof_prob)
    gaps = [abs(np.mean(spoof_prob[is_attack] < t) - np.mean(spoof_prob[~is_attack] >= t)) for t in candidates]
    return float(candidates[int(np.argmin(gaps))])


def test_small_cnn_learns_liveness_and_attributes(tmp_path):
    import torch
    from sklearn.metrics import roc_auc_score

    torch.set_num_threads(2)
    manifest = generate_dataset(tmp_path / "ds", subjects=SUBJECTS, frames=1, size=SIZE, seed=7, difficulty=0.5, workers=2)
    images, targets, rows = _load(manifest)
    split = np.array([r["split"] for r in rows])
    model = _train(images[split == "train"], targets[split == "train"], epochs=EPOCHS, seed=0)
    prob = _predict(model, images)
    is_attack = targets[:, -1] == 1

    dev, test = split == "dev", split == "test"
    threshold = _eer_threshold(prob[dev, -1], is_attack[dev])
    acer, apcer, bpcer = _acer(prob[test, -1], is_attack[test], threshold)
    family = np.array([SPECIES[r["pai"]].family for r in rows])
    per_family = {f: float(np.mean(prob[test & (family == f), -1] < threshold)) for f in ("print", "replay", "mask")}
    print(f"\nheld-out subjects: ACER {acer:.4f} (APCER {apcer:.4f}, BPCER {bpcer:.4f}) at dev-EER threshold {threshold:.3f}")
    print("APCER per family:", {k: round(v, 4) for k, v in per_family.items()})

    # Attributes on held-out subjects (dev + test): each cue among the clips that can show it.
    held = dev | test
    device = np.array([SPECIES[r["pai"]].device or "" for r in rows])
    videos = np.array([r["video"] for r in rows])
    aucs = {}
    for k, name in enumerate(ATTRIBUTES):
        if name == "invisible_attack":
            sel = held & is_attack
        else:
            sel = held & (family == "replay")
            if name in ("fingers", "mobile_ui"):
                sel &= device != "monitor"
        y, p = _per_video(videos[sel], targets[sel, k], prob[sel, k])  # attributes are per clip
        assert 0 < y.sum() < len(y), f"held-out clips need both values of {name}"
        aucs[name] = float(roc_auc_score(y, p))
    print("attribute AUC (held-out clips):", {k: round(v, 3) for k, v in aucs.items()})

    assert acer < 0.10, f"ACER {acer:.3f} on held-out subjects"
    weak = {name: round(auc, 3) for name, auc in aucs.items() if auc <= 0.6}
    assert not weak, f"attributes not learned above chance (AUC <= 0.6): {weak}"
