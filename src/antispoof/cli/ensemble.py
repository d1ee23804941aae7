"""``antispoof ensemble``: several runs or bundles as one model (the mean of their liveness scores), and their disagreement."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("ensemble")(ensemble_command)


def ensemble_command(
    members: list[Path] = typer.Argument(..., metavar="RUN_OR_BUNDLE...",
                                         help="Bundles, run folders (calibrated at the dev EER first when they have no bundle/), "
                                              "or folders of runs (the --out of `antispoof train CONFIG folds=attack`). With no "
                                              "--out: one ensemble bundle, for --disagreement."),
    out: Path = typer.Option(None, "--out", help="Ensemble bundle folder to write."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing bundle at --out."),
    store: Path = typer.Option(None, "--store", help="Frame store for --target and --disagreement (e.g. the members' training store)."),
    split: str = typer.Option("dev", "--split", help="Store split for --target (dev) and --disagreement."),
    target: str = typer.Option(None, "--target", help="Calibrate the ensemble on --store --split for this rule (eer, bpcer@apcer=0.05, ...); "
                                                      "default: the mean of the members' thresholds, marked uncalibrated."),
    allow_coarse: bool = typer.Option(False, "--allow-coarse", help="Go on when --target is finer than the split resolves."),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch", help="Go on with a store prepared unlike the model's "
                                        "training data (another face source, crop scale, geometry, alignment or views)."),
    disagreement: Path = typer.Option(None, "--disagreement", help="Write DIR/disagreement.csv (units ranked by the std of the member "
                                                                    "scores on --store --split) and DIR/disagreement.png (contact sheet)."),
    top: int = typer.Option(32, "--top", help="Units on the contact sheet."),
) -> None:
    """Average member liveness scores into one bundle that evaluate, calibrate, predict, serve and export treat as one model."""
    from antispoof.inference.bundle import Bundle
    from antispoof.inference.card import CARD_FILE
    from antispoof.inference.ensemble import build_ensemble, calibrate_on_store, find_members, write_disagreement

    if (target or disagreement) and store is None:
        raise ValueError("--target and --disagreement score a frame store: give --store STORE (e.g. the members' data.store)")
    if out is None:
        if disagreement is None or len(members) != 1 or not (members[0] / CARD_FILE).is_file():
            raise ValueError("give --out BUNDLE to build an ensemble, or one ensemble bundle with --disagreement DIR --store STORE")
        bundle = Bundle.load(members[0])
    else:
        paths = find_members(members)
        bundles = []
        for path in paths:
            if (path / CARD_FILE).is_file():
                bundles.append(path)
            elif (path / "bundle" / CARD_FILE).is_file():
                bundles.append(path / "bundle")
            else:  # a run without a bundle: its bundle records its crop, detector and sampling
                from antispoof.inference.calibrate import calibrate_run

                typer.echo(f"calibrating member {path} (dev EER) for its bundle")
                bundles.append(calibrate_run(path, target="eer", allow_coarse=True, progress=False))
        bundle = build_ensemble(bundles, out, overwrite=overwrite)
        typer.echo(f"ensemble of {len(bundles)} members: {bundle.path}")
    if target:
        bundle = calibrate_on_store(bundle, store, split=split, target=target, allow_coarse=allow_coarse,
                                    allow_mismatch=allow_mismatch)
        m = bundle.card.threshold.metrics
        typer.echo(f"threshold {bundle.card.threshold.value:.6g} ({target} on {split}): APCER {100 * m['apcer']:.2f}%, "
                   f"BPCER {100 * m['bpcer']:.2f}%, ACER {100 * m['acer']:.2f}%")
    else:
        typer.echo(f"threshold {bundle.card.threshold.value:.6g} ({bundle.card.threshold.rule}: not calibrated; give --store and "
                   "--target, or `antispoof calibrate BUNDLE --dataset NAME --root DIR`)")
    if disagreement is not None:
        csv, png = write_disagreement(bundle, store, disagreement, split=split, top=top)
        typer.echo(f"disagreement: {csv} and {png}")
