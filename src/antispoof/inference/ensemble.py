"""Ensembles as models: bundles of several members written as one bundle, and the members' disagreement.

:func:`build_ensemble` writes the bundle of an :class:`~antispoof.models.ensemble.EnsembleNet`
of member bundles (folds, initialisations, seeds, different methods): one network, one
card, one safetensors file, so ``evaluate``, ``calibrate``, ``predict``, ``serve`` and
``export`` treat it as one model (its members are rebuilt inside it, as the Silent-Face
bundle rebuilds its two MiniFASNets). The card's input is the members' common input, or
one view per distinct crop scale when they differ (see :mod:`antispoof.models.ensemble`).
The detector, sampling, aggregation and quality gate are the first member's (a member that
differs is named in the card's notes). The threshold is the mean of the members'
thresholds, marked ``members_mean``, not a calibration: calibrate the ensemble for an
error target (``antispoof calibrate BUNDLE --dataset ... --root ...``).

:func:`disagreement` scores a frame-store split with every member and ranks the units by
the standard deviation of the member scores, highest first (seed 001, Sec. 5.9: "examples
with highest standard deviation on the liveness score among all samples");
:func:`contact_sheet` shows the top of that list.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.inference.bundle import Bundle

__all__ = ["build_ensemble", "calibrate_on_store", "find_members", "write_disagreement", "rank_by_disagreement", "disagreement", "contact_sheet", "MEMBERS_MEAN_RULE"]

log = logging.getLogger(__name__)

MEMBERS_MEAN_RULE = "members_mean"


def find_members(paths: Sequence[str | Path]) -> list[Path]:
    """The member folders of ``paths``: a bundle, a run (its ``bundle/`` when calibrated), or a folder of runs/bundles
    (searched below for ``model_card.json`` or ``config.yaml`` + ``model.safetensors``), in sorted order."""
    from antispoof.inference.card import CARD_FILE
    from antispoof.weights import WEIGHTS_FILE

    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if (path / CARD_FILE).is_file() or (path / "config.yaml").is_file() and (path / WEIGHTS_FILE).is_file():
            found.append(path)
            continue
        if (path / "bundle" / CARD_FILE).is_file():
            found.append(path / "bundle")
            continue
        if (path / "config.yaml").is_file():  # a run without weights: say whether it is training, interrupted or failed
            from antispoof._runs import require_finished

            require_finished(path)
        if not path.is_dir():
            raise FileNotFoundError(f"{path} is not a folder; give bundles, run folders or a folder of runs "
                                    "(e.g. the --out of `antispoof train CONFIG folds=attack`)")
        below = []
        for inner in sorted(p for p in path.iterdir() if p.is_dir()):
            try:
                below += find_members([inner])
            except FileNotFoundError:  # a folder of something else (plots, data) beside the runs
                continue
        if not below:
            raise FileNotFoundError(f"{path} holds no bundle or finished run; train or calibrate first")
        found += below
    return found


def _member_views(bundle: Bundle) -> list[float]:
    c = bundle.card.crop
    return list(c.views) if c.views else [c.scale]


def _adapters(bundles: Sequence[Bundle]) -> tuple[Any, list[dict[str, Any]] | None, list[float]]:
    """``(ensemble input spec, adapters or None, view scales)`` of members; refuses members no shared crop can feed."""
    from antispoof.data.inputs import InputSpec, ModalitySpec

    cards = [b.card for b in bundles]
    first = cards[0]
    if all(c.input == first.input and c.crop == first.crop for c in cards):
        return first.input, None, list(first.crop.views)
    problems = []
    for b, c in zip(bundles, cards):
        if c.input.names != ("rgb",) or c.input.clip_len != 1:
            problems.append(f"{b.path} reads {c.input.describe()}")
    for field in ("crop_size", "input_size", "fit"):
        values = {getattr(c.input, field) for c in cards}
        if len(values) > 1:
            problems.append(f"the members' {field} differ ({sorted(map(str, values))})")
    for field in ("geometry", "align"):
        values = {getattr(c.crop, field) for c in cards}
        if len(values) > 1:
            problems.append(f"the members' crop {field} differ ({sorted(map(str, values))})")
    if problems:
        raise ValueError("these members read inputs one ensemble cannot share: " + "; ".join(problems) + ". Members of one "
                         "ensemble read the same input, or RGB frames of one crop and input size that differ only in crop "
                         "scale, colour order and normalisation")
    scales = sorted({s for b in bundles for s in _member_views(b)})
    adapters = []
    for b, c in zip(bundles, cards):
        m = c.input.modalities[0]
        own = _member_views(b)
        # raw RGB x (0-255) -> the member's channel order -> (x * pixel_scale - mean) / std (mean/std in that order)
        adapters.append({"views": [scales.index(s) for s in own], "bgr": c.input.colour_order == "BGR",
                         "scale": [c.input.pixel_scale / s for s in m.std], "shift": [-mu / s for mu, s in zip(m.mean, m.std)]})
    raw = ModalitySpec(name="rgb", channels=3, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    spec = InputSpec(modalities=(raw,), crop_size=first.input.crop_size, input_size=first.input.input_size, fit=first.input.fit,
                     colour_order="RGB", pixel_scale=1.0, views=max(len(scales), 1))
    return spec, adapters, scales


def build_ensemble(members: Sequence[str | Path | Bundle], out: str | Path, *, overwrite: bool = False,
                   notes: Sequence[str] = ()) -> Bundle:
    """Write the bundle of the mean of ``members`` (bundle folders or opened bundles) to ``out``; returns it opened."""
    import torch

    from antispoof import __version__
    from antispoof.inference.bundle import bundle_network
    from antispoof.inference.card import ThresholdSpec, TrainingData
    from antispoof.models.ensemble import EnsembleNet
    from antispoof.weights import load_weights

    bundles = [m if isinstance(m, Bundle) else Bundle.load(m) for m in members]
    if not bundles:
        raise ValueError("give one member at least (bundles, calibrated runs, or a folder of them)")
    spec, adapters, scales = _adapters(bundles)
    cards = [b.card for b in bundles]
    net = EnsembleNet([c.network.model_dump() for c in cards], adapters)
    for member, b in zip(net.members, bundles):
        load_weights(member, b.weights_path)
    net.eval()
    first = cards[0]
    all_notes = [f"ensemble of {len(cards)} members: the mean of their liveness scores (seed 001, Sec. 4.3); member_std is "
                 "their disagreement", *notes]
    for field in ("detector", "acquisition", "aggregation"):
        odd = [str(b.path) for b, c in zip(bundles, cards) if getattr(c, field) != getattr(first, field)]
        if odd:
            all_notes.append(f"{field} is the first member's ({bundles[0].path.name}); {', '.join(odd)} differ")
    if adapters is not None:
        all_notes.append(f"members read different crops or normalisations: one raw RGB view per crop scale {scales}, each "
                         "member's normalisation inside the network")
    threshold = ThresholdSpec(value=float(np.mean([c.threshold.value for c in cards])), rule=MEMBERS_MEAN_RULE, split=first.threshold.split,
                              dataset="none: the mean of the members' thresholds, not a calibration",
                              metrics={"note": "not calibrated: the mean of the members' thresholds (each chosen on its own "
                                               f"{first.threshold.split} split); calibrate the ensemble for an error target "
                                               "(antispoof ensemble ... --store STORE --target RULE)", "member_thresholds": [c.threshold.value for c in cards]})
    methods = sorted({c.method for c in cards})
    source = {"ensemble": "mean of member liveness scores", "package_version": __version__,
              "members": [{"bundle": b.path.name, "method": c.method, "backbone": c.backbone, "card_sha256": c.card_sha256,
                           "threshold": c.threshold.value, "threshold_rule": c.threshold.rule,
                           "training_data": c.training_data.description or c.training_data.dataset}
                          for b, c in zip(bundles, cards)]}
    with torch.no_grad():
        bundle = bundle_network(
            out, net, spec, method="ensemble", backbone="+".join(sorted({c.backbone for c in cards})),
            threshold=threshold,
            training_data=TrainingData(dataset=first.training_data.dataset, protocol=first.training_data.protocol,
                                       description=f"{len(cards)} members ({', '.join(methods)})"),
            acquisition=_shared_acquisition(first.acquisition, adapters is not None, scales, spec.views),
            detector=first.detector, aggregation=first.aggregation, notes=all_notes, source=source, overwrite=overwrite)
    log.info("ensemble of %d members written to %s", len(cards), bundle.path)
    return bundle


def _shared_acquisition(first: Any, adapted: bool, scales: list[float], views: int) -> Any:
    """The first member's acquisition, its crop cut at every member's scale when the members read different crops."""
    if not adapted:
        return first
    crop = first.crop.model_copy(update={"scale": max(scales) if scales else first.crop.scale,
                                         "views": tuple(scales) if views > 1 else ()})
    return first.model_copy(update={"crop": crop})


def _store_spec(bundle: Bundle, store: str | Path, allow_mismatch: bool = False) -> Any:
    """The bundle's input spec for scoring crops of ``store`` (cut like the store's, then fitted, as calibration does);
    a store acquired unlike the bundle's training data is refused unless ``allow_mismatch``."""
    from antispoof.data.acquisition import check_same_acquisition
    from antispoof.data.store import FrameStore

    spec = bundle.card.input
    if spec.views > 1:
        raise ValueError(f"the members of {bundle.path} read several crops cut from the whole frame ({spec.views} views), "
                         "which a frame store's single crops cannot give; calibrate it with `antispoof calibrate BUNDLE "
                         "--dataset NAME --root DIR` (through the Predictor)")
    acquisition = FrameStore(store).acquisition
    check_same_acquisition(bundle.card.acquisition, acquisition, data_name=f"the frame store {store}", allow=allow_mismatch)
    stored = acquisition.crop.size
    if stored != spec.crop_size and spec.fit == "resize":
        spec = spec.model_copy(update={"crop_size": stored})
    return spec


