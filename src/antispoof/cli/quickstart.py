"""``antispoof quickstart``: the whole pipeline on generated data, in minutes on a laptop CPU."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("quickstart")(quickstart_command)


def quickstart_command(
    out: Path = typer.Option(Path("runs/quickstart"), "--out", help="Folder for data, store, runs and the report."),
    seed: int = typer.Option(0, "--seed", help="Seed of the data and of every training (same seed, same numbers)."),
    method: str = typer.Option("entry", "--method", help="Registered method to run (`antispoof list methods`); entry trains a teacher and its student."),
    subjects: int | None = typer.Option(None, "--subjects", help="Synthetic subjects to generate (default: the method's "
                                        "quickstart size, 100; sequence: 200)."),
) -> None:
    """Generate synthetic data, prepare it, train a method (entry: teacher + distilled student), evaluate on held-out
    subjects at a dev threshold, calibrate a bundle."""
    from rich.console import Console
    from rich.table import Table

    from antispoof.training.quickstart import run_quickstart, summary_rows

    from antispoof.cli.train import training_command

    with training_command():
        report = run_quickstart(out, seed=seed, method=method, subjects=subjects)
    table = Table("model", "backbone", "ACER", "HTER", "AUC", "EER (test)",
                  title="held-out synthetic test subjects, threshold: EER on dev")
    for row in summary_rows(report):
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print(f"report: {out / 'report.md'} (and report.json); plots: {out / 'roc.png'}, {out / 'det.png'}")
    console.print("models: " + ", ".join(m["weights"] for m in report["models"].values()))
    b = report["bundle"]
    console.print(f"bundle ({b['model']}, threshold {b['target']} on dev: dev APCER {100 * b['dev_apcer']:.2f}%, "
                  f"BPCER {100 * b['dev_bpcer']:.2f}%): {b['path']}")
    console.print(f"try: antispoof predict PHOTO --model {report['bundle']['path']}")
    console.print(f"total time: {report['seconds']['total']:.0f} s")
