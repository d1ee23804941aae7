"""The benchmark's table as Markdown and its plot (HTER with 95% intervals, one group per protocol)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["markdown", "summary", "plot"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _ci(row: dict[str, Any], key: str, percent: bool = True) -> str:
    lo, hi = row.get("ci", {}).get(key, (None, None))
    if lo is None:
        return ""
    return f" [{100 * lo:.1f}, {100 * hi:.1f}]" if percent else f" [{lo:.3f}, {hi:.3f}]"


def markdown(table: dict[str, Any]) -> str:
    """One line per (model, protocol): the target units' metrics with intervals, the seen side, the times."""
    s = table["settings"]
    lines = [
        f"Synthetic data: {s['subjects']} subjects, seed {s['seed']}"
        + (" (--quick: 2 epochs per run; a check of the path, not a result)" if s.get("quick") else "") + ". "
        f"Threshold: {table['threshold_rule']}; {table['aggregation']}; intervals: {table['ci']}. "
        f"unseen-attack holds out the {s['unseen_family']} family, cross-domain the {s['unseen_domain']} domain; "
        "their metrics are on the held-out part of test, `HTER seen` on the rest.",
        "",
        "| model | protocol | HTER [95% CI] | ACER [95% CI] | APCER max | BPCER | AUC [95% CI] | TPR@FPR=1e-2 | HTER seen | train s | score s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table["rows"]:
        head = f"| {r['model']} | {r['protocol']} |"
        if "error" in r:
            lines.append(f"{head} failed: {r['error'].splitlines()[0][:200]} | | | | | | | | |")
            continue
        seen = _pct(r["seen"]["hter"]) if "seen" in r else "-"
        lines.append(
            f"{head} {_pct(r['hter'])}{_ci(r, 'hter')} | {_pct(r['acer'])}{_ci(r, 'acer')} | {_pct(r['apcer'])} | "
            f"{_pct(r['bpcer'])} | {r['auc']:.3f}{_ci(r, 'auc', percent=False)} | {_pct(r['tpr_at_fpr'].get('1e-2'))} | "
            f"{seen} | {r.get('train_seconds', '-')} | {r.get('score_seconds', '-')} |")
    return "\n".join(lines) + "\n"


def summary(table: dict[str, Any]) -> str:
    """One line per model, the protocols side by side: HTER with its interval on each target (ACER on ``intra``, the
    seen side's HTER where a protocol holds something out), and the model's training time over all protocols."""
    rows = table["rows"]
    protocols = list(dict.fromkeys(r["protocol"] for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    held = {r["protocol"]: r.get("held_out") for r in rows}
    by_key = {(r["model"], r["protocol"]): r for r in rows}
    head, rule = ["model"], ["---"]
    for p in protocols:
        name = f"{p} ({held[p]})" if held[p] else p
        head += [f"{name}: HTER [95% CI]", "ACER" if not held[p] else "HTER seen"]
        rule += ["---", "---"]
    head.append("train s (all protocols)")
    rule.append("---")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(rule) + "|"]
    for model in models:
        cells, train = [model], 0.0
        for p in protocols:
            r = by_key.get((model, p))
            if r is None or "error" in r:
                cells += ["failed" if r is not None else "not run", ""]
                continue
            side = _pct(r["seen"]["hter"]) if "seen" in r else _pct(r["acer"])
            cells += [f"{_pct(r['hter'])}{_ci(r, 'hter')}", side]
            train += r.get("train_seconds") or 0.0
        cells.append(f"{train:.0f}" if train else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Bars of HTER on each protocol's target units, with their 95% intervals, one colour per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    done = [r for r in rows if "error" not in r]
    if not done:
        return
    protocols = list(dict.fromkeys(r["protocol"] for r in done))
    models = list(dict.fromkeys(r["model"] for r in done))
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(protocols) * max(1, len(models) / 3)), 3.4), dpi=120)
    for i, model in enumerate(models):
        for j, protocol in enumerate(protocols):
            row = next((r for r in done if r["model"] == model and r["protocol"] == protocol), None)
            if row is None:
                continue
            lo, hi = row.get("ci", {}).get("hter", (row["hter"], row["hter"]))
            x = j - 0.4 + width * (i + 0.5)
            ax.bar(x, 100 * row["hter"], width, color=f"C{i}", label=model if j == 0 or model not in
                   ax.get_legend_handles_labels()[1] else None)
            ax.errorbar(x, 100 * row["hter"], yerr=[[100 * (row["hter"] - lo)], [100 * (hi - row["hter"])]], color="k",
                        capsize=2, lw=0.8)
    ax.set_xticks(np.arange(len(protocols)), protocols)
    ax.set_ylabel("HTER on target test units (%)")
    ax.set_title("Benchmark (synthetic data), 95% subject-bootstrap intervals", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
