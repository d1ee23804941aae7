"""ROC and DET plots of an evaluation (matplotlib, written to files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_roc_det"]


def plot_roc_det(curves: dict[str, Any], out_dir: Path, title: str = "") -> dict[str, Path]:
    """Write ``roc.png`` and ``det.png`` for ``{name: Sweep}`` (one line per named score set)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from antispoof.metrics import det_curve, roc_curve

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"roc": out_dir / "roc.png", "det": out_dir / "det.png"}
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, sw in curves.items():
        fpr, tpr, _ = roc_curve(sw)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=1)
    ax.set(xlabel="FPR (pooled APCER)", ylabel="TPR (1 - BPCER)", xlim=(0, 1), ylim=(0, 1.01), title=f"ROC {title}".strip())
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(paths["roc"], dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    eps = 1e-4
    for name, sw in curves.items():
        apcer, bpcer, _ = det_curve(sw)
        ax.plot(np.clip(apcer, eps, 1), np.clip(bpcer, eps, 1), label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set(xlabel="APCER (pooled)", ylabel="BPCER", xlim=(eps, 1), ylim=(eps, 1), title=f"DET {title}".strip())
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(paths["det"], dpi=120)
    plt.close(fig)
    return paths
