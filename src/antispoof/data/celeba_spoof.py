"""CelebA-Spoof: 625k images of 10k subjects with the 44-value label vector and face boxes.

Layout (as distributed, ``root`` = the ``CelebA_Spoof`` folder)::

    root/Data/{train,test}/<subject>/{live,spoof}/000001.jpg  (+ 000001_BB.txt)
    root/metas/intra_test/train_label.json, test_label.json

A label file maps image paths (relative to root) to 44 integers (Zhang et al., ECCV
2020): 0-39 the CelebA face attributes, 40 spoof type, 41 illumination, 42 environment,
43 live (0) / spoof (1). Every image a label file names must exist.

Protocol ``intra_test``: train_label.json -> train, test_label.json -> test; no dev set
(``dev`` is empty). Further folders below ``metas/`` holding both a train_label.json and
a test_label.json are offered as protocols named by their path, read the same way
(``protocol1``, ``protocol2/test_on_low_quality_device``...).

Spoof types (index 40) -> ``pai`` (the dataset's own species) and ``pai_class``:
1 photo, 2 poster, 3 a4 (print); 4 face_mask, 5 upper_body_mask, 6 region_mask,
10 3d_mask (mask); 7 pc, 8 pad, 9 phone (replay). Illumination (41): normal, strong,
back, dark; environment (42): indoor, outdoor (''/live for bona fide rows) in the
``illumination`` and ``environment`` columns. The 40 face attributes are not copied.

Visible-cue attributes (seed 000) where the species settles them, NaN elsewhere:
bona fide rows have no device border, mobile UI or moire (0); print and mask rows have
no mobile UI and no moire (0: no screen). Fingers, glare, reflection and screen cues of
replays are not annotated by CelebA-Spoof and stay NaN.

Face boxes (``<image>_BB.txt``: ``x y w h score`` on the image scaled to 224 x 224) are
returned by :meth:`CelebASpoof.face_annotations` in pixels of the real image, which is
opened (header only) for its size.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from antispoof._registry import DATASETS
from antispoof.data._checks import (
    DatasetError,
    check_exists,
    check_protocol,
    preview,
    root_error,
    safe_relpath,
    select_split,
    to_frame,
)
from antispoof.data.base import ATTACK, ATTRIBUTES, BONAFIDE, DatasetAdapter

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["CelebASpoof", "SPOOF_TYPES"]

SPOOF_TYPES = {
    0: (BONAFIDE, BONAFIDE),
    1: ("photo", "print"),
    2: ("poster", "print"),
    3: ("a4", "print"),
    4: ("face_mask", "mask"),
    5: ("upper_body_mask", "mask"),
    6: ("region_mask", "mask"),
    7: ("pc", "replay"),
    8: ("pad", "replay"),
    9: ("phone", "replay"),
    10: ("3d_mask", "mask"),
}
ILLUMINATION = {0: "", 1: "normal", 2: "strong", 3: "back", 4: "dark"}
ENVIRONMENT = {0: "", 1: "indoor", 2: "outdoor"}
BOX_SCALE = 224
NAN = math.nan
EXPECTED = "Data/ and metas/intra_test/train_label.json, test_label.json"


def _attributes(pai_class: str) -> dict[str, float]:
    values = dict.fromkeys(ATTRIBUTES, NAN)
    if pai_class == BONAFIDE:
        values.update(device_border=0.0, mobile_ui=0.0, moire=0.0)
    elif pai_class in ("print", "mask"):
        values.update(mobile_ui=0.0, moire=0.0)
    return values


@DATASETS.register("celeba-spoof")
class CelebASpoof(DatasetAdapter):
    """CelebA-Spoof read from its JSON label files (protocol ``intra_test``)."""

    name = "celeba-spoof"
    face_source_default = "dataset"  # its *_BB.txt face boxes
    default_protocol = "intra_test"

    def __init__(self, root: str | Path) -> None:
        super().__init__(root)
        metas = self.root / "metas"
        # any folder below metas/ with both label files, named by its path: the release keeps protocol 2's three
        # tests one level deeper (metas/protocol2/test_on_low_quality_device/...)
        self._protocols = sorted(
            d.parent.relative_to(metas).as_posix() for d in metas.rglob("train_label.json")
            if (d.parent / "test_label.json").is_file()
        ) if metas.is_dir() else []
        if "intra_test" not in self._protocols:
            raise root_error("CelebA-Spoof", self.root, EXPECTED)
        self._cache: dict[str, pd.DataFrame] = {}

    def protocols(self) -> list[str]:
        return list(self._protocols)

    def _read(self, protocol: str) -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        for split in ("train", "test"):
            path = self.root / "metas" / protocol / f"{split}_label.json"
            try:
                labels = json.loads(path.read_text())
            except json.JSONDecodeError as err:
                raise DatasetError(f"{path} is not valid JSON ({err})") from None
            if not isinstance(labels, dict):
                raise DatasetError(f"{path}: expected a JSON object mapping image paths to 44-value label lists")
            bad = [k for k, v in labels.items() if not isinstance(v, list) or len(v) != 44]
            if bad:
                raise DatasetError(f"{path}: {len(bad)} entr(ies) are not lists of 44 integers: {preview(bad)}")
            for key, vector in labels.items():
                rel = safe_relpath(key, where=str(path))
                rows.append(self._row(rel, [int(v) for v in vector], split, path))
            check_exists(self.root, [r["path"] for r in rows if r["split"] == split], str(path))
        return to_frame(rows, extra=("illumination", "environment", "pai_class", *ATTRIBUTES))

    def _row(self, rel: str, vector: list[int], split: str, source: Path) -> dict[str, Any]:
        spoof, illumination, environment, is_spoof = vector[40:44]
        if spoof not in SPOOF_TYPES or (spoof == 0) != (is_spoof == 0):
            raise DatasetError(
                f"{source}: {rel} has spoof type {spoof} and live/spoof {is_spoof}; "
                "expected type 0 with live 0, or type 1-10 with spoof 1"
            )
        pai, pai_class = SPOOF_TYPES[spoof]
        parts = rel.split("/")
        subject = parts[-3] if len(parts) >= 3 else ""
        return {
            "path": rel,
            "label": BONAFIDE if spoof == 0 else ATTACK,
            "pai": pai,
            "subject": subject,
            "session": "",
            "video": rel.rsplit(".", 1)[0],
            "frame": -1,
            "domain": self.name,
            "split": split,
            "illumination": ILLUMINATION.get(illumination, str(illumination)),
            "environment": ENVIRONMENT.get(environment, str(environment)),
            "pai_class": pai_class,
            **_attributes(pai_class),
        }

    def samples(self, protocol: str | None = None, split: str | None = None) -> pd.DataFrame:
        protocol = check_protocol("CelebA-Spoof", protocol, self.protocols(), self.default_protocol)
        if protocol not in self._cache:
            self._cache[protocol] = self._read(protocol)
        return select_split(self._cache[protocol].copy(), split)

    def face_annotations(self, path: str) -> dict[int, dict[str, Any]] | None:
        """The box of ``<image>_BB.txt`` in image pixels, ``{-1: {"box": (x0, y0, x1, y1)}}``; None if absent."""
        rel = safe_relpath(path)
        bb = self.root / (rel.rsplit(".", 1)[0] + "_BB.txt")
        if not bb.is_file():
            return None
        fields = bb.read_text().split()
        try:
            x, y, w, h = (float(v) for v in fields[:4])
        except ValueError:
            raise DatasetError(f"{bb}: expected 'x y w h score'; found {' '.join(fields)!r}") from None
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(self.root / rel) as image:
                width, height = image.size
        except (OSError, UnidentifiedImageError) as err:
            raise DatasetError(f"cannot read the size of {self.root / rel} to scale its box ({err})") from None
        sx, sy = width / BOX_SCALE, height / BOX_SCALE
        return {-1: {"box": (x * sx, y * sy, (x + w) * sx, (y + h) * sy)}}
