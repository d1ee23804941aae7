"""Seed 000's premise on synthetic data: does a frozen self-supervised backbone generalise to an unseen capture domain?

``antispoof study ssl-premise --out DIR [--ssl-epochs N]`` generates the
quickstart's data (100 subjects), pretrains EfficientNet-Lite0 with MoCo v2
(``antispoof pretrain ssl``, the packaged ``ssl`` config) twice on the unlabelled crops of
the train and dev splits: once without the held-out domain (``ssl-seen``), once on every
domain (``ssl-union``: unlabelled crops of all domains, the test subjects still unseen; our
analogue of pretraining on data that may hold the target's kind of images, since seed 000's
backbone is a RegNet pretrained by Meta "on uncurated images without supervision", Sec.
3.2.1 and ref. [7], not on faces). Then ``entry`` (the quickstart teacher config: frozen backbone, 8
heads) trains with four frozen backbones on the benchmark's ``cross-domain`` protocol
(the held-out domain left out of train and dev):

- ``random``: random weights (no pretraining at all: a floor);
- ``imagenet``: the packaged ImageNet EfficientNet-Lite0 (supervised);
- ``ssl-seen`` / ``ssl-union``: the two MoCo v2 backbones, from random weights.

Writes the benchmark's ``table.json`` / ``table.md`` / ``benchmark.png`` and ``premise.md``
(HTER and AUC on the unseen domain beside the seen ones).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["run_ssl_premise", "premise_markdown"]

log = logging.getLogger(__name__)

ENTRY_CONFIG = "quickstart"


def run_ssl_premise(out: str | Path, *, seed: int = 0, subjects: int = 100, domain: str = "budget_phone",
                    ssl_epochs: int = 8, ssl_overrides: Sequence[str] = (), overrides: Sequence[str] = (),
                    progress: bool = True) -> dict[str, Any]:
    """Pretrain the two SSL backbones, train entry on four frozen backbones; returns the benchmark table (see module doc)."""
    from antispoof.methods import load_method_config, method_class
    from antispoof.methods.ssl import BACKBONE_FILE
    from antispoof.studies.benchmark import ModelEntry, make_protocol, run_benchmark
    from antispoof.studies.benchmark_runs import BenchmarkData
    from antispoof.training.runner import train_or_resume

    out = Path(out)
    make_protocol("cross-domain", domain=domain)  # an unknown domain fails before any work
    entry = ModelEntry("entry:imagenet", "entry", ENTRY_CONFIG)
    data = BenchmarkData.create(out, [entry], seed=seed, subjects=subjects, progress=progress)
    base = load_method_config(ENTRY_CONFIG)
    store = data.store(method_class("entry").input_spec_for(base).crop_size)  # the quickstart's 2 frames per video
    backbones: dict[str, Path] = {}
    for name, excluded in (("ssl-seen", f"[{domain}]"), ("ssl-union", "[]")):
        run = out / "pretrain" / name
        log.info("ssl premise: pretraining %s (%d epochs, domains excluded: %s)", name, ssl_epochs, excluded)
        config = load_method_config("ssl", [f"data.store={store}", f"data.exclude_domains={excluded}", f"seed={seed}",
                                            f"train.max_epochs={ssl_epochs}", f"train.progress={str(progress).lower()}",
                                            *ssl_overrides])
        train_or_resume(config, run)  # kept when it finished, resumed when it was stopped or killed
        backbones[name] = run / BACKBONE_FILE
    entries = [
        ModelEntry("entry:random", "entry", ENTRY_CONFIG, packaged_weights=False),
        entry,
        *(ModelEntry(f"entry:{name}", "entry", ENTRY_CONFIG, overrides=(f"model.weights={path}",))
          for name, path in backbones.items()),
    ]
    table = run_benchmark(out, entries=entries, protocols=["cross-domain"], seed=seed, subjects=subjects, domain=domain,
                          overrides=overrides, progress=progress)
    (out / "premise.md").write_text(premise_markdown(table, ssl_epochs), encoding="utf-8")
    return table


def premise_markdown(table: dict[str, Any], ssl_epochs: int) -> str:
    """The premise table: per frozen backbone, HTER / AUC on the unseen domain and on the seen ones."""
    s = table["settings"]
    lines = [f"`entry` with a frozen backbone; train and dev without the `{s['unseen_domain']}` capture domain; "
             f"test on held-out subjects, split by domain ({s['subjects']} subjects, seed {s['seed']}; SSL: MoCo v2, "
             f"{ssl_epochs} epochs). Threshold: {table['threshold_rule']}; intervals: {table['ci']}.", "",
             "| frozen backbone | HTER unseen domain [95% CI] | HTER seen domains | AUC unseen [95% CI] | AUC seen | "
             "unseen units (bona fide / attack) |", "|---|---|---|---|---|---|"]
    for r in table["rows"]:
        name = r["model"].removeprefix("entry:")
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error'].splitlines()[0][:160]} | | | | |")
            continue
        hlo, hhi = r["ci"].get("hter", (None, None))
        alo, ahi = r["ci"].get("auc", (None, None))
        lines.append(f"| {name} | {100 * r['hter']:.1f}% [{100 * hlo:.1f}, {100 * hhi:.1f}] | {100 * r['seen']['hter']:.1f}% | "
                     f"{r['auc']:.3f} [{alo:.3f}, {ahi:.3f}] | {r['seen']['auc']:.3f} | {r['n_bonafide']} / {r['n_attack']} |")
    return "\n".join(lines) + "\n"
