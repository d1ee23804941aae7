"""``antispoof benchmark``: every registered method (and any bundle) on the same synthetic protocols, in one table."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("benchmark")(benchmark_command)


def benchmark_command(
    out: Path = typer.Option(..., "--out", help="Folder for the data, stores, runs, scores and the table."),
    methods: list[str] = typer.Option(["all"], "--methods", help="Registered methods (repeat the option or separate by commas), or all."),
    bundles: list[Path] = typer.Option([], "--bundles", help="Bundles to score as they are (e.g. an imported Silent-Face model); repeat the option."),
    protocol: list[str] = typer.Option(["intra", "unseen-attack", "cross-domain"], "--protocol",
                                       help="Protocols to run: intra, unseen-attack, cross-domain (repeat the option)."),
    quick: bool = typer.Option(False, "--quick", help="40 subjects and 2 epochs per run: checks the whole path in about 30 min on 2 cores."),
    seed: int = typer.Option(0, "--seed", help="Seed of the data, every training and the bootstrap."),
    subjects: int = typer.Option(None, "--subjects", help="Synthetic subjects to generate (default: 40 with --quick, else 100)."),
    unseen_family: str = typer.Option("replay", "--unseen-family", help="Attack family unseen-attack leaves out (replay, print, mask)."),
    unseen_domain: str = typer.Option("budget_phone", "--unseen-domain", help="Capture domain cross-domain leaves out."),
    no_methods: bool = typer.Option(False, "--no-methods", help="Score only the --bundles; train no method."),
) -> None:
    """Train and score every method on the same protocols; write DIR/table.md, DIR/table.json and DIR/benchmark.png."""
    from antispoof.studies.benchmark import bundle_entries, method_entries, run_benchmark
    from antispoof.studies.benchmark_table import markdown

    names = [n.strip() for m in methods for n in m.split(",") if n.strip()]
    entries = ([] if no_methods else method_entries(names)) + bundle_entries(bundles)
    if not entries:
        raise ValueError("nothing to benchmark: give --methods, or --bundles with --no-methods")
    from antispoof.cli.train import training_command

    with training_command():  # a stopped benchmark resumes when run again: finished rows kept, the stopped run resumed
        table = run_benchmark(out, entries=entries, protocols=protocol, quick=quick, seed=seed, subjects=subjects,
                              family=unseen_family, domain=unseen_domain)
    typer.echo(markdown(table))
    failed = [f"{r['model']} on {r['protocol']}" for r in table["rows"] if "error" in r]
    typer.echo(f"table: {out / 'table.md'} and {out / 'table.json'}; plot: {out / 'benchmark.png'}")
    if failed:
        typer.echo(f"{len(failed)} row(s) failed (their errors are in the table): {', '.join(failed)}")
