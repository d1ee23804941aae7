"""Calibrate a bundle that has no training run (an imported one) on a dataset's dev split, through the Predictor.

:func:`~antispoof.inference.calibrate.calibrate_run` scores a run's frame store; a bundle
made by ``antispoof import`` has no run, and a network that reads several views of the
face cut from the whole frame (the Silent-Face ensemble) cannot be scored from a store's
single crops. :func:`calibrate_bundle` therefore scores every video or image of the split
with the :class:`~antispoof.inference.predictor.Predictor` itself (the bundle's detector,
crops, sampling and aggregation: exactly what deployment does), chooses the threshold
for ``target`` with :func:`antispoof.metrics.calibration.dev_threshold`, which refuses a target finer than the
split resolves unless ``allow_coarse``, and writes the threshold, its rule and the dev
metrics into the card (re-signed). :func:`evaluate_bundle` scores a test split the same
way and reports its metrics at the card's threshold or at one chosen on dev. Presentations
without a usable face are failures to acquire, counted apart.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

__all__ = ["calibrate_bundle", "evaluate_bundle", "score_dataset", "split_rows"]

log = logging.getLogger(__name__)


def split_rows(dataset: str, root: str | Path, protocol: str | None, split: str) -> Any:
    """The rows of ``split``; refused when there are none, with where such files go (the folder dataset's example tree)."""
    from antispoof.data import open_dataset

    adapter = open_dataset(dataset, root)
    rows = adapter.samples(protocol, split)
    if len(rows) == 0:
        if hasattr(adapter, "missing_split"):
            raise ValueError(adapter.missing_split(split))
        raise ValueError(f"{dataset} at {root} has no {split!r} samples (protocol {protocol or 'default'}); "
                         "list them with `antispoof data list`")
    return rows


def score_dataset(predictor: Any, dataset: str, root: str | Path, protocol: str | None, split: str) -> Any:
    """A :class:`~antispoof.metrics.ScoreSet` of one score per video or image of ``split``, scored by ``predictor``."""
    import numpy as np

    from antispoof.data.base import BONAFIDE
    from antispoof.metrics import ScoreSet

    rows = split_rows(dataset, root, protocol, split)
    base = Path(root)
    scores, failed, reasons = [], [], []
    for row in rows.itertuples(index=False):
        folder = Path(getattr(row, "root", "") or base)
        result = predictor.predict_path(folder / row.path)
        scores.append(np.nan if result.score is None else float(result.score))
        failed.append(result.score is None)
        reasons.append(result.reasons[0] if result.score is None and result.reasons else "")
    return ScoreSet.from_arrays(
        np.asarray(scores, dtype=np.float64), (rows["label"] == BONAFIDE).to_numpy(), pai=rows["pai"].astype(str).to_numpy(),
        video=rows["video"].astype(str).to_numpy(), subject=rows["subject"].astype(str).to_numpy(),
        failed_to_acquire=np.asarray(failed), fta_reason=np.asarray(reasons), source=f"{dataset} split={split}",
    )


def calibrate_bundle(
    bundle_dir: str | Path,
    *,
    dataset: str,
    root: str | Path,
    protocol: str | None = None,
    split: str = "dev",
    target: str = "bpcer@apcer=0.01",
    out: str | Path | None = None,
    allow_coarse: bool = False,
    threads: int | None = None,
) -> Path:
    """Choose ``bundle_dir``'s threshold on ``split`` of a dataset and write it into the card (of ``out``, a copy, when given)."""
    from antispoof.inference.bundle import Bundle
    from antispoof.inference.calibrate import staged_folder
    from antispoof.metrics.calibration import calibration_rule

    rule = calibration_rule(target, split)
    source = Path(bundle_dir)
    copy = out is not None and Path(out).resolve() != source.resolve()
    if copy and Path(out).exists():
        raise FileExistsError(f"{out} exists; choose another --out or delete it")
    split_rows(dataset, root, protocol, split)  # a wrong layout or a missing split is refused before the model loads
    if not copy:  # in place: the card is rewritten only once the threshold is chosen
        return _calibrate(Bundle.load(source), dataset, root, protocol, split, rule, allow_coarse, threads, source)
    with staged_folder(out) as tmp:  # --out appears only when calibration succeeds
        shutil.copytree(source, tmp, dirs_exist_ok=True)
        _calibrate(Bundle.load(tmp), dataset, root, protocol, split, rule, allow_coarse, threads, Path(out))
    return Path(out)


def _calibrate(bundle: Any, dataset: str, root: str | Path, protocol: str | None, split: str, rule: Any,
               allow_coarse: bool, threads: int | None, name: Path) -> Path:
    """Score ``split`` with ``bundle``'s Predictor and write the threshold chosen for ``rule`` into its card (``name`` is logged)."""
    from antispoof.inference.card import ThresholdSpec
    from antispoof.inference.predictor import Predictor
    from antispoof.metrics.calibration import dev_threshold

    predictor = Predictor(bundle, threads=threads)
    scores = score_dataset(predictor, dataset, root, protocol, split)
    report, problem = dev_threshold(scores, rule, bundle.card.aggregation, allow_coarse)
    card = bundle.card
    previous = card.threshold
    notes = [n for n in card.notes if "source's default decision rule" not in n]
    notes.append(f"threshold calibrated by `antispoof calibrate` ({rule}) on {dataset} {protocol or 'default protocol'} "
                 f"{split}; it replaced {previous.value:g} ({previous.rule})"
                 + (f"; {problem}" if problem else ""))
    threshold = ThresholdSpec.from_report(report, rule, split, f"{dataset} {protocol or 'default protocol'}")
    bundle.save_card(card.model_copy(update={"threshold": threshold, "notes": notes}))
    log.info("calibrated %s on %s %s: threshold %.6g (%s); APCER %.4f BPCER %.4f", name, dataset, split,
             report.threshold, rule, report.apcer, report.bpcer)
    return bundle.path


def evaluate_bundle(
    bundle_dir: str | Path,
    *,
    dataset: str,
    root: str | Path,
    protocol: str | None = None,
    split: str = "test",
    threshold: str = "card",
    out: str | Path | None = None,
    threads: int | None = None,
) -> tuple[Any, Path]:
    """``(metrics report, report.json path)`` of ``split`` scored by the bundle's Predictor.

    ``threshold``: ``card`` (the bundle's own), a number, or a rule chosen on the dev split.
    """
    import json

    from antispoof.inference.bundle import Bundle
    from antispoof.inference.predictor import Predictor
    from antispoof.metrics import evaluate

    bundle = Bundle.load(bundle_dir)
    predictor = Predictor(bundle, threads=threads)
    test = score_dataset(predictor, dataset, root, protocol, split)
    if threshold == "card":
        report = evaluate(test, threshold=bundle.card.threshold.value, aggregate=bundle.card.aggregation)
    else:
        try:
            value: Any = float(threshold)
            dev = None
        except ValueError:
            value, dev = threshold, score_dataset(predictor, dataset, root, protocol, "dev")
        report = evaluate(test, dev, threshold=value, aggregate=bundle.card.aggregation)
    folder = Path(out) if out is not None else Path("runs") / f"eval-{Path(bundle_dir).name}-{dataset}-{split}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.json"
    data = {"bundle": str(Path(bundle_dir).resolve()), "dataset": dataset, "protocol": protocol, "split": split,
            "threshold_from": threshold, **report.to_dict()}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return report, path
