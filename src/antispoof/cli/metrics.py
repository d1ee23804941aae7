"""``antispoof metrics``: ISO/IEC 30107-3 metrics of a score file, threshold from a dev score file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics_command)


def metrics_command(
    test: Path = typer.Option(..., "--test", help="Test score file (CSV: score,label[,pai,video,subject,frame,fta_reason])."),
    dev: Path = typer.Option(None, "--dev", help="Dev score file; the threshold is chosen on it."),
    threshold: str = typer.Option(
        None,
        "--threshold",
        help="eer | min-hter | bpcer@apcer=0.05 | apcer@bpcer=0.01 | oracle | a number. "
        "Default: eer with --dev, oracle (EER of the test set) without.",
    ),
    aggregate: str = typer.Option(
        "mean", "--aggregate", help="Per-video aggregation of frame scores: mean | median | min | trimmed-mean=0.1 | vote=0.5 | none."
    ),
    ci: float = typer.Option(None, "--ci", help="Add bootstrap intervals at this level (e.g. 0.95), resampling subjects."),
    n_resamples: int = typer.Option(1000, "--resamples", help="Bootstrap resamples for --ci."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
    convention: str = typer.Option(
        "bob",
        "--convention",
        help="bob (default: eer/min-hter exactly as bob.measure picks them) | exact (ties always to the higher "
        "threshold) | bob-pad (also bob.pad's bpcerXX/apcerXX thresholds).",
    ),
    json_path: Path = typer.Option(None, "--json", help="Write the report as JSON here ('-': to stdout, instead of the table)."),
    markdown_path: Path = typer.Option(None, "--markdown", help="Write the report as Markdown here."),
    plots: Path = typer.Option(None, "--plots", help="Write roc.png, det.png and scores_hist.png into this folder."),
) -> None:
    """Print APCER (per species, max, pooled), BPCER, ACER, HTER, EER, AUC and TPR at FPR for a score file."""
    from antispoof.metrics import evaluate, read_scores

    test_set = read_scores(test)
    dev_set = read_scores(dev) if dev is not None else None
    report = evaluate(test_set, dev_set, threshold=threshold, aggregate=aggregate, ci=ci, n_resamples=n_resamples, seed=seed, convention=convention)
    to_stdout = json_path is not None and str(json_path) == "-"
    if to_stdout:  # stdout holds the JSON alone, so it can be piped; the table and "wrote" lines go to stderr
        typer.echo(report.to_json())
    _print_report(report, stderr=to_stdout)
    if json_path is not None and not to_stdout:
        report.to_json(json_path)
        typer.echo(f"wrote {json_path}")
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(report.to_markdown(), encoding="utf-8")
        typer.echo(f"wrote {markdown_path}", err=to_stdout)
    if plots is not None:
        from antispoof.metrics.plots import plot_report

        for path in plot_report(test_set, report, plots):
            typer.echo(f"wrote {path}", err=to_stdout)


def _print_report(report: Any, stderr: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=stderr)
    ci = report.ci or {}
    table = Table(title=f"threshold {report.threshold:.6g} (rule {report.threshold_rule})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    if ci:
        table.add_column(f"{100 * ci['level']:g}% CI", justify="right")

    def row(name: str, key: str | None, value: float, percent: bool = True) -> None:
        text = f"{100 * value:.2f}%" if percent else f"{value:.6f}"
        cells = [name, text]
        if ci:
            bounds = ci.get(key) if key else None
            cells.append(
                "" if bounds is None else (f"[{100 * bounds[0]:.2f}%, {100 * bounds[1]:.2f}%]" if percent else f"[{bounds[0]:.4f}, {bounds[1]:.4f}]")
            )
        table.add_row(*cells)

    row("APCER (max over PAI)", "apcer", report.apcer)
    for species, value in report.apcer_per_pai.items():
        row(f"  APCER {species} (n={report.n_attack_per_pai.get(species, '?')})", None, value)
    row("APCER pooled", "apcer_pooled", report.apcer_pooled)
    row("BPCER", "bpcer", report.bpcer)
    row("ACER", "acer", report.acer)
    row("HTER", "hter", report.hter)
    row("EER (test)", "eer", report.eer)
    if report.eer_dev is not None:
        row("EER (dev)", None, report.eer_dev)
    row("AUC", "auc", report.auc, percent=False)
    for key, value in report.tpr_at_fpr.items():
        row(f"TPR @ FPR={key}", None, value)
    console.print(table)
    counts = f"{report.n_bonafide} bona fide, {report.n_attack} attacks, {report.n_failed_to_acquire} failed to acquire"
    if report.aggregation:
        a = report.aggregation
        counts += f"; aggregation {a['method']}: {a['n_videos']} videos from {a['n_frames']} frames"
    console.print(counts)
    if ci:
        console.print(
            f"CI: {ci['method']} over {ci['n_units']} {ci['unit']}s, {ci['n_resamples']} resamples, seed {ci['seed']}"
        )
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)
