"""CASIA-SURF's ChaLearn release, simulated: RGB / IR / Depth face crops and the three list files.

What is written (the tree :mod:`antispoof.data.casia_surf` reads)::

    Training/real_part/CLKJ_AS0001/real.rssdk/{color,depth,ir}/31.jpg
    Training/fake_part/CLKJ_AS0001/04_en_b.rssdk/{color,depth,ir}/31.jpg
    Val/0000/000000-{color,depth,ir}.jpg        Testing/0000/000000-{color,depth,ir}.jpg
    train_list.txt, val_private_list.txt, test_private_list.txt  (<color> <depth> <ir> <1|0>)
    val_public_list.txt, test_public_list.txt                    (the same paths, no label)

Content, from Zhang et al. (CVPR 2019) as summarised in seed 001 (Sec. 3, Table 1):

* one RealSense camera (domain ``rgbd_sensor``); per subject one bona fide recording and
  one recording per attack type; every 10th frame kept (image numbers step by 10);
* subjects split 300 / 100 / 600 (shares 0.3 / 0.1 / 0.6, at least one per split);
* attack types 4, 5, 6 in Training and 1, 2, 3 in Val / Testing (seed 001 Table 1), each
  rendered as the cut-out print whose ``surf_type`` is that number; the recording folder
  is named from the print (``04_en_b``: eyes and nose cut, bent; ``05_enm_f``: eyes, nose
  and mouth cut, flat);
* the release ships face crops: each modality's frame is cut to the frame's face box, the
  same box for all three, so a sample's three images are pixel-aligned and of one size
  (the release also blanks the background; we do not);
* Val / Testing are anonymised: one folder per recording in a seeded order, images
  numbered through the split, so neither name nor order gives the label.

Bona fide : attack, per split, follows the challenge's image counts (Liu et al., CVPR-W
2019, Table 2): train 8,942 : 20,324, val 2,994 : 6,614, test 17,458 : 40,252, i.e. about
30.6 % bona fide. Each subject has one bona fide and three attack recordings (1,200 /
400 / 2,391 videos for 300 / 100 / 600 subjects); bona fide recordings gave 29.8 images
each against 22.6 per attack recording, so a bona fide recording here keeps
``round(frames * 1.32)`` frames and an attack one ``frames`` (bona fide share 33 % at
``--frames 2``, 31 % at 8).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.data.base import ATTACK, BONAFIDE
from antispoof.data.synthetic.clips import VideoSpec, rng_for
from antispoof.data.synthetic.layouts import LAYOUTS, LayoutSettings, render, share, write_image
from antispoof.data.synthetic.species import SPECIES

__all__ = ["TYPE_SPECIES", "SPLIT_TYPES", "PUBLISHED_IMAGES", "recording_name", "casia_surf"]

DOMAIN = "rgbd_sensor"  # one Intel RealSense SR300
MODALITIES = ("color", "depth", "ir")
TYPE_SPECIES = {s.surf_type: s.name for s in SPECIES.values() if s.surf_type}  # 1..6 -> the cut-out prints
SPLIT_TYPES = {"train": (4, 5, 6), "dev": (1, 2, 3), "test": (1, 2, 3)}  # seed 001 Table 1
SUBJECT_SHARES = {"train": 300, "dev": 100, "test": 600}  # subjects per split
PUBLISHED_IMAGES = {"train": (8942, 20324), "dev": (2994, 6614), "test": (17458, 40252)}  # (bona fide, attack)
BONAFIDE_FRAME_RATIO = (8942 / 300) / (20324 / 900)  # images per bona fide recording / per attack recording
LISTS = {"train": "train_list.txt", "dev": "val_private_list.txt", "test": "test_private_list.txt"}
PUBLIC_LISTS = {"dev": "val_public_list.txt", "test": "test_public_list.txt"}
FOLDERS = {"dev": "Val", "test": "Testing"}


def recording_name(surf_type: int) -> str:
    """The attack recording's folder stem: type number, cut regions' initials, f(lat) or b(ent): ``04_en_b``."""
    species = SPECIES[TYPE_SPECIES[surf_type]]
    cuts = "".join(region[0] for region in species.cutouts)
    return f"{surf_type:02d}_{cuts}_{'b' if species.surface == 'bent' else 'f'}"


def _subject_splits(n: int, seed: int) -> list[str]:
    """Split of each subject index: 300 : 100 : 600, every split at least one subject."""
    counts = share(n, SUBJECT_SHARES, "CASIA-SURF")
    n_train, n_dev = counts["train"], counts["dev"]
    order = rng_for(seed, 41).permutation(n)
    out = [""] * n
    for rank, index in enumerate(order):
        out[index] = "train" if rank < n_train else ("dev" if rank < n_train + n_dev else "test")
    return out


def _crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = image.shape[:2]
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return image[y0:y1, x0:x1]


def _recordings(settings: LayoutSettings) -> list[tuple[VideoSpec, int]]:
    """Every recording (spec, attack type or 0), subject by subject."""
    splits = _subject_splits(settings.subjects, settings.seed)
    out = []
    for subject, split in enumerate(splits):
        name = f"CLKJ_AS{subject + 1:04d}"
        for kind in (0, *SPLIT_TYPES[split]):
            species = TYPE_SPECIES[kind] if kind else BONAFIDE
            video = "real" if kind == 0 else recording_name(kind)
            out.append((VideoSpec(name, "1", f"{name}_{video}", species, DOMAIN, split, (subject, 1, kind)), kind))
    return out


@LAYOUTS.register("casia-surf")
def casia_surf(out: Path, settings: LayoutSettings) -> dict[str, Any]:
    """Write the simulated CASIA-SURF challenge tree into ``out``; returns counts per split, label and type."""
    settings.check(minimum_subjects=3)
    bonafide_settings = replace(settings, frames=max(1, round(settings.frames * BONAFIDE_FRAME_RATIO)))
    recordings = _recordings(settings)
    lines: dict[str, list[str]] = {split: [] for split in LISTS}
    counts = {split: {BONAFIDE: 0, ATTACK: 0} for split in LISTS}
    types = {split: {} for split in LISTS}
    anonymised = {split: [r for r in recordings if r[0].split == split] for split in FOLDERS}
    for split, items in anonymised.items():  # the anonymised folders come in a seeded order
        order = rng_for(settings.seed, 42, list(FOLDERS).index(split)).permutation(len(items))
        anonymised[split] = [items[i] for i in order]
    image_number = dict.fromkeys(FOLDERS, 0)
    for split, items in (("train", [r for r in recordings if r[0].split == "train"]), *anonymised.items()):
        for folder_number, (spec, kind) in enumerate(items):
            clip = render(spec, bonafide_settings if kind == 0 else settings, ("rgb", "ir", "depth"))
            start = 1 + 10 * int(rng_for(settings.seed, 43, *spec.keys).integers(1, 6))
            for t, box in enumerate(clip.boxes):
                images = {"color": clip.rgb[t], "depth": clip.depth[t], "ir": clip.ir[t]}
                if split == "train":
                    part = "real_part" if kind == 0 else "fake_part"
                    folder = f"Training/{part}/{spec.subject}/{'real' if kind == 0 else recording_name(kind)}.rssdk"
                    paths = {m: f"{folder}/{m}/{start + 10 * t}.jpg" for m in MODALITIES}
                else:
                    stem = f"{FOLDERS[split]}/{folder_number:04d}/{image_number[split]:06d}"
                    paths = {m: f"{stem}-{m}.jpg" for m in MODALITIES}
                    image_number[split] += 1
                for modality in MODALITIES:
                    write_image(out / paths[modality], _crop(images[modality], box), clip.jpeg_quality)
                lines[split].append(" ".join(paths[m] for m in MODALITIES) + f" {int(kind == 0)}")
                counts[split][BONAFIDE if kind == 0 else ATTACK] += 1
                if kind:
                    types[split][f"type{kind}"] = types[split].get(f"type{kind}", 0) + 1
    for split, name in LISTS.items():
        (out / name).write_text("\n".join(lines[split]) + "\n")
    for split, name in PUBLIC_LISTS.items():
        (out / name).write_text("\n".join(line.rsplit(" ", 1)[0] for line in lines[split]) + "\n")
    return {
        "images": counts,
        "attack_types": types,  # Val / Testing name no type; these are the types rendered there
        "species": {f"type{k}": v for k, v in sorted(TYPE_SPECIES.items())},
        "published_images": {split: dict(zip((BONAFIDE, ATTACK), n)) for split, n in PUBLISHED_IMAGES.items()},
        "domain": DOMAIN,
    }
