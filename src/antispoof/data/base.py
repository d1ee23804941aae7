"""What every dataset gives the rest of the toolkit: the manifest columns and the adapter interface.

A dataset, whatever its on-disk layout, is read into one table (a pandas DataFrame) with
one row per video or image, in the columns of the generic manifest format:

==============  =====================================================================
column          meaning
==============  =====================================================================
``path``        file path relative to the dataset root, with extension ('/' separated)
``label``       ``bonafide`` or ``attack``
``pai``         presentation-attack-instrument species (``bonafide`` for live rows),
                e.g. ``print``, ``replay``, ``mask``; adapters use the dataset's own
                species names where it has them
``subject``     subject (person) identifier, a string
``session``     capture session identifier, a string ('' when unknown)
``video``       video identifier; rows that are frames of one video share it
``frame``       frame index for a row that is one frame of a video; -1 for a row that is
                a whole video file or a still image
``domain``      capture condition: the session (OULU-NPU, SiW), lighting, quality or camera as
                each adapter says; the dataset name in cross-dataset protocols
``split``       ``train``, ``dev`` or ``test`` for the protocol asked for
==============  =====================================================================

Optional columns: ``ir_path`` and ``depth_path`` (pixel-aligned IR and Depth images,
relative to the root); ``box_x0``, ``box_y0``, ``box_x1``, ``box_y1`` (the face box of a
still image or frame, in pixels, where the dataset or generator knows it; the
``dataset`` face detector uses it); and the visible-cue attributes of seed 000, each 0
or 1, or missing (NaN) where the dataset does not annotate it: ``ATTRIBUTES``.

Every adapter's samples also carry ``pai_class``: the coarse class of the species shared
across datasets, one of ``PAI_CLASSES`` (the real/print/replay head of seed 002 reads
it). An adapter may give its own (CASIA-SURF, whose ``type4`` says nothing by its name);
otherwise :func:`pai_class_of` derives it from ``pai`` when the samples pass through
:func:`antispoof.data._checks.select_split`. Further optional columns: ``max_frames``
(how many leading frames of the video a protocol allows, -1 for all: SiW Protocol 1
trains on the first 60), ``device`` (capture camera or phone), and dataset-specific columns named in
each adapter's docstring. Protocols that combine datasets add ``dataset``, ``root``
(the root the row's paths are relative to), ``source_split`` (the row's split in its
own dataset) and ``source_domain`` (the adapter's own ``domain``); see :mod:`antispoof.data.protocols`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # pandas is imported by the adapters that need it, not by `antispoof list`
    import pandas as pd

__all__ = [
    "BONAFIDE",
    "ATTACK",
    "SPLITS",
    "ATTRIBUTES",
    "MANIFEST_COLUMNS",
    "OPTIONAL_COLUMNS",
    "BOX_COLUMNS",
    "PAI_CLASSES",
    "pai_class_of",
    "DatasetAdapter",
]

BONAFIDE = "bonafide"
ATTACK = "attack"
SPLITS = ("train", "dev", "test")

# The visible-cue attributes of seed 000 (Entry), in the order of its first seven heads.
ATTRIBUTES = (
    "fingers",
    "device_border",
    "mobile_ui",
    "moire",
    "glare",
    "reflection",
    "invisible_attack",
)

MANIFEST_COLUMNS = ("path", "label", "pai", "subject", "session", "video", "frame", "domain", "split")
BOX_COLUMNS = ("box_x0", "box_y0", "box_x1", "box_y1")
OPTIONAL_COLUMNS = ("ir_path", "depth_path", *BOX_COLUMNS, *ATTRIBUTES)
PAI_CLASSES = ("bonafide", "print", "replay", "mask", "other")

# Words of species names, by class, tried in this order (the first class with a word in
# the name wins). The words are those of the adapters' and the generator's species:
# CelebA-Spoof ``a4``/``poster``/``pc``/``pad``/``3d_mask``, MSU-MFSD ``ipad_video``,
# Replay-Attack ``mobile_photo``/``highdef_video`` (a photo shown on a screen is a replay).
# ``photo`` alone comes last: a photo that names no screen is a printed one.
_PAI_WORDS = (
    ("mask", frozenset({"mask", "masks", "silicone", "latex", "resin"})),
    ("print", frozenset({"print", "prints", "printed", "paper", "poster", "a4"})),
    ("replay", frozenset({"replay", "video", "screen", "display", "digital", "monitor", "tablet", "pad", "ipad",
                          "phone", "iphone", "mobile", "pc", "laptop", "highdef"})),
    ("print", frozenset({"photo", "photos"})),
)  # fmt: skip


def pai_class_of(pai: str) -> str:
    """The class in ``PAI_CLASSES`` of a species name: ``print_flat`` -> print, ``ipad_video`` -> replay.

    ``bonafide`` is bonafide; a name starting with ``print``, ``replay`` or ``mask`` has
    that class (``replay2``); otherwise the first class of ``_PAI_WORDS`` with a word of
    the name (split at anything but letters and digits, case ignored); else ``other``
    (``makeup``, CASIA-SURF's ``type4``).
    """
    name = str(pai).strip().lower()
    if name == BONAFIDE:
        return BONAFIDE
    for cls in ("print", "replay", "mask"):
        if name.startswith(cls):
            return cls
    words = set(re.split(r"[^a-z0-9]+", name))
    for cls, known in _PAI_WORDS:
        if words & known:
            return cls
    return "other"


class DatasetAdapter(ABC):
    """Reads one dataset from its original layout and knows its official protocols.

    Subclasses register with ``@DATASETS.register("name")`` and implement
    :meth:`protocols` and :meth:`samples`. Construction checks that ``root`` looks like the
    dataset and says what was expected and what was found when it does not.
    """

    name: ClassVar[str] = ""
    # The protocol used when none is given (None: the caller must choose one).
    default_protocol: ClassVar[str | None] = None
    # Frames prepare takes from each video when not told (a FrameSampler dict; None: the toolkit's every 10th).
    default_sampling: ClassVar[dict[str, Any] | None] = None
    # Where prepare finds faces when not told: "dataset" (the dataset's own boxes or eye positions), "whole_image"
    # (it ships face crops, read as shipped) or None (the default detector).
    face_source_default: ClassVar[str | None] = None

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @abstractmethod
    def protocols(self) -> list[str]:
        """Names of the official protocols (and folds) this dataset defines."""

    @abstractmethod
    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        """Rows of the given protocol and split (all splits when ``split`` is None), manifest columns."""

    def face_source(self) -> str | None:
        """Where prepare finds this dataset's faces by default (``face_source_default``; the papers read shipped faces)."""
        return self.face_source_default

    def face_annotations(self, path: str) -> dict[int, dict[str, Any]] | None:
        """The dataset's own face annotations for one file, by frame index, or None if it has none.

        Each value may hold ``"box"``: ``(x0, y0, x1, y1)`` in pixels and/or ``"eyes"``:
        ``((left_x, left_y), (right_x, right_y))``. Still images use frame index -1.
        "left" is the eye seen on the left of the image (the subject's right eye).
        """
        return None
