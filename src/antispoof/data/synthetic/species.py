"""Presentation-attack-instrument species of the generator, and the visible cues they may carry.

Names start with their family (``print_``, ``replay_``, ``mask_``), so a coarse
real / print / replay / mask label is ``pai.split("_")[0]``. The six cut-out prints are
CASIA-SURF's attack types 1-6 (seed 001, Table 1); ``surf_type`` records the number for
leave-one-attack-out folds.
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass

from antispoof.data.base import ATTRIBUTES, BONAFIDE

__all__ = ["Species", "SPECIES", "ATTACK_SPECIES", "VISIBLE_CUES", "list_species", "resolve_species"]

# The six visible cues of seed 000; the seventh attribute is "invisible_attack".
VISIBLE_CUES = ATTRIBUTES[:6]


@dataclass(frozen=True)
class Species:
    """One species: its family, surface geometry and what it may show."""

    name: str
    family: str  # bonafide | print | replay | mask
    surface: str  # relief | flat | bent | screen
    cutouts: tuple[str, ...] = ()
    device: str | None = None
    surf_type: int | None = None
    weight: int = 1  # share in the default mix of attacks (families come out balanced)
    cues: tuple[str, ...] = ()  # visible cues this species can carry


_REPLAY_CUES = VISIBLE_CUES
_SPECIES_LIST = (
    Species(BONAFIDE, "bonafide", "relief"),
    Species("print_flat", "print", "flat"),
    Species("print_bent", "print", "bent"),
    Species("print_flat_eyes", "print", "flat", ("eyes",), surf_type=1),
    Species("print_bent_eyes", "print", "bent", ("eyes",), surf_type=2),
    Species("print_flat_eyes_nose", "print", "flat", ("eyes", "nose"), surf_type=3),
    Species("print_bent_eyes_nose", "print", "bent", ("eyes", "nose"), surf_type=4),
    Species("print_flat_eyes_nose_mouth", "print", "flat", ("eyes", "nose", "mouth"), surf_type=5),
    Species("print_bent_eyes_nose_mouth", "print", "bent", ("eyes", "nose", "mouth"), surf_type=6),
    Species("replay_phone", "replay", "screen", device="phone", weight=3, cues=_REPLAY_CUES),
    Species("replay_tablet", "replay", "screen", device="tablet", weight=3, cues=_REPLAY_CUES),
    Species("replay_monitor", "replay", "screen", device="monitor", weight=3, cues=tuple(c for c in _REPLAY_CUES if c not in ("fingers", "mobile_ui"))),
    Species("mask_rigid", "mask", "relief", weight=4),
)
SPECIES: dict[str, Species] = {s.name: s for s in _SPECIES_LIST}
ATTACK_SPECIES: tuple[str, ...] = tuple(s.name for s in _SPECIES_LIST if s.family != "bonafide")


def list_species(pattern: str = "*") -> list[str]:
    """Attack species names matching a shell wildcard, e.g. ``'print_*'``."""
    return [n for n in ATTACK_SPECIES if fnmatch.fnmatchcase(n, pattern)]


def resolve_species(names: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Attack species from names or wildcards (comma-separated string or list); all when None."""
    if names is None:
        return list(ATTACK_SPECIES)
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    out: list[str] = []
    for name in names:
        hits = list_species(name)
        if not hits:
            close = difflib.get_close_matches(name, ATTACK_SPECIES, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise KeyError(f"unknown attack species {name!r}{hint}; valid: {', '.join(ATTACK_SPECIES)}; wildcards like 'print_*' work")
        out.extend(h for h in hits if h not in out)
    return out
