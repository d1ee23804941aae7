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
``domain``      capture domain (dataset name, camera or phone model)
``split``       ``train``, ``dev`` or ``test`` for the protocol asked for
==============  =====================================================================

Optional columns: ``ir_path`` and ``depth_path`` (pixel-aligned IR and Depth images,
relative to the root); ``box_x0``, ``box_y0``, ``box_x1``, ``box_y1`` (the face box of a
still image or frame, in pixels, where the dataset or generator knows it; the
``dataset`` face detector uses it); and the visible-cue attributes of seed 000, each 0
or 1, or missing (NaN) where the dataset does not annotate it: ``ATTRIBUTES``.

Further optional columns some adapters fill: ``pai_class`` (the coarse class of the
species shared across datasets: ``bonafide``, ``print``, ``replay``, ``mask`` or
``other``; the real/print/replay head of seed 002 reads it), ``max_frames`` (how many
leading frames of the video a protocol allows, -1 for all: SiW Protocol 1 trains on the
first 60), ``device`` (capture camera or phone), and dataset-specific columns named in
each adapter's docstring. Protocols that combine datasets add ``dataset``, ``root``
(the root the row's paths are relative to) and ``source_split`` (the row's split in its
own dataset); see :mod:`antispoof.data.protocols`.
"""

from __future__ import annotations

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


class DatasetAdapter(ABC):
    """Reads one dataset from its original layout and knows its official protocols.

    Subclasses register with ``@DATASETS.register("name")`` and implement
    :meth:`protocols` and :meth:`samples`. Construction checks that ``root`` looks like the
    dataset and says what was expected and what was found when it does not.
    """

    name: ClassVar[str] = ""
    # The protocol used when none is given (None: the caller must choose one).
    default_protocol: ClassVar[str | None] = None

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @abstractmethod
    def protocols(self) -> list[str]:
        """Names of the official protocols (and folds) this dataset defines."""

    @abstractmethod
    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        """Rows of the given protocol and split (all splits when ``split`` is None), manifest columns."""

    def face_annotations(self, path: str) -> dict[int, dict[str, Any]] | None:
        """The dataset's own face annotations for one file, by frame index, or None if it has none.

        Each value may hold ``"box"``: ``(x0, y0, x1, y1)`` in pixels and/or ``"eyes"``:
        ``((left_x, left_y), (right_x, right_y))``. Still images use frame index -1.
        "left" is the eye seen on the left of the image (the subject's right eye).
        """
        return None
