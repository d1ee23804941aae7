"""``antispoof study unseen-attack|ssl-premise|multimodal-table``: the studies of :mod:`antispoof.studies` on synthetic data."""

from __future__ import annotations

from pathlib import Path

import typer

from antispoof.studies.multimodal_table import ROWS
from antispoof.studies.unseen_attack import FAMILIES
from antispoof.cli.train import training_command

study_app = typer.Typer(help="Run a study on generated data; each writes its tables (and plots) into --out.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")


def _names(values: list[str]) -> list[str]:
    """Names of a list option given repeated or separated by commas."""
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _overrides(words: list[str] | None, names_hint: str = "") -> list[str]:
    """The ``key=value`` words; a bare word is most likely a second name given to a list option (``names_hint``)."""
    bare = [w for w in words or () if "=" not in w]
    if bare:
        names = f"give several names as {names_hint} (or repeat the option); " if names_hint else ""
        raise ValueError(f"{' '.join(bare)!r} is not key=value: {names}write overrides as key=value (train.max_epochs=2)")
    return list(words or ())


@study_app.command("unseen-attack")
def unseen_attack_command(
    overrides: list[str] = typer.Argument(None, metavar="[KEY=VALUE]...",
                                          help="Overrides of every run (train.max_epochs=2 data.image_size=48)."),
    out: Path = typer.Option(..., "--out", help="Folder for the data, stores, runs and the table (a second call continues it)."),
    methods: list[str] = typer.Option(["entry", "pdle", "lgsc"], "--methods",
                                      help="Registered methods (repeat the option or separate by commas)."),
    families: list[str] = typer.Option(list(FAMILIES), "--families",
                                       help="Attack families to hold out, one run each (repeat or separate by commas)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the data and of every run."),
    subjects: int = typer.Option(100, "--subjects", help="Synthetic subjects to generate."),
) -> None:
    """Train each method without each attack family; HTER on the held-out family beside the seen ones.

    Writes DIR/table.md, DIR/table.json and DIR/unseen_attack.png.
    """
    from antispoof.studies.unseen_attack import run_unseen_attack

    extra = _overrides(overrides, "--methods entry,pdle or --families replay,mask")
    with training_command():
        run_unseen_attack(out, methods=_names(methods), families=_names(families), seed=seed, subjects=subjects,
                          overrides=extra)
    typer.echo((out / "table.md").read_text(encoding="utf-8"))
    typer.echo(f"table: {out / 'table.md'} and {out / 'table.json'}; plot: {out / 'unseen_attack.png'}")


@study_app.command("ssl-premise")
def ssl_premise_command(
    overrides: list[str] = typer.Argument(
        None, metavar="[KEY=VALUE]...",
        help="Overrides of every entry run (train.max_epochs=2); ssl.* keys go to the MoCo v2 pretraining (ssl.queue_size=4)."),
    out: Path = typer.Option(..., "--out", help="Folder for the data, pretraining runs, entry runs and the tables."),
    seed: int = typer.Option(0, "--seed", help="Seed of the data and of every run."),
    subjects: int = typer.Option(100, "--subjects", help="Synthetic subjects to generate."),
    domain: str = typer.Option("budget_phone", "--domain", help="The capture domain held out of training."),
    ssl_epochs: int = typer.Option(8, "--ssl-epochs", help="Epochs of each MoCo v2 pretraining."),
    ssl: list[str] = typer.Option([], "--ssl", metavar="KEY=VALUE",
                                  help="An override of the pretraining's `ssl` config (train.batch_size=16); repeat the option."),
) -> None:
    """Entry on a frozen random, ImageNet or MoCo v2 backbone, trained without one capture domain and tested on it.

    Writes the benchmark's DIR/table.md, DIR/table.json, DIR/benchmark.png and DIR/premise.md.
    """
    from antispoof.studies.ssl_premise import run_ssl_premise

    words = _overrides(overrides)
    pretraining = [*_overrides(ssl), *(w for w in words if w.startswith("ssl."))]
    with training_command():
        run_ssl_premise(out, seed=seed, subjects=subjects, domain=domain, ssl_epochs=ssl_epochs, ssl_overrides=pretraining,
                        overrides=[w for w in words if not w.startswith("ssl.")])
    typer.echo((out / "premise.md").read_text(encoding="utf-8"))
    typer.echo(f"premise: {out / 'premise.md'}; table: {out / 'table.md'} and {out / 'table.json'}")


@study_app.command("multimodal-table")
def multimodal_table_command(
    overrides: list[str] = typer.Argument(None, metavar="[KEY=VALUE]...",
                                          help="Overrides of every row (train.max_epochs=10 data.image_size=48)."),
    out: Path = typer.Option(..., "--out", help="Folder for the data, store, runs and the table (a second call continues it)."),
    rows: list[str] = typer.Option([], "--rows", help=f"A row to run (default all: {'; '.join(ROWS)}); repeat the option "
                                                      "and quote names with spaces: --rows 'ir x3' --rows 'depth x3'."),
    subjects: int = typer.Option(100, "--subjects", help="Synthetic subjects."),
    seed: int = typer.Option(0, "--seed", help="Seed of the data and of every run."),
    from_quickstart: Path = typer.Option(None, "--from-quickstart",
                                         help="Read the data and frame store of this `quickstart --method multimodal` folder."),
    face_id: list[str] = typer.Option([], "--face-id", metavar="KEY=VALUE",
                                      help="An override of the face-id pretraining (train.lr=0.01); repeat the option."),
) -> None:
    """Seed 001's modality (Table 5) and initialisation (Table 3) comparisons; writes DIR/table.md and DIR/table.json."""
    from antispoof.studies.multimodal_table import run_table

    extra = _overrides(overrides, "--rows 'ir x3' --rows 'depth x3'")
    with training_command():
        run_table(out, rows=rows or None, overrides=extra, face_id_overrides=_overrides(face_id),
                  seed=seed, subjects=subjects, from_quickstart=from_quickstart)
    typer.echo((out / "table.md").read_text(encoding="utf-8"))
