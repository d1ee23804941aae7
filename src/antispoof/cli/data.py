"""``antispoof data``: list a dataset's rows under a protocol, count them, name its protocols."""

from __future__ import annotations

import typer

data_app = typer.Typer(help="Read datasets: list rows of a protocol split, count them, show protocols.", no_args_is_help=True)

LIST_COLUMNS = ("path", "label", "pai", "subject", "split")
FORMATS = ("table", "csv")

_DATASET = typer.Option(..., "--dataset", "-d", help="Dataset name (see `antispoof list datasets`), e.g. oulu-npu, manifest, folder.")
_ROOT = typer.Option(..., "--root", "-r", help="Dataset root folder (for manifest: the folder of manifest.csv, or a CSV path).")
_PROTOCOL = typer.Option(None, "--protocol", "-p", help="Protocol name (see `antispoof data protocols`); the dataset's default when omitted.")
_SPLIT = typer.Option(None, "--split", "-s", help="train, dev or test; every split when omitted.")
_FORMAT = typer.Option("table", "--format", "-f", help="table or csv.")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


def _samples(dataset: str, root: str, protocol: str | None, split: str | None):  # noqa: ANN202 (pandas stays lazy)
    from antispoof.data import open_dataset
    from antispoof.data._checks import check_split

    check_split(split)
    return open_dataset(dataset, root).samples(protocol, split)


def _emit(frame, fmt: str, title: str) -> None:  # noqa: ANN001
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "csv":
        typer.echo(frame.to_csv(index=False), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*map(str, frame.columns), title=title)
    for row in frame.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    Console().print(table)


@data_app.command("list")
def list_rows(
    dataset: str = _DATASET,
    root: str = _ROOT,
    protocol: str = _PROTOCOL,
    split: str = _SPLIT,
    fmt: str = _FORMAT,
    columns: str = typer.Option(
        ",".join(LIST_COLUMNS), "--columns", help="Comma-separated columns to show; 'all' for every column."
    ),
) -> None:
    """One row per video or image: path (relative to the root), label, species, subject, split."""
    frame = _samples(dataset, root, protocol, split)
    if columns != "all":
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in frame.columns]
        if unknown:
            raise ValueError(f"unknown column(s) {', '.join(unknown)}; columns: {', '.join(frame.columns)}")
        frame = frame[wanted]
    _emit(frame, fmt, f"{dataset} {protocol or ''} {split or 'all splits'} ({len(frame)} rows)")


@data_app.command("stats")
def stats(
    dataset: str = _DATASET,
    root: str = _ROOT,
    protocol: str = _PROTOCOL,
    split: str = _SPLIT,
    fmt: str = _FORMAT,
) -> None:
    """Counts per split, label and species (rows and distinct subjects), with per-split totals."""
    import pandas as pd

    frame = _samples(dataset, root, protocol, split)
    keys = ["split", "label", "pai"]
    if frame.empty:
        counts = pd.DataFrame(columns=[*keys, "rows", "subjects"])
    else:
        grouped = frame.groupby(keys, sort=True)
        counts = grouped.size().rename("rows").to_frame().join(grouped["subject"].nunique().rename("subjects"))
        totals = frame.groupby(["split", "label"]).agg(rows=("path", "size"), subjects=("subject", "nunique"))
        totals = totals.reset_index().assign(pai="(all)").set_index(keys)
        order = {s: i for i, s in enumerate(("train", "dev", "test"))}
        counts = pd.concat([counts, totals]).reset_index()
        counts = counts.sort_values(
            ["split", "label", "pai"], key=lambda c: c.map(order) if c.name == "split" else c.map(lambda v: (v == "(all)", v))
        ).reset_index(drop=True)
    _emit(counts, fmt, f"{dataset} {protocol or ''} ({len(frame)} rows)")


@data_app.command("protocols")
def protocols(
    dataset: str = _DATASET,
    root: str = typer.Option(None, "--root", "-r", help="Dataset root folder; needed only by datasets whose protocols "
                             "depend on their files (manifest's split columns, CelebA-Spoof's metas)."),
) -> None:
    """The protocols (and folds) the dataset offers; the default is marked."""
    from antispoof._registry import load_all
    from antispoof.data import open_dataset
    from antispoof.data.protocols import DATASETS

    if root is not None:
        adapter = open_dataset(dataset, root)
        names, default = adapter.protocols(), adapter.default_protocol
    else:
        load_all("datasets")
        adapter_class = DATASETS.get(dataset)
        try:  # a dataset whose protocols are fixed names lists them without reading a root
            names = adapter_class.protocols(adapter_class.__new__(adapter_class))
        except AttributeError:
            raise ValueError(f"the protocols of {dataset} depend on its files; give --root DIR "
                             f"(antispoof data protocols --dataset {dataset} --root DIR)") from None
        default = adapter_class.default_protocol
    for name in names:
        typer.echo(name + ("  (default)" if name == default else ""))
