"""ROC, DET (probit axes) and score-histogram figures, drawn with matplotlib's Agg canvas.

The figures are built on ``matplotlib.figure.Figure`` with ``FigureCanvasAgg`` directly,
so no pyplot state and no display is touched. Curves with more than ``_MAX_POINTS``
candidates are thinned to evenly spaced candidates (both ends kept) for drawing only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from statistics import NormalDist

import numpy as np

from antispoof.metrics.aggregate import aggregate_videos
from antispoof.metrics.report import MetricsReport
from antispoof.metrics.scorefile import ScoreSet
from antispoof.metrics.sweep import Sweep, sweep

__all__ = ["save_plots", "plot_report", "plot_curves", "probit"]

logger = logging.getLogger(__name__)
_MAX_POINTS = 20_000
_DET_CLIP = 1e-6
_DET_TICKS = (0.0001, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99)


def probit(p: np.ndarray) -> np.ndarray:
    """Inverse of the standard normal CDF, elementwise (rates 0 and 1 map to -inf and inf)."""
    inv = NormalDist().inv_cdf
    flat = np.asarray(p, dtype=np.float64).ravel()
    out = np.array([(-np.inf if x <= 0 else np.inf if x >= 1 else inv(float(x))) for x in flat])
    return out.reshape(np.shape(p))


def _thin(n: int) -> np.ndarray:
    if n <= _MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, _MAX_POINTS).round().astype(np.int64))


def _figure():  # type: ignore[no-untyped-def]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    return fig


def _threshold_index(sw: Sweep, threshold: float) -> int:
    j = int(np.searchsorted(sw.thresholds, threshold, side="right")) - 1
    return min(max(j, 0), sw.thresholds.shape[0] - 1)


def _roc(curves: dict[str, Sweep], thresholds: dict[str, float], path: Path, title: str) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    for k, (name, sw) in enumerate(curves.items()):
        idx = _thin(sw.thresholds.shape[0])
        ax.plot(sw.apcer_pooled[idx][::-1], sw.tpr[idx][::-1], color=f"C{k}", label=name)
        if name in thresholds:
            j = _threshold_index(sw, thresholds[name])
            ax.plot([sw.apcer_pooled[j]], [sw.tpr[j]], "o", color=f"C{k}", label=f"{name} threshold {thresholds[name]:.4g}")
    ax.plot([0, 1], [0, 1], ":", color="grey", linewidth=0.8)
    ax.set_xlabel("FPR (pooled APCER)")
    ax.set_ylabel("TPR (1 - BPCER)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(f"ROC {title}".strip())
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path)


def _det(curves: dict[str, Sweep], thresholds: dict[str, float], path: Path, title: str) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    for k, (name, sw) in enumerate(curves.items()):
        idx = _thin(sw.thresholds.shape[0])
        # Rates of exactly 0 or 1 lie at infinity on probit axes: they are drawn at _DET_CLIP
        # (outside the visible range), so the curve runs off the plot toward them.
        x = probit(np.clip(sw.apcer_pooled[idx], _DET_CLIP, 1 - _DET_CLIP))
        y = probit(np.clip(sw.bpcer[idx], _DET_CLIP, 1 - _DET_CLIP))
        ax.plot(x, y, color=f"C{k}", label=name)
        if name in thresholds:
            j = _threshold_index(sw, thresholds[name])
            px, py = probit(np.array([sw.apcer_pooled[j], sw.bpcer[j]]))
            if np.isfinite(px) and np.isfinite(py):
                ax.plot([px], [py], "o", color=f"C{k}", label=f"{name} threshold {thresholds[name]:.4g}")
    ticks = probit(np.array(_DET_TICKS))
    labels = [f"{100 * t:g}" for t in _DET_TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    lo, hi = probit(np.array([0.0005, 0.995]))
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("APCER pooled (%)")
    ax.set_ylabel("BPCER (%)")
    ax.set_title(f"DET (probit axes) {title}".strip())
    ax.grid(True, linewidth=0.4)
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path)


def plot_curves(
    curves: dict[str, Sweep], directory: str | Path, *, thresholds: dict[str, float] | None = None, title: str = ""
) -> dict[str, Path]:
    """Write ``roc.png`` and ``det.png`` with one curve per named sweep (and a dot at its threshold, if given)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"roc": directory / "roc.png", "det": directory / "det.png"}
    _roc(curves, thresholds or {}, paths["roc"], title)
    _det(curves, thresholds or {}, paths["det"], title)
    return paths


def _histogram(scores: ScoreSet, threshold: float, path: Path) -> None:
    kept = scores.subset(~scores.failed_to_acquire)
    fig = _figure()
    ax = fig.add_subplot()
    bins = np.histogram_bin_edges(kept.scores, bins=50)
    ax.hist(kept.scores[kept.is_bonafide], bins=bins, alpha=0.6, color="C2", label="bona fide", density=True)
    if kept.pai is None:
        ax.hist(kept.scores[~kept.is_bonafide], bins=bins, alpha=0.6, color="C3", label="attack", density=True)
    else:
        for k, name in enumerate(np.unique(kept.pai[~kept.is_bonafide].astype(str))):
            sel = ~kept.is_bonafide & (kept.pai == name)
            ax.hist(kept.scores[sel], bins=bins, histtype="step", linewidth=1.4, color=f"C{(k + 3) % 10}", label=f"attack: {name}", density=True)
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1.0, label=f"threshold {threshold:.4g}")
    ax.set_xlabel("score (higher = bona fide)")
    ax.set_ylabel("density")
    ax.set_title("Score distributions")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)


def save_plots(scores: ScoreSet, sw: Sweep, threshold: float, directory: str | Path) -> list[Path]:
    """Write ``roc.png``, ``det.png`` and ``scores_hist.png`` for an evaluated set; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    curves = plot_curves({"test": sw}, directory, thresholds={"test": threshold})
    paths = [curves["roc"], curves["det"], directory / "scores_hist.png"]
    _histogram(scores, threshold, paths[2])
    logger.info("wrote %s", ", ".join(str(p) for p in paths))
    return paths


def plot_report(test: ScoreSet, report: MetricsReport, directory: str | Path) -> list[Path]:
    """The figures of a report made from ``test`` (aggregated the way the report states)."""
    method = report.aggregation["method"] if report.aggregation else "none"
    units, _ = aggregate_videos(test, method)
    kept = units.subset(~units.failed_to_acquire)
    return save_plots(kept, sweep(kept.scores, kept.is_bonafide, kept.pai, what="test set"), report.threshold, directory)