def calibrate_on_store(bundle: str | Path | Bundle, store: str | Path, *, split: str = "dev", target: str = "eer",
                       aggregate: str | None = None, allow_coarse: bool = False, allow_mismatch: bool = False,
                       progress: bool = False) -> Bundle:
    """Choose the bundle's threshold for ``target`` on ``split`` of a frame store (the crops its members were trained on)
    and write it into its card, with the metrics there; returns the bundle."""
    from antispoof.inference.card import ThresholdSpec, coarse_notes
    from antispoof.inference.scoring import score_frames
    from antispoof.metrics.calibration import calibration_rule, dev_threshold

    bundle = bundle if isinstance(bundle, Bundle) else Bundle.load(bundle)
    rule = calibration_rule(target, split)
    spec = _store_spec(bundle, store, allow_mismatch)
    scores, _ = score_frames(bundle.build_network(), Path(store), split, spec=spec, progress=progress)
    if len(scores) == 0:
        raise ValueError(f"the frame store {store} has no {split!r} frames; calibrate on a split it has (dev)")
    report, problem = dev_threshold(scores, rule, aggregate or bundle.card.aggregation, allow_coarse)
    card = bundle.card
    notes = [n for n in card.notes if "not a calibration" not in n] + coarse_notes(problem)
    threshold = ThresholdSpec.from_report(report, rule, split,
                                          f"frame store {Path(store).name} ({card.training_data.dataset})")
    bundle.save_card(card.model_copy(update={"threshold": threshold, "notes": notes}))
    log.info("ensemble %s calibrated on %s %s: threshold %.6g (%s)", bundle.path, store, split, report.threshold, rule)
    return bundle


