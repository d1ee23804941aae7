"""Write a synthetic dataset folder: image files, ``manifest.csv`` and ``synth.json``.

The plan (which videos exist, their species, domain and split) is made in the calling
process from the seed alone; workers render and write whole clips and return manifest
rows, which are sorted before writing, so the folder is byte-identical for any number
of workers.
"""

from __future__ import annotations

import csv
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from antispoof.data.base import ATTACK, ATTRIBUTES, BONAFIDE, BOX_COLUMNS, MANIFEST_COLUMNS
from antispoof.data.synthetic.camera import domain_names
from antispoof.data.synthetic.clips import Clip, VideoSpec, render_clip, rng_for
from antispoof.data.synthetic.modalities import MODALITIES
from antispoof.data.synthetic.species import SPECIES, resolve_species

__all__ = ["GeneratorSettings", "generate_dataset", "plan_videos", "split_subjects", "write_clip", "manifest_columns"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.csv"
SETTINGS_NAME = "synth.json"
IMAGE_FORMATS = ("jpg", "png")


@dataclass(frozen=True)
class GeneratorSettings:
    """Everything that decides the content of a generated folder (recorded in ``synth.json``)."""

    subjects: int
    frames: int
    size: int
    seed: int
    modalities: tuple[str, ...] = ("rgb",)
    species: tuple[str, ...] = ()
    difficulty: float = 0.5
    sessions: int = 2
    live_per_session: int = 2
    attacks_per_session: int = 2
    image_format: str = "jpg"
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)

    def check(self) -> None:
        """Raise ValueError naming the bad setting and the valid range."""
        if self.subjects < 3:
            raise ValueError(f"subjects={self.subjects}: need at least 3 (one per train/dev/test split)")
        if self.frames < 1:
            raise ValueError(f"frames={self.frames}: need at least 1 frame per clip")
        if not 16 <= self.size <= 1024:
            raise ValueError(f"size={self.size}: choose an image side between 16 and 1024 pixels")
        if not 0.0 <= self.difficulty <= 1.0:
            raise ValueError(f"difficulty={self.difficulty}: choose a value in [0, 1] (0 = obvious cues, 1 = faint)")
        bad = [m for m in self.modalities if m not in MODALITIES]
        if bad or "rgb" not in self.modalities:
            raise ValueError(f"modalities={','.join(self.modalities)}: use rgb plus any of ir, depth, e.g. 'rgb,ir,depth'")
        if self.image_format not in IMAGE_FORMATS:
            raise ValueError(f"image_format={self.image_format!r}: use one of {', '.join(IMAGE_FORMATS)}")
        if min(self.sessions, self.live_per_session) < 1 or self.attacks_per_session < 0:
            raise ValueError("sessions and live_per_session must be >= 1 and attacks_per_session >= 0")


def split_subjects(n: int, seed: int, fractions: Sequence[float] = (0.6, 0.2, 0.2)) -> list[str]:
    """Split of each subject index (train/dev/test), disjoint by subject, each split non-empty for n >= 3."""
    order = rng_for(seed, 0).permutation(n)
    n_dev = max(1, int(round(n * fractions[1])))
    n_test = max(1, int(round(n * fractions[2])))
    n_train = n - n_dev - n_test
    if n_train < 1:
        raise ValueError(f"{n} subjects cannot fill train/dev/test; use at least 3")
    out = [""] * n
    for rank, idx in enumerate(order):
        out[idx] = "train" if rank < n_train else ("dev" if rank < n_train + n_dev else "test")
    return out


def _species_cycle(species: Sequence[str], seed: int) -> list[str]:
    cycle = [name for name in species for _ in range(SPECIES[name].weight)]
    return [cycle[i] for i in rng_for(seed, 4).permutation(len(cycle))]


