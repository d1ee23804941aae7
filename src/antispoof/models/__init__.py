"""Plain ``nn.Module`` networks and blocks, usable without Lightning: backbones (timm), the method networks.

Deployable networks register in ``antispoof._registry.NETWORKS`` and keep their
constructor kwargs in ``arch``, so a bundle rebuilds them from its weights file alone
(:mod:`antispoof.weights`). Any timm architecture name is a valid backbone;
``list_backbones`` merges timm's names with locally registered ones. The methods that
train these networks live in :mod:`antispoof.methods`.
"""

from __future__ import annotations

from antispoof._registry import BACKBONES

__all__ = ["list_backbones"]


def list_backbones(pattern: str = "*") -> list[str]:
    """Backbone names matching a wildcard: every timm architecture plus local ones (imports timm)."""
    import timm

    return sorted(set(timm.list_models(pattern)) | set(BACKBONES.list(pattern)))


def _load_networks() -> None:
    """Import every module of this package: local backbones register in BACKBONES, networks in NETWORKS."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_load_networks()