def rank_by_disagreement(member_scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(order, std)``: units ordered by the population std of their member scores ``[N, M]``, highest first (ties:
    the earlier unit first)."""
    s = np.asarray(member_scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] < 1:
        raise ValueError(f"member scores must be [units, members], got shape {s.shape}")
    std = s.std(axis=1)
    return np.argsort(-std, kind="stable"), std


class _MemberColumns:
    """An ensemble network whose ``predict`` gives each member's score as a cue column ``member_<i>``."""

    def __init__(self, net: Any) -> None:
        self.net = net

    def parameters(self) -> Any:
        return self.net.parameters()

    def eval(self) -> Any:
        self.net.eval()
        return self

    def predict(self, batch: dict[str, Any]) -> dict[str, Any]:
        import torch

        with torch.no_grad():
            scores = self.net.member_scores(batch)
        return {"score": scores.mean(dim=1), **{f"member_{i}": scores[:, i] for i in range(scores.shape[1])}}


def disagreement(bundle: str | Path | Bundle, store: str | Path, split: str = "dev", *, top: int | None = None,
                 batch_size: int = 64, progress: bool = False) -> Any:
    """A table of the units of ``split`` of ``store``, ordered by the std of the ensemble members' scores (highest first).

    Columns: rank, video, frame, label, pai, subject, score (the mean), std, member_0..; plus ``position`` (the unit's
    index in the split's frame dataset, for :func:`contact_sheet`).
    """
    from antispoof.inference.scoring import score_frames
    from antispoof.models.ensemble import EnsembleNet

    bundle = bundle if isinstance(bundle, Bundle) else Bundle.load(bundle)
    net = bundle.build_network()
    if not isinstance(net, EnsembleNet):
        raise ValueError(f"{bundle.path} is a {bundle.card.method} bundle, not an ensemble; make one with "
                         f"`antispoof ensemble MEMBERS... --out BUNDLE`")
    spec = _store_spec(bundle, store)
    scores, table = score_frames(_MemberColumns(net), Path(store), split, spec=spec, batch_size=batch_size, progress=progress)
    members = [c for c in table.columns if c.startswith("member_")]
    order, std = rank_by_disagreement(table[members].to_numpy())
    ok = ~np.asarray(scores.failed_to_acquire)[: len(table)]
    subjects = np.asarray(scores.subject)[: len(table)]
    table = table.assign(subject=subjects, score=np.asarray(scores.scores)[: len(table)], std=std, position=np.arange(len(table)))
    table = table.iloc[[i for i in order if ok[i]]].reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    cols = ["rank", "video", "frame", "label", "pai", "subject", "score", "std", *members, "position"]
    table = table[cols]
    return table if top is None else table.head(top)


def contact_sheet(table: Any, store: str | Path, split: str, path: str | Path, *, spec: Any = None, columns: int = 8) -> Path:
    """A PNG of the crops of ``table``'s units (the top of :func:`disagreement`), each titled with its label, species,
    mean score and std."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from antispoof.data.inputs import InputSpec
    from antispoof.data.store import FrameDataset

    data = FrameDataset.for_spec(store, split, spec or InputSpec.rgb(32))
    n = max(len(table), 1)
    cols = min(columns, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.6 * rows), dpi=110, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (_, row) in zip(axes.ravel(), table.iterrows()):
        image = np.asarray(data[int(row["position"])]["image"])
        if image.ndim == 4:  # a clip: its first frame
            image = image[0]
        ax.imshow(image)
        ax.set_title(f"#{row['rank']} {row['label']}\n{str(row['pai'])[:18]}\nmean {row['score']:.3f} std {row['std']:.3f}",
                     fontsize=6)
    fig.suptitle("highest disagreement of the ensemble members (std of their liveness scores)", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_disagreement(bundle: str | Path | Bundle, store: str | Path, out: str | Path, *, split: str = "dev", top: int = 32,
                       progress: bool = False) -> tuple[Path, Path]:
    """``DIR/disagreement.csv`` (every unit, ranked) and ``DIR/disagreement.png`` (the ``top`` of them); returns both paths."""
    bundle = bundle if isinstance(bundle, Bundle) else Bundle.load(bundle)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = disagreement(bundle, store, split, progress=progress)
    csv = out / "disagreement.csv"
    table.drop(columns=["position"]).to_csv(csv, index=False)
    png = contact_sheet(table.head(top), store, split, out / "disagreement.png", spec=bundle.card.input)
    (out / "disagreement.json").write_text(json.dumps({"bundle": str(bundle.path), "store": str(store), "split": split,
                                                        "units": len(table), "members": len(bundle.card.source.get("members", [])),
                                                        "std": "population std of the member liveness scores"}, indent=2) + "\n",
                                           encoding="utf-8")
    return csv, png