def plan_videos(settings: GeneratorSettings, subject_names: Sequence[str] | None = None) -> list[VideoSpec]:
    """The clips of a dataset: per subject and session, live clips and attack clips (species cycled)."""
    species = list(settings.species) or resolve_species(None)
    cycle = _species_cycle(species, settings.seed)
    splits = split_subjects(settings.subjects, settings.seed, settings.split_fractions)
    domains = domain_names()
    names = list(subject_names) if subject_names is not None else [f"s{i:03d}" for i in range(settings.subjects)]
    specs: list[VideoSpec] = []
    attack_i = 0
    for subj in range(settings.subjects):
        for ses in range(settings.sessions):
            domain = domains[int(rng_for(settings.seed, 5, subj, ses).integers(len(domains)))]
            kinds = [BONAFIDE] * settings.live_per_session
            for _ in range(settings.attacks_per_session):
                kinds.append(cycle[attack_i % len(cycle)])
                attack_i += 1
            for vid, kind in enumerate(kinds):
                specs.append(
                    VideoSpec(
                        subject=names[subj],
                        session=str(ses + 1),
                        video=f"{names[subj]}_{ses + 1}_{vid:02d}",
                        species=kind,
                        domain=domain,
                        split=splits[subj],
                        keys=(subj, ses + 1, vid),
                    )
                )
    return specs


def manifest_columns(modalities: Sequence[str]) -> list[str]:
    """Columns of the written manifest, in order."""
    cols = list(MANIFEST_COLUMNS)
    cols += [f"{m}_path" for m in ("ir", "depth") if m in modalities]
    return cols + list(BOX_COLUMNS) + list(ATTRIBUTES)


