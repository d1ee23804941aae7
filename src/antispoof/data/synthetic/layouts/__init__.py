"""Simulated copies of the datasets' official layouts: the generator's faces written into each dataset's own tree.

``antispoof synth --layout NAME --out DIR`` renders bona fide and attack clips with the
synthetic generator and writes them where and as the real dataset keeps them (its folder
tree, file names, media types, protocol and annotation files), at reduced counts, so
that the dataset's adapter reads the folder unchanged and every protocol resolves. It is
how the real-data road (``prepare`` with the dataset's own faces, protocols, recipes) is
driven end to end without the licensed data.

A layout is a function registered in :data:`LAYOUTS` under the adapter's name::

    @LAYOUTS.register("oulu-npu")
    def oulu_npu(out: Path, settings: LayoutSettings) -> dict: ...

It plans its media items as :class:`~antispoof.data.synthetic.clips.VideoSpec` (the
dataset's attack types mapped onto the generator's species, its phones, sessions or
lighting onto the generator's capture domains), renders each with :func:`render`,
writes it with :func:`write_video` / :func:`write_image`, writes the dataset's own list
and annotation files, and returns a summary (counts per split and label) that
:func:`generate_layout` records in ``synth_layout.json`` at the root.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from antispoof._registry import Registry
from antispoof.data.synthetic.clips import Clip, VideoSpec, render_clip

__all__ = ["LAYOUTS", "LayoutSettings", "generate_layout", "list_layouts", "render", "share", "write_video", "write_image",
           "LAYOUT_FILE"]

LAYOUTS: Registry[Callable[[Path, "LayoutSettings"], dict[str, Any]]] = Registry("dataset layouts")
LAYOUT_FILE = "synth_layout.json"


@dataclass(frozen=True)
class LayoutSettings:
    """What decides a simulated dataset's content (recorded in ``synth_layout.json``)."""

    subjects: int = 10
    seed: int = 0
    frames: int = 8
    size: int = 128
    difficulty: float = 0.5
    modalities: tuple[str, ...] = ("rgb",)

    def check(self, minimum_subjects: int = 3) -> None:
        if self.subjects < minimum_subjects:
            raise ValueError(f"--subjects {self.subjects}: this layout needs at least {minimum_subjects} subjects "
                             "(one per split of its protocols)")
        if self.frames < 1 or not 16 <= self.size <= 1024:
            raise ValueError(f"--frames {self.frames} --size {self.size}: need at least 1 frame and a side of 16-1024 px")


def share(n: int, published: dict[str, int], dataset: str) -> dict[str, int]:
    """``n`` subjects dealt to the splits in the dataset's ``published`` proportion (subjects per split), at least one
    each and never more than published (largest remainders); refuses an ``n`` the dataset cannot hold."""
    total = sum(published.values())
    if not len(published) <= n <= total:
        counts = ", ".join(f"{v} {k}" for k, v in published.items())
        raise ValueError(f"--subjects {n}: {dataset} has {total} subjects ({counts}); give {len(published)}-{total}")
    exact = {k: n * v / total for k, v in published.items()}
    counts = {k: min(published[k], max(1, int(x))) for k, x in exact.items()}
    by_remainder = sorted(published, key=lambda k: exact[k] - int(exact[k]), reverse=True)
    while sum(counts.values()) != n:
        if sum(counts.values()) < n:
            k = next(k for k in by_remainder if counts[k] < published[k])
            counts[k] += 1
        else:  # only when the at-least-one rule overshoots a small n
            counts[max(counts, key=lambda k: counts[k])] -= 1
        by_remainder.append(by_remainder.pop(0))
    return counts


def render(spec: VideoSpec, settings: LayoutSettings, modalities: Sequence[str] | None = None) -> Clip:
    """The generator's clip for ``spec`` at the layout's size, frame count and difficulty."""
    return render_clip(spec, seed=settings.seed, size=settings.size, frames=settings.frames,
                       modalities=tuple(modalities or settings.modalities), difficulty=settings.difficulty)


def write_video(path: Path, frames: Sequence[np.ndarray], fps: int = 25) -> Path:
    """RGB uint8 frames as a decodable video: MPEG-4 part 2 in ``.avi``, H.264 in ``.mov`` / ``.mp4``."""
    import av
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    codec = "mpeg4" if path.suffix.lower() == ".avi" else "libx264"
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "18", "g": "10"}
        else:
            stream.bit_rate = 4_000_000
        for rgb in frames:
            # converted here, not by the encoder: FFmpeg's threaded converter object it would keep alive hangs a process
            # forked later (a loader or prepare worker frees it in the child and waits for threads that are not there)
            yuv = cv2.cvtColor(np.ascontiguousarray(rgb[: h - h % 2, : w - w % 2]), cv2.COLOR_RGB2YUV_I420)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_image(path: Path, image: np.ndarray, quality: int = 95) -> Path:
    """An RGB (``HxWx3``) or one-channel (``HxW``) uint8 image, in the format of ``path``'s suffix."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    data = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(path.suffix, data, params)
    if not ok:
        raise OSError(f"could not encode {path}")
    path.write_bytes(buf.tobytes())
    return path


def list_layouts() -> list[str]:
    """Names of the simulated layouts (the dataset adapters' names)."""
    _load()
    return LAYOUTS.list()


def generate_layout(name: str, out: str | Path, settings: LayoutSettings | None = None) -> Path:
    """Write the simulated ``name`` dataset into ``out`` (new or empty); returns ``out``."""
    _load()
    if name not in LAYOUTS.list():
        raise ValueError(f"no simulated layout {name!r}; choose one of {', '.join(LAYOUTS.list())}")
    settings = settings or LayoutSettings()
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; give a new or empty folder for the simulated {name} tree")
    root.mkdir(parents=True, exist_ok=True)
    summary = LAYOUTS.get(name)(root, settings)
    record = {"layout": name, "settings": asdict(settings), "summary": summary,
              "note": "simulated with antispoof's synthetic generator: the dataset's layout, not its data"}
    (root / LAYOUT_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return root


def _load() -> None:
    """Import the layout modules (each registers itself)."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
