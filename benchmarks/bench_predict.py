"""End-to-end prediction speed on a video: decode + detect + quality + crop + score + aggregate.

A distilled-student bundle (``entry_distill``, spoof head only; backbone and input size
from the options; untrained weights: speed does not depend on their values) is built in
a temporary folder, exported to ONNX (parity checked on the video's own face crops),
and the Predictor scores every frame of a 640x480 H.264 video made from a real face
photo (../shared/samples, jittered so the detector works on every frame):

1. end to end, onnxruntime and PyTorch backends: frames/s and milliseconds per frame of
   each stage (goal: >= 60 frames/s at 112-128 px);
2. the model stage alone: achieved GFLOP/s (FLOPs counted by
   ``torch.utils.flop_counter`` at batch 1) against a float32 matrix-multiply peak
   measured in the same run with the same thread count (goal: >= 0.5 of that peak).

With onnxruntime, torch is set to one thread (it only normalises single crops there).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_predict.py --backbone lcnet_050 --size 128 --threads 2

Prints the numbers and the ratios; never fails on a time.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from antispoof import __version__

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def make_video(path: Path, frames: int, seed: int = 0) -> Path:
    """A 640x480 (portrait photo: 480x640) H.264 video of a real face photo, shifted a few pixels per frame."""
    import av

    from antispoof.data.video import read_image

    photo = SAMPLES / "silentface_image_T1.jpg"
    if not photo.is_file():
        raise SystemExit(f"the real face photo {photo} is missing; this benchmark needs ../shared/samples")
    image = read_image(photo)
    h, w = image.shape[:2]
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = 25
        for _ in range(frames):
            dx, dy = (int(v) for v in rng.integers(-6, 7, size=2))
            frame = np.roll(image, (dy, dx), axis=(0, 1))
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def student_bundle(folder: Path, backbone: str, size: int) -> Path:
    """A bundle of an untrained distillation student (threshold fixed at 0.5: a speed test, not a calibrated model)."""
    from antispoof.inference.bundle import bundle_network
    from antispoof.inference.card import ThresholdSpec, TrainingData
    from antispoof.methods.entry_distill import DistillationMethod, DistillConfig

    config = DistillConfig.model_validate({"data": {"image_size": size}, "model": {"backbone": backbone}})
    method = DistillationMethod.for_inference(config).eval()
    return bundle_network(
        folder / "bundle", method.network(), method.input_spec(), method="entry_distill", backbone=backbone,
        config=config, sampling={"policy": "all", "n": 1},
        threshold=ThresholdSpec(value=0.5, rule="fixed=0.5", split="none", dataset="none (speed benchmark)", metrics={}),
        training_data=TrainingData(dataset="none", description="untrained weights: a speed benchmark"),
    ).path


def matmul_peak(threads: int, n: int = 1024, repeats: int = 20) -> float:
    """float32 GFLOP/s of an n x n matrix multiply with ``threads`` threads (best of ``repeats``)."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best / 1e9


def model_flops(bundle_path: Path, size: int) -> float:
    """FLOPs of one crop through the bundle's scoring module (multiply-add = 2 FLOPs)."""
    from torch.utils.flop_counter import FlopCounterMode

    from antispoof.inference.bundle import Bundle

    module = Bundle.load(bundle_path).scorer_module()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.zeros(1, 3, size, size))  # one RGB input (the student reads one frame)
    return float(counter.get_total_flops())


def run_backend(bundle: Path, video: Path, backend: str, threads: int, batch: int, repeats: int) -> dict:
    from antispoof.data.sampling import FrameSampler
    from antispoof.inference.predictor import STAGES, Predictor

    predictor = Predictor(bundle, backend=backend, threads=threads, batch_size=batch)
    everything = FrameSampler("all", 1)
    predictor.predict_video(video, sampling=everything)  # warm-up
    best = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = predictor.predict_video(video, sampling=everything)
        wall = time.perf_counter() - start
        if best is None or wall < best[0]:
            best = (wall, result)
    wall, result = best
    n = len(result.frames)
    scored = sum(f.score is not None for f in result.frames)
    return {
        "frames": n,
        "scored": scored,
        "wall_s": wall,
        "fps": n / wall,
        "stage_ms": {s: result.timings_ms[s] / n for s in STAGES},
        "model_s": result.timings_ms["model"] / 1000.0,
        "decision": result.decision,
    }


