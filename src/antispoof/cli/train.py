"""``antispoof train``: train a method from a YAML config, or resume a killed run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)


@contextmanager
def training_command() -> Iterator[None]:
    """What every command that trains shares: on a rank other than 0 of a multi-process launch, only warnings reach
    the terminal (rank 0 speaks for all); a training stopped by SIGTERM or SIGINT prints one line saying how to
    resume and exits with status 128 + the signal."""
    import logging

    from antispoof._launch import current_launch
    from antispoof._logging import LOGGER_NAME
    from antispoof.training.signals import TrainingInterrupted

    if not current_launch().is_zero:  # for the rest of this process: its results are rank 0's, printed there
        import os
        import sys

        logging.getLogger(LOGGER_NAME).setLevel(logging.WARNING)
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - open until the process ends
    try:
        yield
    except TrainingInterrupted as stop:
        typer.echo(f"error: {stop.message()}", err=True)
        raise SystemExit(stop.exit_code) from None


def train_command(
    args: list[str] = typer.Argument(
        None, metavar="CONFIG [KEY=VALUE]...",
        help="A packaged config name (entry, entry_v1, distill, quickstart; see `antispoof config list`) or a YAML path, "
             "then dotted overrides (train.max_epochs=1 seed=3 init_from=runs/other). Grid words: folds=attack (one run per "
             "held-out attack type; folds=species per species; folds=subject, 5 folds by subject identity), seeds=[0,1], inits=[none,RUN,...] train every cell "
             "into --out/fold_<type>[-init<j>][-seed<s>] with a folds.json summary."
    ),
    out: Path = typer.Option(None, "--out", help="Run folder to create (default: runs/<date-time>)."),
    resume: Path = typer.Option(None, "--resume", help="Continue this killed run folder from its last checkpoint (no CONFIG)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
) -> None:
    """Train a method; the run folder gets the config, seed, git revision, checkpoints and model.safetensors.

    SIGTERM or Ctrl-C stops it at a batch boundary: the run keeps its last finished epoch, writes no weights, records
    `interrupted` in run.json and exits with 128 + the signal; `--resume RUN` then reaches the uninterrupted weights.
    """
    with training_command():
        _train(args, out, resume, overwrite)


def _train(args: list[str] | None, out: Path | None, resume: Path | None, overwrite: bool) -> None:
    import sys
    from antispoof.config import split_config_args
    from antispoof.methods import load_method_config
    from antispoof.training.runner import resume as resume_run
    from antispoof.training.runner import train
    from antispoof.weights import WEIGHTS_FILE

    if resume is not None:
        if args:
            raise ValueError("--resume continues a run with its saved config; give no CONFIG or overrides with it")
        run_dir = resume_run(resume)
    else:
        path, overrides = split_config_args(args or ())
        if path is None:
            raise ValueError("give a config first, e.g. `antispoof train entry train.max_epochs=1` (a packaged name or a YAML path)")
        from antispoof.training.folds import split_grid_args, train_grid

        grid, overrides = split_grid_args(overrides)
        if grid.active:  # folds=attack|species|subject, seeds=[...], inits=[...]: one run per cell (antispoof.training.folds)
            run_dir = train_grid(path, overrides, grid, out=out, overwrite=overwrite, command=list(sys.argv))
            typer.echo(f"runs: {run_dir} (summary {run_dir / 'folds.json'}); next: antispoof ensemble {run_dir} --out BUNDLE")
            return
        config = load_method_config(path, overrides)
        run_dir = train(config, out=out, overwrite=overwrite, command=list(sys.argv))
    typer.echo(f"run: {run_dir}")
    typer.echo(f"weights: {run_dir / WEIGHTS_FILE}")
