"""A labelled contact sheet of a generated folder: one row per species, a few clips each.

Each tile shows a clip's first frame (with its face box) and, when present, the IR and
depth frames beside it; under it, the domain and the attribute codes that are set
(F fingers, B device border, U mobile UI, M moire, G glare, R reflection, I invisible
attack). The sheet reads only ``manifest.csv`` and the images, so it works on any
folder in the manifest format that has these columns.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from antispoof.data.base import ATTRIBUTES

__all__ = ["contact_sheet", "ATTRIBUTE_CODES"]

ATTRIBUTE_CODES = dict(zip(ATTRIBUTES, "FBUMGRI", strict=True))
_TILE = 128
_LABEL_W = 200
_TEXT_H = 18


def _read(root: Path, rel: str, colour: bool) -> np.ndarray:
    img = cv2.imread(str(root / rel), cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise FileNotFoundError(f"{root / rel} listed in the manifest is missing or unreadable")
    if not colour:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return cv2.resize(img, (_TILE, _TILE), interpolation=cv2.INTER_AREA)


def contact_sheet(manifest: str | Path, out_png: str | Path, *, per_species: int = 4, box: bool = True) -> Path:
    """Write a labelled PNG contact sheet of the folder whose ``manifest.csv`` is given; returns its path."""
    manifest = Path(manifest)
    if manifest.is_dir():
        manifest = manifest / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(f"no manifest at {manifest}; generate a folder first (antispoof synth --out DIR)")
    root = manifest.parent
    with manifest.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    first: dict[str, list[dict]] = {}
    seen_videos: set[str] = set()
    for r in rows:
        if r["video"] in seen_videos:
            continue
        seen_videos.add(r["video"])
        picks = first.setdefault(r["pai"], [])
        if len(picks) < per_species:
            picks.append(r)
    species = sorted(first, key=lambda n: (n != "bonafide", n))
    extras = [c for c in ("ir_path", "depth_path") if rows and c in rows[0] and rows[0][c]]
    tile_w = _TILE * (1 + len(extras))
    cell_w, cell_h = tile_w + 6, _TILE + _TEXT_H + 6
    sheet = np.full((_TEXT_H * 2 + cell_h * len(species), _LABEL_W + cell_w * per_species, 3), 255, np.uint8)
    title = f"{root.name}: {len(rows)} frames, {len(seen_videos)} clips. Codes: " + " ".join(
        f"{c}={a}" for a, c in ATTRIBUTE_CODES.items()
    )
    cv2.putText(sheet, title[:160], (4, _TEXT_H + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    for i, name in enumerate(species):
        y = _TEXT_H * 2 + i * cell_h
        label = "bona fide" if name == "bonafide" else name
        cv2.putText(sheet, label, (4, y + _TILE // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for j, r in enumerate(first[name]):
            x = _LABEL_W + j * cell_w
            rgb = _read(root, r["path"], True)
            if box and r.get("box_x0", "") not in ("", None):
                sx = sy = _TILE / max(1, cv2.imread(str(root / r["path"]), cv2.IMREAD_UNCHANGED).shape[1])
                p0 = (int(float(r["box_x0"]) * sx), int(float(r["box_y0"]) * sy))
                p1 = (int(float(r["box_x1"]) * sx), int(float(r["box_y1"]) * sy))
                cv2.rectangle(rgb, p0, p1, (0, 220, 0), 1)
            tiles = [rgb] + [_read(root, r[c], False) for c in extras]
            sheet[y : y + _TILE, x : x + tile_w] = np.hstack(tiles)
            codes = "".join(c for a, c in ATTRIBUTE_CODES.items() if str(r.get(a, "0")) in ("1", "1.0"))
            text = f"{r['domain']} {codes or '-'}"
            cv2.putText(sheet, text, (x + 2, y + _TILE + _TEXT_H - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 140), 1, cv2.LINE_AA)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), sheet):
        raise ValueError(f"could not write {out}; give a path ending in .png")
    return out