def model_only(bundle: Path, backend: str, threads: int, size: int, batch: int, repeats: int = 10) -> float:
    """Seconds per crop of the model stage alone at ``batch``."""
    from antispoof.inference.backends import open_backend
    from antispoof.inference.bundle import Bundle

    scorer = open_backend(Bundle.load(bundle), backend, "fp32", threads)
    x = np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)
    for _ in range(3):
        scorer({"image": x})
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        scorer({"image": x})
        best = min(best, time.perf_counter() - start)
    return best / batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="lcnet_050")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import cv2

    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = make_video(tmp / "face.mp4", args.frames)
        bundle = student_bundle(tmp, args.backbone, args.size)

        from antispoof.inference.export import export_onnx
        from antispoof.inference.predictor import Predictor

        crops_from = Predictor(bundle, backend="torch", keep_crops=True).predict_video(video)
        from antispoof.data.transforms import normalize

        crops = torch.stack([normalize(f.crop) for f in crops_from.frames if f.crop is not None]).numpy()
        record = export_onnx(bundle, crops={"image": crops})

        thread_counts = sorted({1, args.threads})
        peaks = {t: matmul_peak(t) for t in thread_counts}
        flops = model_flops(bundle, args.size)
        print(f"antispoof {__version__}, torch {torch.__version__}, {os.cpu_count()} cores visible, {args.threads} threads, "
              f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load average {os.getloadavg()[0]:.2f} "
              "(other processes share these cores)")
        print(f"student: entry_distill {args.backbone} at {args.size} px, {flops / 1e6:.1f} MFLOP per crop; "
              f"ONNX parity on {len(crops)} real crops: max |score diff| {record['fp32']['max_abs_score_diff']:.2e}")
        print(f"video: {args.frames} frames 480x640 H.264; every frame scored; Predictor batch {args.batch}; best of {args.repeats}")
        print()
        header = f"{'backend':<12} {'frames/s':>9} {'x goal 60':>9} " + " ".join(f"{s:>9}" for s in ("decode", "detect", "quality", "crop", "model", "aggregate")) + "   (ms per frame)"
        print(header)
        rows = {}
        # (label, backend, model threads); with onnxruntime, torch only normalises single crops:
        # one torch thread there avoids thread hand-offs on tiny tensors
        runs = [("onnx", "onnx", args.threads), ("torch", "torch", args.threads), ("torch 1 thr", "torch", 1)]
        for label, backend, threads in runs:
            torch.set_num_threads(1 if backend == "onnx" else threads)
            r = run_backend(bundle, video, backend, threads, args.batch, args.repeats)
            rows[label] = (r, backend, threads)
            stages = " ".join(f"{r['stage_ms'][s]:>9.3f}" for s in ("decode", "detect", "quality", "crop", "model", "aggregate"))
            print(f"{label:<12} {r['fps']:>9.1f} {r['fps'] / 60:>9.2f} {stages}")
        # the peak again after the runs; the higher of the two is the reference (the conservative ratio)
        after = {t: matmul_peak(t) for t in thread_counts}
        peaks = {t: max(peaks[t], after[t]) for t in thread_counts}
        print()
        print("matrix-multiply peak (float32 1024^3, best of 20, before and after the runs): "
              + ", ".join(f"{t} thread(s) {peaks[t]:.1f} GFLOP/s" for t in thread_counts))
        print(f"{'model stage':<26} {'ms/crop':>8} {'GFLOP/s':>8} {'x peak':>7}")
        for label, (r, backend, threads) in rows.items():
            peak = peaks[threads]
            per_crop = r["model_s"] / max(r["scored"], 1)
            print(f"{label + ' (in pipeline)':<26} {per_crop * 1e3:>8.3f} {flops / per_crop / 1e9:>8.2f} {flops / per_crop / 1e9 / peak:>7.3f}")
            for batch in (1, args.batch, 128):
                s = model_only(bundle, backend, threads, args.size, batch)
                print(f"{label + f' alone, batch {batch}':<26} {s * 1e3:>8.3f} {flops / s / 1e9:>8.2f} {flops / s / 1e9 / peak:>7.3f}")


if __name__ == "__main__":
    main()
