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


from antispoof.data.synthetic.camera import domain_names
from antispoof.data.synthetic.clips import VideoSpec, rng_for
from antispoof.data.synthetic.photo_rig import find_face_box, photo_rig
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
