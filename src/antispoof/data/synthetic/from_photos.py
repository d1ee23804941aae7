"""``--from-photos``: turn a user's bona fide face photos into simulated print and replay attacks.

Each photo becomes one subject (or photos in sub-folders share the sub-folder's name as
subject): a bona fide clip (the photo with rigid camera jitter; a still photo cannot
blink) and attack clips where the photo is printed or replayed into a procedural room
through the same media, cues and cameras as the procedural dataset. The face box comes
from a skin-colour blob (no face detector is needed); where none is found, the central
region is assumed. Masks need a 3D face and are not simulated from photos. IR and depth
of photo subjects use a generic ellipsoid relief, so they are rough.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from antispoof.data.synthetic.camera import domain_names
from antispoof.data.synthetic.clips import VideoSpec, rng_for
from antispoof.data.synthetic._imaging import luminance, pixel_grid
from antispoof.data.synthetic.faces import FaceRig
from antispoof.data.synthetic.species import SPECIES, resolve_species
from antispoof.data.synthetic.writer import (
    GeneratorSettings,
    _prepare_folder,
    _render_with_progress,
    split_subjects,
    write_manifest,
    write_settings,
)
from antispoof.data.base import BONAFIDE

__all__ = ["find_face_box", "photo_rig", "list_photos", "generate_from_photos"]

logger = logging.getLogger(__name__)

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def find_face_box(rgb: np.ndarray) -> tuple[float, float, float, float]:
    """Face box (x0, y0, x1, y1) in pixels from the largest skin-coloured blob near the centre."""
    h, w = rgb.shape[:2]
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    skin = cv2.inRange(ycc, (40, 135, 80), (250, 178, 130))
    k = max(3, min(h, w) // 60) | 1
    skin = cv2.morphologyEx(skin, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(skin)
    best, best_score = None, 0.0
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area < 0.02 * h * w:
            continue
        cx, cy = centroids[i]
        central = 1.0 - min(1.0, np.hypot((cx - w / 2) / w, (cy - h / 2) / h) * 2)
        score = area * (0.3 + central)
        if score > best_score:
            best, best_score = (x, y, bw, bh), score
    if best is None:
        side = 0.5 * min(h, w)
        return (w / 2 - side / 2, h / 2 - side * 0.6, w / 2 + side / 2, h / 2 + side * 0.6)
    x, y, bw, bh = best
    bh = min(bh, int(1.35 * bw))  # skin below the chin (neck) is not face
    return float(x), float(y), float(x + bw), float(y + bh)


def photo_rig(path: str | Path, size: int) -> FaceRig:
    """A face rig made from a photo: the face framed like a procedural face, static (no blinks)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read image {path}; use a JPEG or PNG face photo")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    x0, y0, x1, y1 = find_face_box(rgb)
    fw, fh = x1 - x0, y1 - y0
    # Frame the face as procedural faces are framed: face height ~ 0.52 of the frame, centre at 0.47.
    side = max(fh / 0.52, fw / 0.42)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = cx - side / 2, cy - 0.47 * side
    k = size / side
    m = np.float32([[k, 0, -left * k], [0, k, -top * k]])
    crop = cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE).astype(np.float32) / 255.0
    bx0, by0, bx1, by1 = ((x0 - left) * k, (y0 - top) * k, (x1 - left) * k, (y1 - top) * k)
    bw, bh = bx1 - bx0, by1 - by0
    fcx, fcy = (bx0 + bx1) / 2, (by0 + by1) / 2
    xs, ys = pixel_grid(size)
    e = 1 - ((xs - fcx) / (bw / 2)) ** 2 - ((ys - fcy) / (bh / 2)) ** 2
    relief = np.sqrt(np.clip(e, 0, None)).astype(np.float32)
    face = (e > 0).astype(np.float32)
    depth = face * (0.55 + 0.3 * relief)
    ir = (0.2 + 0.3 * luminance(crop)[..., 0]) * (1 - face) + face * 0.75 * (0.25 + 0.75 * relief)
    zero = np.zeros_like(crop)
    landmarks = {
        "eye_left": (bx0 + 0.3 * bw, by0 + 0.4 * bh, 0.11 * bw, 0.05 * bh),
        "eye_right": (bx0 + 0.7 * bw, by0 + 0.4 * bh, 0.11 * bw, 0.05 * bh),
        "nose": (fcx, by0 + 0.58 * bh, 0.1 * bw, 0.13 * bh),
        "mouth": (fcx, by0 + 0.78 * bh, 0.2 * bw, 0.07 * bh),
    }
    return FaceRig(
        size=size,
        rgb=crop,
        d_blink=zero,
        d_mouth=zero,
        alpha=np.ones((size, size), np.float32),
        depth=depth.astype(np.float32),
        ir=ir.astype(np.float32),
        box=(bx0, by0, bx1, by1),
        center=(fcx, fcy),
        landmarks=landmarks,
        border=cv2.BORDER_REPLICATE,
    )


