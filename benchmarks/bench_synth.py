"""Synthetic generator speed: frames per second at 112x112 RGB, against writing blank frames.

The baseline, measured in the same run on the same disk, encodes and writes frames of the
same size and format that need no rendering, so the ratio says how much slower
generating is than just storing frames (the floor any generator pays). Goal: >= 300
frames/s at 112x112 RGB on 2 cores.

    python benchmarks/bench_synth.py --subjects 40 --frames 8 --size 112 --workers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from antispoof.data.synthetic import generate_dataset


def blank_frames_per_second(root: Path, n: int, size: int, image_format: str) -> float:
    """Encode and write ``n`` frames (a fixed image, varying JPEG quality) in per-clip folders."""
    rng = np.random.default_rng(0)
    img = (rng.uniform(0, 255, (size, size, 3))).astype(np.uint8)
    img = cv2.GaussianBlur(img, (0, 0), 2)  # natural-image-like, so the encoder works as hard
    params = [cv2.IMWRITE_JPEG_QUALITY, 85] if image_format == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 1]
    t0 = time.perf_counter()
    for i in range(n):
        folder = root / f"c{i // 8:05d}"
        if i % 8 == 0:
            folder.mkdir(parents=True)
        ok, buf = cv2.imencode(f".{image_format}", img, params)
        (folder / f"rgb_{i % 8:02d}.{image_format}").write_bytes(buf.tobytes())
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=40)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modalities", default="rgb")
    parser.add_argument("--format", default="jpg", choices=("jpg", "png"))
    parser.add_argument("--out", default=None, help="Folder to write to (default: a temporary folder, removed).")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    tmp = Path(args.out or tempfile.mkdtemp(prefix="bench_synth_"))
    try:
        mods = tuple(args.modalities.split(","))
        t0 = time.perf_counter()
        manifest = generate_dataset(
            tmp / "synth", subjects=args.subjects, frames=args.frames, size=args.size, seed=0,
            modalities=mods, workers=args.workers, image_format=args.format,
        )
        elapsed = time.perf_counter() - t0
        n = sum(1 for _ in manifest.open()) - 1
        fps = n / elapsed
        base = blank_frames_per_second(tmp / "blank", n, args.size, args.format)
        size_mb = sum(p.stat().st_size for p in (tmp / "synth").rglob("*") if p.is_file()) / 1e6
        print(f"cores: {os.cpu_count()}  workers: {args.workers}  size: {args.size}  modalities: {args.modalities}  format: {args.format}")
        print(f"generated {n} frames in {elapsed:.2f} s: {fps:.0f} frames/s (goal >= 300 at 112 px RGB on 2 cores)")
        print(f"baseline (encode + write blank frames, 1 process): {base:.0f} frames/s")
        print(f"ratio generate / baseline: {fps / base:.3f}")
        print(f"folder size: {size_mb:.1f} MB ({size_mb * 1e3 / max(n, 1):.1f} kB per frame incl. modalities)")
    finally:
        if args.out is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
