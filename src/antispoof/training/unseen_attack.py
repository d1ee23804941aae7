"""Cross-attack generalisation on synthetic data: train without one attack family, test on it.

For every method and every family (replay, print, mask) one run trains on the generated
data with ``data.exclude_attacks=[<family>_*]`` (all species of the family leave train
*and* dev, so the dev-EER threshold is chosen without them), and is tested on the whole
test split. The test units (videos, frame scores averaged) are then cut in two:

- unseen: the bona fide units + the held-out family's attacks;
- seen: the bona fide units + the other families' attacks.

Each side gets HTER = (pooled APCER + BPCER) / 2 at the dev threshold, and AUC (threshold
free). The bona fide units, hence BPCER, are the same on both sides: the gap between the
two HTERs is the APCER gap. Each method trains with its packaged quickstart config
(``quickstart_<method>``, the entry teacher for ``entry``) on the same data and seed.

``python -m antispoof.training.unseen_attack --out DIR [--methods entry pdle lgsc]``
writes ``DIR/table.md``, ``DIR/table.json`` and ``DIR/unseen_attack.png``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["FAMILIES", "run_unseen_attack", "split_by_family", "main"]

log = logging.getLogger(__name__)

FAMILIES: tuple[str, ...] = ("replay", "print", "mask")


def split_by_family(units: Any, family: str, threshold: float) -> dict[str, dict[str, float]]:
    """``{"unseen": {...}, "seen": {...}}`` metrics of a ScoreSet of test units (see module doc)."""
    import numpy as np

    from antispoof.data.base import pai_class_of
    from antispoof.metrics import auc, far_frr

    scores, live = np.asarray(units.scores, dtype=float), np.asarray(units.is_bonafide, dtype=bool)
    in_family = np.array([pai_class_of(str(p)) == family for p in units.pai])
    out = {}
    for side, attacks in (("unseen", ~live & in_family), ("seen", ~live & ~in_family)):
        keep = live | attacks
        if not attacks.any():
            raise ValueError(f"the test split has no {side} attacks for family {family!r}")
        apcer, bpcer = far_frr(scores[keep], live[keep], threshold)
        out[side] = {"hter": (apcer + bpcer) / 2, "apcer": apcer, "bpcer": bpcer, "auc": auc(scores[keep], live[keep]),
                     "attacks": int(attacks.sum()), "bonafide": int(live.sum())}
    return out


def run_unseen_attack(
    out: str | Path,
    *,
    methods: Sequence[str] = ("entry", "pdle", "lgsc"),
    families: Sequence[str] = FAMILIES,
    seed: int = 0,
    subjects: int = 100,
    frames: int = 2,
    source_size: int = 192,
    overrides: Sequence[str] = (),
    configs: Mapping[str, str | Path] | None = None,
    workers: int = 2,
    progress: bool = True,
) -> dict[str, Any]:
    """Train and test every (method, held-out family); returns the content of ``table.json``.

    ``configs`` replaces a method's packaged quickstart config (a YAML path or a packaged name).
    """
    from antispoof.data.synthetic.writer import generate_dataset
    from antispoof.methods import load_method_config, method_class
    from antispoof.metrics import aggregate_videos, read_scores
    from antispoof.training.evaluation import evaluate_run
    from antispoof.training.quickstart import packaged_weights, prepare_synthetic_store, quickstart_configs
    from antispoof.training.runner import train

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown attack families {unknown}; the generator's families are {', '.join(FAMILIES)}")
    common = [f"seed={seed}", f"train.progress={str(progress).lower()}", *overrides]
    plans = {m: str((configs or {}).get(m) or quickstart_configs(m)[0][1]) for m in methods}
    data = out / "data"
    if not (data / "manifest.csv").is_file():
        log.info("unseen attack: generating %d synthetic subjects into %s", subjects, data)
        generate_dataset(data, subjects=subjects, frames=frames, size=source_size, seed=seed, workers=workers,
                         show_progress=progress)
    stores: dict[int, Path] = {}
    rows: list[dict[str, Any]] = []
    for method in methods:
        base = load_method_config(plans[method], common)
        crop = method_class(method).input_spec_for(base).crop_size
        if crop not in stores:
            stores[crop] = prepare_synthetic_store(data, out / f"store_{crop}", crop_size=crop, frames=frames,
                                                   workers=workers, progress=progress)
        for family in families:
            run_dir = out / "runs" / f"{method}-without-{family}"
            config = load_method_config(plans[method], [f"data.root={data}", f"data.store={stores[crop]}",
                                                        f"data.exclude_attacks=[{family}_*]", *packaged_weights(base),
                                                        *common])
            log.info("unseen attack: %s without %s attacks", method, family)
            start = time.perf_counter()
            row: dict[str, Any] = {"method": method, "config": plans[method], "held_out": family, "run": str(run_dir)}
            try:
                train(config, out=run_dir, overwrite=True)
                result = evaluate_run(run_dir, store=stores[crop], out=out / "eval" / run_dir.name, threshold="eer",
                                      progress=progress)
                units, _ = aggregate_videos(read_scores(result.out_dir / "scores_test.csv"), "mean")
                units = units.subset(~units.failed_to_acquire)
                row.update(threshold=result.report.threshold, **split_by_family(units, family, result.report.threshold))
            except Exception as err:  # one failed run writes its error in its row; the table goes on
                log.exception("unseen attack: %s without %s failed", method, family)
                row["error"] = f"{type(err).__name__}: {err}"
            row["seconds"] = round(time.perf_counter() - start, 1)
            rows.append(row)
            _write(out, rows, seed, subjects)
    return _write(out, rows, seed, subjects)


def _write(out: Path, rows: list[dict[str, Any]], seed: int, subjects: int) -> dict[str, Any]:
    table = {"protocol": "unseen attack family (synthetic)", "seed": seed, "subjects": subjects,
             "threshold_rule": "eer on the run's dev split (without the held-out family)",
             "aggregation": "mean of frame scores per video", "rows": rows}
    (out / "table.json").write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    (out / "table.md").write_text(_markdown(table), encoding="utf-8")
    _plot(rows, out / "unseen_attack.png")
    return table


def _markdown(table: dict[str, Any]) -> str:
    lines = [f"Unseen attack family, synthetic data ({table['subjects']} subjects, seed {table['seed']}); "
             f"threshold: {table['threshold_rule']}; {table['aggregation']}.", "",
             "| method | held out | HTER unseen | HTER seen | APCER unseen | APCER seen | BPCER | AUC unseen | AUC seen |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in table["rows"]:
        if "error" in r:
            lines.append(f"| {r['method']} | {r['held_out']} | failed: {r['error']} | | | | | | |")
            continue
        u, s = r["unseen"], r["seen"]
        lines.append(f"| {r['method']} | {r['held_out']} | {100 * u['hter']:.1f}% | {100 * s['hter']:.1f}% | "
                     f"{100 * u['apcer']:.1f}% | {100 * s['apcer']:.1f}% | {100 * u['bpcer']:.1f}% | "
                     f"{u['auc']:.3f} | {s['auc']:.3f} |")
    return "\n".join(lines) + "\n"


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Bars of HTER on seen vs unseen attacks, one group per (method, held-out family)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    done = [r for r in rows if "error" not in r]
    if not done:
        return
    x = np.arange(len(done))
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(done) + 1.5), 3.2), dpi=120)
    ax.bar(x - 0.2, [100 * r["seen"]["hter"] for r in done], 0.4, label="seen families")
    ax.bar(x + 0.2, [100 * r["unseen"]["hter"] for r in done], 0.4, label="held-out family")
    ax.set_xticks(x, [f"{r['method']}\n-{r['held_out']}" for r in done], fontsize=8)
    ax.set_ylabel("HTER on test (%)")
    ax.set_title("Unseen attack family (synthetic)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m antispoof.training.unseen_attack", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for data, stores, runs and the table")
    parser.add_argument("--methods", nargs="+", default=["entry", "pdle", "lgsc"], help="registered methods")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), help="attack families to hold out, one run each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subjects", type=int, default=100)
    parser.add_argument("overrides", nargs="*", help="key=value overrides for every run (e.g. train.max_epochs=2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    table = run_unseen_attack(args.out, methods=args.methods, families=args.families, seed=args.seed,
                              subjects=args.subjects, overrides=args.overrides)
    print(_markdown(table))


if __name__ == "__main__":
    main()