def write_clip(clip: Clip, spec: VideoSpec, root: Path, image_format: str) -> list[dict]:
    """Write a clip's frames under ``root/<subject>/<video>/`` and return its manifest rows."""
    folder = root / spec.subject / spec.video
    folder.mkdir(parents=True, exist_ok=True)
    rel = f"{spec.subject}/{spec.video}"
    rows = []
    params = [cv2.IMWRITE_JPEG_QUALITY, clip.jpeg_quality] if image_format == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 1]
    for t, rgb in enumerate(clip.rgb):
        name = f"rgb_{t:02d}.{image_format}"
        _write(folder / name, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
        row = {
            "path": f"{rel}/{name}",
            "label": BONAFIDE if spec.species == BONAFIDE else ATTACK,
            "pai": spec.species,
            "subject": spec.subject,
            "session": spec.session,
            "video": spec.video,
            "frame": t,
            "domain": spec.domain,
            "split": spec.split,
        }
        for modality, frames in (("ir", clip.ir), ("depth", clip.depth)):
            if frames is not None:
                mname = f"{modality}_{t:02d}.png"
                _write(folder / mname, frames[t], [cv2.IMWRITE_PNG_COMPRESSION, 1])
                row[f"{modality}_path"] = f"{rel}/{mname}"
        for col, v in zip(BOX_COLUMNS, clip.boxes[t], strict=True):
            row[col] = round(v, 1)
        row.update(clip.attributes)
        rows.append(row)
    return rows


def _write(path: Path, img: np.ndarray, params: list[int]) -> None:
    ok, buf = cv2.imencode(path.suffix, img, params)
    if not ok:
        raise OSError(f"could not encode {path}")
    path.write_bytes(buf.tobytes())


@dataclass(frozen=True)
class _Job:
    specs: tuple[VideoSpec, ...]
    root: str
    settings: GeneratorSettings


def _run_job(job: _Job) -> list[dict]:
    rows: list[dict] = []
    st = job.settings
    photo_rigs: dict[str, object] = {}
    for spec in job.specs:
        rig = None
        if spec.photo is not None:
            if spec.photo not in photo_rigs:
                from antispoof.data.synthetic.photo_rig import photo_rig

                photo_rigs[spec.photo] = photo_rig(spec.photo, st.size)
            rig = photo_rigs[spec.photo]
        clip = render_clip(
            spec, seed=st.seed, size=st.size, frames=st.frames, modalities=st.modalities, difficulty=st.difficulty, photo_rig=rig
        )
        rows.extend(write_clip(clip, spec, Path(job.root), st.image_format))
    return rows


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cv2.setNumThreads(1)


def render_specs(
    specs: Sequence[VideoSpec],
    root: Path,
    settings: GeneratorSettings,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """Render and write every clip; ``progress`` is called with the number of frames just written."""
    groups: dict[str, list[VideoSpec]] = {}
    for spec in specs:  # one job per subject keeps the face rigs cached in one process
        groups.setdefault(spec.subject, []).append(spec)
    jobs = [_Job(tuple(g), str(root), settings) for g in groups.values()]
    rows: list[dict] = []
    if workers <= 1:
        for job in jobs:
            rows.extend(_run_job(job))
            if progress:
                progress(len(job.specs) * settings.frames)
    else:
        # "spawn": a forked child can deadlock on locks held by the parent's threads (seen once under pytest).
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, mp_context=context) as pool:
                for job, part in zip(jobs, pool.map(_run_job, jobs), strict=True):
                    rows.extend(part)
                    if progress:
                        progress(len(job.specs) * settings.frames)
        except BrokenProcessPool as err:
            raise RuntimeError(
                "a generator worker process died. Worker processes are started with 'spawn', which re-imports "
                "your main script: call generate_dataset under `if __name__ == \"__main__\":`, or use workers=1"
            ) from err
    rows.sort(key=lambda r: (r["subject"], int(r["session"]), r["video"], r["frame"]))
    return rows


def write_manifest(rows: Iterable[dict], root: Path, modalities: Sequence[str]) -> Path:
    """Write ``manifest.csv`` (columns of :func:`manifest_columns`) and return its path."""
    path = root / MANIFEST_NAME
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=manifest_columns(modalities), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_settings(root: Path, settings: GeneratorSettings, rows: Sequence[dict], extra: dict | None = None) -> Path:
    """Record how the folder was made in ``synth.json``."""
    from antispoof import __version__

    counts: dict[str, int] = {}
    for r in rows:
        counts[r["pai"]] = counts.get(r["pai"], 0) + 1
    species = list(settings.species) or resolve_species(None)
    info = {
        "generator": "antispoof.data.synthetic",
        "antispoof_version": __version__,
        "format_version": FORMAT_VERSION,
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()},
        "species": {n: {"family": SPECIES[n].family, "surface": SPECIES[n].surface, "surf_type": SPECIES[n].surf_type} for n in species},
        "domains": domain_names(),
        "frames_per_species": dict(sorted(counts.items())),
        **(extra or {}),
    }
    path = root / SETTINGS_NAME
    path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def generate_dataset(
    out_dir: str | Path,
    *,
    subjects: int = 40,
    frames: int = 8,
    size: int = 128,
    seed: int = 0,
    modalities: Sequence[str] = ("rgb",),
    species: str | Sequence[str] | None = None,
    difficulty: float = 0.5,
    workers: int = 1,
    image_format: str = "jpg",
    show_progress: bool = False,
) -> Path:
    """Generate a synthetic dataset folder and return the path of its ``manifest.csv``.

    ``species`` takes names or wildcards (``"replay_*"``); all attack species when None.
    The output depends only on the arguments other than ``workers`` and ``show_progress``.
    """
    settings = GeneratorSettings(
        subjects=int(subjects),
        frames=int(frames),
        size=int(size),
        seed=int(seed),
        modalities=tuple(dict.fromkeys(modalities)),
        species=tuple(resolve_species(species)),
        difficulty=float(difficulty),
        image_format=image_format,
    )
    settings.check()
    root = Path(out_dir)
    _prepare_folder(root)
    specs = plan_videos(settings)
    rows = _render_with_progress(specs, root, settings, workers, show_progress, "synthesising")
    manifest = write_manifest(rows, root, settings.modalities)
    write_settings(root, settings, rows)
    logger.info("wrote %d frames of %d clips to %s", len(rows), len(specs), manifest)
    return manifest


def _prepare_folder(root: Path) -> None:
    if root.exists() and any(root.iterdir()) and not (root / MANIFEST_NAME).exists():
        raise ValueError(
            f"{root} exists, is not empty and holds no {MANIFEST_NAME}; choose an empty or new folder "
            "(a previous synthetic folder is overwritten)"
        )
    root.mkdir(parents=True, exist_ok=True)


def _render_with_progress(specs, root, settings, workers, show_progress, label) -> list[dict]:
    total = len(specs) * settings.frames
    if not show_progress:
        return render_specs(specs, root, settings, workers)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(label, total=total)
        return render_specs(specs, root, settings, workers, progress=lambda n: bar.advance(task, n))
