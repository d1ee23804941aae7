"""Plain ``nn.Module`` networks and blocks, usable without Lightning: backbones (timm), the method networks.

Deployable networks register with ``@NETWORKS.register(NAME)``, local backbones with
``@BACKBONES.register(NAME)`` (:mod:`antispoof._registry`); every module holding one is
imported below, so importing this package fills both registries. Networks keep their
constructor kwargs in ``arch``, so a bundle rebuilds them from its weights file alone
(:mod:`antispoof.weights`). Any timm architecture name is a valid backbone;
``list_backbones`` merges timm's names with locally registered ones. The methods that
train these networks live in :mod:`antispoof.methods`.
"""

from __future__ import annotations

from antispoof._registry import BACKBONES
from antispoof.models import (  # noqa: F401  (each module registers its networks and backbones)
    ensemble,
    entry,
    face_resnet,
    lgsc,
    minifasnet,
    multimodal,
    pdle,
    plain_cnn,
    sequence,
    ssl,
)

__all__ = ["list_backbones"]


def list_backbones(pattern: str = "*") -> list[str]:
    """Backbone names matching a wildcard: every timm architecture plus local ones (imports timm)."""
    import timm

    return sorted(set(timm.list_models(pattern)) | set(BACKBONES.list(pattern)))
