"""What every pretraining objective (``kind = "pretraining"``) writes at the end: the backbone weights and their card.

``RUN/backbone.safetensors`` holds the trained backbone under its own tensor names (so
``model.weights=`` of a method with that backbone loads it), ``RUN/backbone.json`` what
it learnt from and how to use it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

__all__ = ["BACKBONE_FILE", "BACKBONE_CARD", "write_backbone"]

log = logging.getLogger(__name__)

BACKBONE_FILE = "backbone.safetensors"
BACKBONE_CARD = "backbone.json"


def write_backbone(method: Any, backbone: Any, run_dir: Path, facts: dict[str, Any], use: str) -> Path:
    """Write ``backbone`` and its card (``facts`` first, then the shared ones; ``use`` = the overrides that load it)."""
    from antispoof._runs import git_revision
    from antispoof.weights import save_weights

    c = method.config
    revision, dirty = git_revision()
    path = run_dir / BACKBONE_FILE
    card = {
        **facts,
        "started_from": str(c.model.weights) if c.model.weights else None,
        "trained_on": getattr(method, "trained_on", None),
        "input": method.input_spec().model_dump(mode="json"),
        "epochs": int(method.trainer.current_epoch), "steps": int(method.global_step), "seed": c.seed,
        "git_revision": revision, "git_dirty": dirty,
        "use": f"{use} model.weights={path}",
    }
    save_weights(backbone, path, {c.model.method: card})
    (run_dir / BACKBONE_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    log.info("%s: backbone weights %s (use: %s)", c.model.method, path, card["use"])
    return path
