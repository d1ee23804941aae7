"""``antispoof evaluate``: score a trained run on a dataset protocol and write the metrics report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)


def evaluate_command(
    run: Path = typer.Argument(..., help="Run folder made by `antispoof train` or `antispoof distill`, or a grid of runs "
                               "(`train ... folds=attack` or `seeds=[0,1]`: each finished run is evaluated)."),
    dataset: str = typer.Option(None, "--dataset", help="Dataset name (default: the run's own)."),
    root: Path = typer.Option(None, "--root", help="Dataset root folder (default: the run's own for its dataset)."),
    protocol: str = typer.Option(None, "--protocol", help="Protocol, or a family of folds (Protocol_3 runs Protocol_3_1..6)."),
    split: str = typer.Option("test", "--split", help="Split to evaluate: test (default) or dev."),
    threshold: str = typer.Option("eer", "--threshold", help="Rule picking the threshold on dev: eer, min-hter, bpcer@apcer=0.01, oracle, or a number (for a bundle also: card)."),
    aggregate: str = typer.Option("mean", "--aggregate", help="Per-video aggregation of frame scores: mean, median, min, vote=0.5, none."),
    store: Path = typer.Option(None, "--store", help="A prepared frame store to read instead of preparing into the cache."),
    out: Path = typer.Option(None, "--out", help="Output folder (default RUN/eval/<dataset>-<protocol>-<split>; "
                             "for a grid, one sub-folder per run)."),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch", help="Go on with a store prepared unlike the model's "
                                        "training data (another face source, crop scale, geometry, alignment or views)."),
) -> None:
    """Per-frame score CSVs, per-video metrics at a dev-set threshold, report.json/report.md, ROC and DET plots.

    RUN may also be a bundle with no training run (`antispoof import ...`): --dataset/--root are scored
    through the Predictor, at the threshold --threshold chooses on dev, or the card's own with --threshold card.
    """
    from antispoof.inference.card import CARD_FILE

    if (run / CARD_FILE).is_file() and not (run / "config.yaml").is_file():
        from antispoof.inference.calibrate_bundle import evaluate_bundle

        if dataset is None or root is None:
            raise ValueError(f"{run} is a bundle with no training run: give the data to evaluate on (--dataset NAME --root DIR)")
        rule = threshold
        report, path = evaluate_bundle(run, dataset=dataset, root=root, protocol=protocol, split=split, threshold=rule, out=out)
        m = report.to_dict()
        typer.echo(f"ACER {100 * m['acer']:.2f}%, APCER {100 * m['apcer']:.2f}%, BPCER {100 * m['bpcer']:.2f}%, AUC {m['auc']:.4f} "
                   f"at threshold {m['threshold']:.6g} ({rule})")
        typer.echo(f"report: {path}")
        return
    from antispoof.training.evaluation import evaluate_grid, evaluate_run, is_grid

    options = dict(dataset=dataset, root=root, protocol=protocol, split=split, threshold=threshold, aggregate=aggregate,
                   store=store, allow_mismatch=allow_mismatch,
                   progress=sys.stdout.isatty())  # off a terminal a finished bar leaves only a blank line
    if is_grid(run):  # a grid made by `antispoof train CONFIG folds=... / seeds=[...]`: each run on its own
        results, unfinished = evaluate_grid(run, out=out, **options)
        for name, result in results:
            typer.echo(f"{name}: {_summary(result)}; report: {result.out_dir / 'report.md'}")
        if unfinished:
            typer.echo(f"not evaluated (not finished): {', '.join(unfinished)}; finish them by running the grid's "
                       "`antispoof train` command again")
        return
    result = evaluate_run(run, out=out, **options)
    typer.echo(_summary(result))
    typer.echo(f"report: {result.out_dir / 'report.md'}")


def _summary(result: Any) -> str:
    """``ACER x%, HTER ..., AUC y (threshold rule r)``: one line of a run's evaluation."""
    data = result.to_dict()
    summary = data.get("mean", data)
    std = data.get("std")
    parts = []
    for key in ("acer", "hter", "apcer", "bpcer", "auc"):
        if key in summary:
            value = summary[key] * (1 if key == "auc" else 100)
            unit = "" if key == "auc" else "%"
            dev = f" +- {std[key] * (1 if key == 'auc' else 100):.2f}" if std and key in std else ""
            parts.append(f"{key.upper()} {value:.2f}{dev}{unit}")
    return ", ".join(parts) + (f" (threshold rule {data['threshold_rule']})" if "threshold_rule" in data else "")
