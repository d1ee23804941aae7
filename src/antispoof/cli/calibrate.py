"""``antispoof calibrate``: choose a run's decision threshold on its dev split and write its model bundle."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_command)


def calibrate_command(
    run: Path = typer.Argument(..., help="Run folder made by `antispoof train` or `antispoof distill`, or an imported bundle."),
    dataset: str = typer.Option(None, "--dataset", help="Dataset name (default: the run's own)."),
    root: Path = typer.Option(None, "--root", help="Dataset root folder (default: the run's own for its dataset)."),
    protocol: str = typer.Option(None, "--protocol", help="Protocol (default: the run's own for its dataset)."),
    store: Path = typer.Option(None, "--store", help="A prepared frame store to read instead of preparing into the cache."),
    split: str = typer.Option("dev", "--split", help="Split the threshold is chosen on (dev; never test)."),
    target: str = typer.Option("bpcer@apcer=0.01", "--target", help="Threshold rule: bpcer@apcer=0.01, eer, apcer@bpcer=0.05, min-hter."),
    aggregate: str = typer.Option("mean", "--aggregate", help="Per-video aggregation of frame scores: mean, median, min, vote=0.5."),
    detector: str = typer.Option(None, "--detector", help="Face detector at inference (default: the store's; blazeface if the store used dataset boxes)."),
    out: Path = typer.Option(None, "--out", help="Bundle folder to write (default RUN/bundle)."),
    allow_coarse: bool = typer.Option(False, "--allow-coarse", help="Go on when the target is finer than the dev split can resolve."),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch", help="Go on with a store prepared unlike the model's "
                                        "training data (another face source, crop scale, geometry, alignment or views)."),
) -> None:
    """Score the dev split, pick the threshold for --target, write weights + model card (with the dev metrics there).

    RUN may also be a bundle with no training run (`antispoof import ...`): it is then scored on
    --dataset/--root through the Predictor and its card gets the threshold (of --out, a copy, when given).
    """
    from antispoof.inference.bundle import Bundle
    from antispoof.inference.calibrate import calibrate_run
    from antispoof.inference.card import CARD_FILE

    if (run / CARD_FILE).is_file() and not (run / "config.yaml").is_file():
        from antispoof.inference.calibrate_bundle import calibrate_bundle

        if dataset is None or root is None:
            raise ValueError(f"{run} is a bundle with no training run: give the data to calibrate on (--dataset NAME --root DIR)")
        path = calibrate_bundle(run, dataset=dataset, root=root, protocol=protocol, split=split, target=target, out=out,
                                allow_coarse=allow_coarse)
    else:
        path = calibrate_run(run, dataset=dataset, root=root, protocol=protocol, split=split, target=target,
                             aggregate=aggregate, store=store, detector=detector, out=out, allow_coarse=allow_coarse,
                             allow_mismatch=allow_mismatch,
                             progress=sys.stdout.isatty())  # off a terminal a finished bar leaves only a blank line
    card = Bundle.load(path).card
    m = card.threshold.metrics
    typer.echo(
        f"threshold {card.threshold.value:.6g} ({card.threshold.rule} on {card.threshold.split}): "
        f"APCER {100 * m['apcer']:.2f}%, BPCER {100 * m['bpcer']:.2f}%, ACER {100 * m['acer']:.2f}%, "
        f"EER {100 * m['eer']:.2f}% over {m['n_bonafide']} bona fide and {m['n_attack']} attack presentations"
    )
    typer.echo(f"bundle: {path}")
