"""Seed 001's two comparisons on synthetic RGB + IR + Depth data: modalities (Table 5) and initialisations (Table 3).

One folder of generated data and one frame store; every row trains the packaged
``quickstart_multimodal`` config with its row's overrides (plus the table's own, e.g.
fewer epochs) and is evaluated on the held-out test subjects at the dev EER threshold:
ACER, AUC and TPR at FPR 1e-2 / 1e-3 / 1e-4 (video units, frame scores averaged).

Rows:

- ``rgb+ir+depth``: the three modalities (the quickstart's config, with its modality dropout);
- ``rgb x3``, ``ir x3``, ``depth x3``: one modality in all three branches (the paper's
  Sec. 5.10 ablation; no modality dropout: there is nothing to drop);
- ``rgb+ir+depth -> rgb+ir`` and ``-> rgb``: the first row's model given fewer inputs
  (:func:`antispoof.methods.multimodal.with_inputs`; the absent branches read zeros),
  evaluated without training again: what modality dropout buys;
- ``face-id init``: the first row started from ``antispoof pretrain face-id`` weights (the
  train split's bona fide frames, subjects as classes), against its random start;
- ``rgb x3, face-id init``: the ``rgb x3`` row from the same weights. On synthetic data
  the three fused modalities leave no error to remove, so the initialisations are also
  compared where RGB alone has to do the work (our addition; the pretraining runs once);
- ``ImageNet init``: not available (no ImageNet weights of the face ResNet exist, and none
  of any ResNet are on disk); the row says so.

``antispoof study multimodal-table --out DIR [--rows ROW ...] [key=value ...]``
writes ``DIR/table.md`` and ``DIR/table.json``; a row that finished with the same
overrides is kept when the command runs again on the same folder.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

__all__ = ["ROWS", "run_table"]

log = logging.getLogger(__name__)

#: name -> (kind, overrides): kind "train" trains the config with the overrides; "narrow" evaluates the
#: first row with fewer inputs; "face_id" pretrains then trains; "unavailable" writes its reason.
ROWS: dict[str, tuple[str, list[str]]] = {
    "rgb+ir+depth": ("train", []),
    "depth x3": ("train", ["multimodal.branches=[depth,depth,depth]", "multimodal.modality_dropout=0"]),
    "ir x3": ("train", ["multimodal.branches=[ir,ir,ir]", "multimodal.modality_dropout=0"]),
    "rgb x3": ("train", ["multimodal.branches=[rgb,rgb,rgb]", "multimodal.modality_dropout=0"]),
    "rgb+ir+depth -> rgb+ir": ("narrow", ["rgb", "ir"]),
    "rgb+ir+depth -> rgb": ("narrow", ["rgb"]),
    "face-id init": ("face_id", []),
    "rgb x3, face-id init": ("face_id", ["multimodal.branches=[rgb,rgb,rgb]", "multimodal.modality_dropout=0"]),
    "ImageNet init": ("unavailable", []),
}
CONFIG = "quickstart_multimodal"
UNAVAILABLE = ("no ImageNet weights of seed 001's face ResNet exist (it is not an ImageNet architecture), and no "
               "ImageNet ResNet weights are on disk or in a package here")


def run_table(out: str | Path, *, rows: list[str] | None = None, overrides: list[str] | tuple[str, ...] = (),
              face_id_overrides: list[str] | tuple[str, ...] = (), seed: int = 0, subjects: int = 100, frames: int = 2,
              source_size: int = 192, workers: int = 2, progress: bool = False,
              from_quickstart: str | Path | None = None) -> dict[str, Any]:
    """Train, narrow and evaluate the ``rows`` (default: all of :data:`ROWS`, in order); returns ``table.json``'s content.

    ``from_quickstart``: the folder of an ``antispoof quickstart --method multimodal`` run whose
    generated data the rows read (and its frame store, when its crops have the rows' size).
    """
    from antispoof.data.prepare import INDEX_FILE
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.methods import load_method_config, method_class
    from antispoof.training.quickstart import prepare_synthetic_store

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = list(rows or ROWS)
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        raise ValueError(f"unknown rows {unknown}; the rows are {', '.join(ROWS)}")
    common = [f"seed={seed}", f"train.progress={str(progress).lower()}", *overrides]
    base = load_method_config(CONFIG, common)
    spec = method_class("multimodal").input_spec_for(base)
    data, store = out / "data", out / f"store_{spec.crop_size}"
    if from_quickstart is not None:
        data = Path(from_quickstart) / "data"
        settings = json.loads((Path(from_quickstart) / "store" / "settings.json").read_text(encoding="utf-8"))
        if int(settings.get("size", 0)) == spec.crop_size:
            store = Path(from_quickstart) / "store"
        had = json.loads((data / "synth.json").read_text(encoding="utf-8"))["settings"]
        if had["seed"] != seed or had["subjects"] != subjects or had["frames"] != frames:
            raise ValueError(f"{from_quickstart} holds data of seed {had['seed']}, {had['subjects']} subjects, {had['frames']} "
                             "frames per video; give --seed and --subjects to match")
    if not (data / "manifest.csv").is_file():
        generate_dataset(data, subjects=subjects, frames=frames, size=source_size, seed=seed, modalities=("rgb", "ir", "depth"),
                         difficulty=0.0, workers=workers, show_progress=progress)  # the quickstart's data
    if not (store / INDEX_FILE).is_file():
        prepare_synthetic_store(data, store, crop_size=spec.crop_size, frames=frames, workers=workers, progress=progress)
    table = _read(out)
    data_args = [f"data.root={data}", f"data.store={store}"]
    for name in rows:
        kind, extra = ROWS[name]
        key = json.dumps([kind, extra, common, list(face_id_overrides) if kind == "face_id" else []])
        if name in table and table[name].get("key") == key and "error" not in table[name]:
            log.info("multimodal table: %s already done", name)
            continue
        start = time.perf_counter()
        row: dict[str, Any] = {"key": key, "overrides": [*extra, *common] if kind != "narrow" else [], "kind": kind}
        try:
            if kind == "unavailable":
                row["unavailable"] = UNAVAILABLE
            elif kind == "train":
                row.update(_train_and_evaluate(out, name, [*data_args, *extra, *common], store, progress))
            elif kind == "narrow":
                row.update(_narrow_and_evaluate(out, name, table, extra, store, progress))
            else:
                weights = _pretrain_face_id(out, [*data_args, *common, *face_id_overrides], base, face_id_overrides)
                row["face_id_weights"] = str(weights)
                row.update(_train_and_evaluate(out, name, [*data_args, *extra, *common, f"model.weights={weights}"], store,
                                               progress))
        except Exception as err:  # one failed row writes its error; the table goes on
            log.exception("multimodal table: %s failed", name)
            row["error"] = f"{type(err).__name__}: {err}"
        row["seconds"] = round(time.perf_counter() - start, 1)
        table[name] = row
        _write(out, table, common, subjects, seed)
    return _write(out, table, common, subjects, seed)


def _folder(name: str) -> str:
    return name.replace("+", "_").replace(",", "").replace(" ", "_").replace("->", "to").replace("__", "_")


def _metrics(result: Any) -> dict[str, Any]:
    full = result.to_dict()
    return {k: full[k] for k in ("acer", "apcer", "bpcer", "auc", "eer", "threshold", "tpr_at_fpr") if k in full}


def _train_and_evaluate(out: Path, name: str, overrides: list[str], store: Path, progress: bool) -> dict[str, Any]:
    from antispoof.methods import load_method_config
    from antispoof.training.evaluation import evaluate_run
    from antispoof.training.runner import train_or_resume

    run = out / "runs" / _folder(name)
    config = load_method_config(CONFIG, overrides)
    train_or_resume(config, run)
    result = evaluate_run(run, store=store, out=out / "eval" / _folder(name), threshold="eer", progress=progress)
    return {"run": str(run), **_metrics(result)}


def _narrow_and_evaluate(out: Path, name: str, table: dict[str, Any], inputs: list[str], store: Path,
                         progress: bool) -> dict[str, Any]:
    from antispoof.methods.multimodal import with_inputs
    from antispoof.training.evaluation import evaluate_run

    source = table.get("rgb+ir+depth", {})
    if "run" not in source:
        raise ValueError("the rgb+ir+depth row must be trained first (its model is the one given fewer inputs)")
    run = with_inputs(source["run"], inputs, out / "runs" / _folder(name), overwrite=True)
    result = evaluate_run(run, store=store, out=out / "eval" / _folder(name), threshold="eer", progress=progress)
    return {"run": str(run), "from": source["run"], **_metrics(result)}


def _pretrain_face_id(out: Path, overrides: list[str], base: Any, face_id_overrides: list[str] | tuple[str, ...] = ()) -> Path:
    """``antispoof pretrain face-id`` on the store's train split (bona fide frames), at the rows' width and input size."""
    from antispoof.methods import load_method_config
    from antispoof.methods.face_id import BACKBONE_FILE
    from antispoof.training.runner import train_or_resume

    # the rows' data and seed; not their train.* schedule (the pretraining has its own: configs/face_id.yaml, --face-id)
    keep = [o for o in overrides if o.startswith(("seed=", "data.", "train.progress=")) or o in face_id_overrides]
    shape = [f"model.width={base.model.width}", f"model.layers={list(base.model.layers)}".replace(" ", ""),
             f"data.image_size={base.data.image_size}", f"data.crop_size={base.data.crop_size}"]
    config = load_method_config("face_id", [*shape, *keep])
    run = out / "runs" / "face_id_pretraining"
    done = run / "table_overrides.json"  # the rows that start from face-id weights share one pretraining
    key = json.dumps([*shape, *keep])
    if (run / BACKBONE_FILE).is_file() and done.is_file() and done.read_text(encoding="utf-8") == key:
        log.info("multimodal table: reusing the face-id pretraining in %s", run)
        return run / BACKBONE_FILE
    train_or_resume(config, run)
    done.write_text(key, encoding="utf-8")
    return run / BACKBONE_FILE


def _read(out: Path) -> dict[str, Any]:
    path = out / "table.json"
    if not path.is_file():
        return {}
    return {r["name"]: r for r in json.loads(path.read_text(encoding="utf-8")).get("rows", [])}


def _write(out: Path, table: dict[str, Any], common: list[str], subjects: int, seed: int) -> dict[str, Any]:
    order = [n for n in ROWS if n in table]
    content = {"config": CONFIG, "overrides": common, "subjects": subjects, "seed": seed,
               "threshold_rule": "eer on the dev split, applied to the test split",
               "rows": [{"name": n, **table[n]} for n in order]}
    (out / "table.json").write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    (out / "table.md").write_text(_markdown(content), encoding="utf-8")
    return content


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _markdown(content: dict[str, Any]) -> str:
    lines = [f"Synthetic RGB + IR + Depth data ({content['subjects']} subjects, seed {content['seed']}), config "
             f"`{content['config']}` with `{' '.join(content['overrides'])}`; threshold: {content['threshold_rule']}.", "",
             "| row | ACER | AUC | TPR@FPR 1e-2 | TPR@FPR 1e-3 | TPR@FPR 1e-4 | train + eval (s) |",
             "|---|---|---|---|---|---|---|"]
    for r in content["rows"]:
        if "unavailable" in r:
            lines.append(f"| {r['name']} | not available: {r['unavailable']} | | | | | |")
        elif "error" in r:
            lines.append(f"| {r['name']} | failed: {r['error']} | | | | | |")
        else:
            tpr = r.get("tpr_at_fpr", {})
            lines.append(f"| {r['name']} | {_pct(r['acer'])} | {r['auc']:.3f} | {_pct(tpr.get('1e-2'))} | "
                         f"{_pct(tpr.get('1e-3'))} | {_pct(tpr.get('1e-4'))} | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"