def list_photos(folder: str | Path) -> list[tuple[str, Path]]:
    """(subject, path) of every photo under ``folder``; a photo in a sub-folder takes the sub-folder's name."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"photo folder {root} does not exist; pass a folder of face photos (JPEG/PNG)")
    out = []
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file():
            rel = p.relative_to(root)
            subject = rel.parts[0] if len(rel.parts) > 1 else p.stem
            out.append(("".join(c if c.isalnum() or c in "-_" else "_" for c in subject), p))
    if not out:
        raise FileNotFoundError(f"no photos ({', '.join(PHOTO_SUFFIXES)}) found under {root}")
    return out


def generate_from_photos(
    photos_dir: str | Path,
    out_dir: str | Path,
    *,
    frames: int = 8,
    size: int = 128,
    seed: int = 0,
    modalities: Sequence[str] = ("rgb",),
    species: str | Sequence[str] | None = None,
    difficulty: float = 0.5,
    attacks_per_photo: int = 3,
    workers: int = 1,
    image_format: str = "jpg",
    show_progress: bool = False,
) -> Path:
    """Write a dataset of the photos (bona fide) and simulated attacks on them; returns the manifest path.

    Subjects are split train/dev/test when there are at least 3 of them, otherwise all are ``train``.
    """
    chosen = resolve_species(species if species is not None else "print_*,replay_*")
    masks = [n for n in chosen if SPECIES[n].family == "mask"]
    if masks:
        raise ValueError(f"species {', '.join(masks)} need a 3D face and cannot be simulated from photos; use print_* or replay_*")
    photos = list_photos(photos_dir)
    subjects = list(dict.fromkeys(s for s, _ in photos))
    settings = GeneratorSettings(
        subjects=max(3, len(subjects)),
        frames=int(frames),
        size=int(size),
        seed=int(seed),
        modalities=tuple(dict.fromkeys(modalities)),
        species=tuple(chosen),
        difficulty=float(difficulty),
        sessions=1,
        live_per_session=1,
        attacks_per_session=int(attacks_per_photo),
        image_format=image_format,
    )
    settings.check()
    splits = split_subjects(len(subjects), seed) if len(subjects) >= 3 else ["train"] * len(subjects)
    split_of = dict(zip(subjects, splits, strict=True))
    domains = domain_names()
    cycle = [chosen[i] for i in rng_for(seed, 4).permutation(len(chosen))]
    specs, attack_i = [], 0
    for p_i, (subject, path) in enumerate(photos):
        s_i = subjects.index(subject)
        domain = domains[int(rng_for(seed, 5, s_i, p_i).integers(len(domains)))]
        kinds = [BONAFIDE]
        for _ in range(attacks_per_photo):
            kinds.append(cycle[attack_i % len(cycle)])
            attack_i += 1
        for v, kind in enumerate(kinds):
            specs.append(
                VideoSpec(subject, str(p_i + 1), f"{subject}_{p_i + 1}_{v:02d}", kind, domain, split_of[subject], (s_i, p_i + 1, v), str(path))
            )
    root = Path(out_dir)
    _prepare_folder(root)
    rows = _render_with_progress(specs, root, settings, workers, show_progress, "simulating attacks")
    manifest = write_manifest(rows, root, settings.modalities)
    write_settings(root, settings, rows, {"from_photos": str(Path(photos_dir).resolve()), "photos": len(photos)})
    logger.info("wrote %d frames from %d photos to %s", len(rows), len(photos), manifest)
    return manifest
