"""Backbones (thin wrappers over timm) and one module per method.

Methods register in ``antispoof._registry.METHODS``. Any timm architecture name is a
valid backbone; ``list_backbones`` merges timm's names with locally registered ones.
"""

from __future__ import annotations

from antispoof._registry import BACKBONES

__all__ = ["list_backbones"]


def list_backbones(pattern: str = "*") -> list[str]:
    """Backbone names matching a wildcard: every timm architecture plus local ones (imports timm)."""
    import timm

    return sorted(set(timm.list_models(pattern)) | set(BACKBONES.list(pattern)))


# Local backbones register in BACKBONES, method modules in METHODS, on import.
from antispoof.models import plain_cnn  # noqa: E402,F401
from antispoof.models import entry  # noqa: E402,F401
from antispoof.training import distill  # noqa: E402,F401  (the entry student: `entry_distill`)
