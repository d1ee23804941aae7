"""The benchmark's data and its two steps per model: train a method's run, score a run or a bundle on dev and test.

See :mod:`antispoof.studies.benchmark` for the protocol and the table.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BenchmarkData", "train_entry", "score_entry"]

log = logging.getLogger(__name__)

MODALITY_ORDER = ("rgb", "ir", "depth")
#: the quickstart's data: the packaged quickstart configs were tuned on it (192 px sources, difficulty 0)
DIFFICULTY = 0.0
QUICKSTART_FRAMES = 2  # frames per video when a config names none, as the quickstart generates


@dataclass
class BenchmarkData:
    """The generated dataset every model of a benchmark reads, and its frame stores (one per crop size, made on demand)."""

    root: Path
    frames: int
    workers: int = 2
    progress: bool = True
    stores: dict[tuple[int, int], Path] = field(default_factory=dict)
    domain_of: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, out: Path, entries: Sequence[Any], *, seed: int, subjects: int, workers: int = 2,
               progress: bool = True) -> BenchmarkData:
        """Generate (or reuse, when made with the same settings) the data under ``out/data`` for ``entries``."""
        import pandas as pd

        from antispoof.data.synthetic.writer import generate_dataset

        needs = [n for n in (_needs_or_none(e) for e in entries) if n is not None]
        modalities = [m for m in MODALITY_ORDER if any(m in spec.names for spec, _ in needs)] or ["rgb"]
        frames = max([QUICKSTART_FRAMES, *(f for _, f in needs)])
        root = out / "data"
        wanted = {"subjects": subjects, "frames": frames, "seed": seed, "modalities": modalities, "difficulty": DIFFICULTY}
        if (root / "synth.json").is_file():
            had = json.loads((root / "synth.json").read_text(encoding="utf-8")).get("settings", {})
            got = {"subjects": had.get("subjects"), "frames": had.get("frames"), "seed": had.get("seed"),
                   "modalities": list(had.get("modalities", ["rgb"])), "difficulty": had.get("difficulty")}
            if got != wanted:
                raise ValueError(f"{root} holds data generated with other settings ({got}; this benchmark needs {wanted}); "
                                 "give another --out folder")
        else:
            log.info("benchmark: generating %d synthetic subjects (%s, %d frames per video) into %s", subjects,
                     "+".join(modalities), frames, root)
            generate_dataset(root, subjects=subjects, frames=frames, size=192, seed=seed, modalities=modalities, difficulty=DIFFICULTY,
                             workers=workers, show_progress=progress)
        manifest = pd.read_csv(root / "manifest.csv", usecols=["video", "domain"]).drop_duplicates("video")
        return cls(root, frames, workers, progress, domain_of=dict(zip(manifest["video"].astype(str), manifest["domain"].astype(str))))

    def store(self, crop: int, frames: int = 2) -> Path:
        """The frame store of ``crop`` px crops, ``frames`` evenly spaced frames per video (prepared on first use).

        Each method reads as many frames per video as its quickstart did (a clip method more),
        so that a per-frame method's training set does not grow with another method's clips.
        """
        from antispoof.data.prepare import INDEX_FILE
        from antispoof.training.quickstart import prepare_synthetic_store

        key = (crop, frames)
        if key not in self.stores:
            path = self.root.parent / f"store_{crop}px_{frames}f"
            if (path / INDEX_FILE).is_file():  # prepared by an earlier call on the same data
                self.stores[key] = path
            else:
                self.stores[key] = prepare_synthetic_store(self.root, path, crop_size=crop, frames=frames,
                                                           workers=self.workers, progress=self.progress)
        return self.stores[key]


def _needs_or_none(entry: Any) -> tuple[Any, int] | None:
    """``(input spec, frames per video)`` of a method entry; None for a bundle, or when its config cannot be read (its row will say why)."""
    if entry.bundle is not None or entry.config is None:
        return None
    try:
        return _needs(entry)
    except Exception as err:  # noqa: BLE001 - reported in the entry's own row when it trains
        log.warning("benchmark: cannot read the config of %s (%s); its row will fail", entry.name, err)
        return None


def _needs(entry: Any) -> tuple[Any, int]:
    """The entry's input spec, and the frames per video it reads: its config's ``data.frames_per_video``, at least one clip."""
    from antispoof.methods import load_method_config, method_class

    config = load_method_config(entry.config, list(entry.overrides))
    spec = method_class(config.model.method).input_spec_for(config)
    return spec, max(config.data.frames_per_video or QUICKSTART_FRAMES, spec.clip_len * spec.clip_stride)


def train_entry(entry: Any, protocol: Any, data: BenchmarkData, run_dir: Path, *, teacher: Path | None, epochs: int | None,
                seed: int, overrides: Sequence[str] = (), progress: bool = True) -> Path:
    """Train ``entry``'s method on ``data`` with the protocol's exclusions into ``run_dir``; returns the run folder.

    A run that finished there with the same config is kept, an interrupted or killed one resumes
    (:func:`~antispoof.training.runner.train_or_resume`)."""
    from antispoof.methods import load_method_config
    from antispoof.methods.entry_distill import distillation_config
    from antispoof.training.quickstart import packaged_weights
    from antispoof.training.runner import train_or_resume

    if entry.config is None:
        raise ValueError(f"method {entry.method!r} has no packaged config to benchmark it with; add "
                         f"configs/quickstart_{entry.method}.yaml (or configs/{entry.method}.yaml)")
    common = [f"seed={seed}", f"train.progress={str(progress).lower()}", *protocol.overrides,
              *([f"train.max_epochs={epochs}"] if epochs else []), *entry.overrides, *overrides]
    if teacher is not None:  # a student inherits its teacher's data keys, exclusions included
        config = distillation_config(teacher, entry.config, common)
    else:
        base = load_method_config(entry.config, common)
        spec, frames = _needs(entry)
        store = data.store(spec.crop_size, frames)
        weights = packaged_weights(base) if entry.packaged_weights else []
        config = load_method_config(entry.config, [f"data.root={data.root}", f"data.store={store}", *weights, *common])
    return train_or_resume(config, run_dir)[0]


def score_entry(entry: Any, run: Path | None, data: BenchmarkData, out_dir: Path, *, progress: bool = True) -> tuple[Any, Any]:
    """``(dev, test)`` frame score sets: a run through its frame store, a bundle through its Predictor on the raw frames."""
    from antispoof.metrics import read_scores, write_scores

    out_dir.mkdir(parents=True, exist_ok=True)
    if entry.bundle is None:
        from antispoof.methods import read_run_config
        from antispoof.training.evaluation import evaluate_run

        store = read_run_config(run).data.store
        evaluate_run(run, store=store, out=out_dir, threshold="eer", progress=progress)
        return read_scores(out_dir / "scores_dev.csv"), read_scores(out_dir / "scores_test.csv")
    from antispoof.inference.bundle import Bundle
    from antispoof.inference.calibrate_bundle import score_dataset
    from antispoof.inference.predictor import Predictor

    predictor = Predictor(Bundle.load(entry.bundle))
    sets = []
    for split in ("dev", "test"):
        scores = score_dataset(predictor, "manifest", data.root, None, split)
        write_scores(out_dir / f"scores_{split}.csv", scores)
        sets.append(scores)
    return sets[0], sets[1]
