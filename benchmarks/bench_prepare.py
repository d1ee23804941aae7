"""Media pipeline speed: decoding (PyAV vs OpenCV), detectors, crop formats, prepare vs decode-only.

Everything is measured in one run on the same generated 640x480 H.264 videos (a face
photo moving across a noisy background), so the printed ratios compare like with like:

- decode: all frames, every 10th, 11 evenly spaced, with PyAV (antispoof.data.video)
  and with OpenCV's VideoCapture;
- detectors: milliseconds per 640x480 frame on one thread, for every registered model
  detector whose weights are installed;
- crop formats: JPEG q95 4:4:4 vs PNG on 256x256 crops (encode ms, bytes, PSNR);
- prepare: frames/s of ``prepare_store`` (fast detector, ``--workers``) against
  decode-only frames/s of the same frames of the same videos with the same reader, in
  one process and in ``--workers`` processes. Goal: prepare >= 0.8 x decode-only.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_prepare.py [--videos 4 --frames 300]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
# One decoding thread for OpenCV's FFmpeg backend too, so both readers are compared alike.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "threads;1")


def face_photo() -> np.ndarray:
    """A real face photo: ../shared/samples (T1) when present, else scikit-image's astronaut."""
    from antispoof.data.video import read_image

    sample = Path(__file__).resolve().parents[2] / "shared" / "samples" / "silentface_image_T1.jpg"
    if sample.is_file():
        return read_image(sample)
    from skimage import data

    return data.astronaut()


def write_video(path: Path, num_frames: int, seed: int) -> None:
    import av
    import cv2

    photo = face_photo()
    photo = cv2.resize(photo, (int(photo.shape[1] * 400 / photo.shape[0]), 400))
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.codec_context.gop_size = 25
        for i in range(num_frames):
            frame = background.copy()
            x = 40 + int(100 * (1 + np.sin(i / 20)))
            w = min(photo.shape[1], 640 - x)
            frame[40:440, x : x + w] = photo[:, :w]
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def decode_pyav(path: Path, indices: list[int]) -> int:
    from antispoof.data.video import VideoReader

    with VideoReader(path) as video:
        return sum(1 for _ in video.frames(indices))


def decode_opencv(path: Path, indices: list[int]) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    wanted, count = sorted(set(indices)), 0
    dense = len(wanted) > 1 and (wanted[-1] - wanted[0]) / (len(wanted) - 1) <= 10
    if dense:  # grab every frame, convert only the wanted ones
        position, targets = 0, set(wanted)
        while position <= wanted[-1] and cap.grab():
            if position in targets:
                ok, frame = cap.retrieve()
                count += int(ok and cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) is not None)
            position += 1
    else:
        for index in wanted:
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, frame = cap.read()
            count += int(ok and cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) is not None)
    cap.release()
    return count


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def bench_decode(video: Path, num_frames: int) -> None:
    from antispoof.data.sampling import evenly_spaced, every_nth

    import cv2

    cv2.setNumThreads(1)
    print("\n== decode one video (640x480 H.264, GOP 25), one thread ==")
    print(f"{'task':28s} {'PyAV s':>8s} {'OpenCV s':>9s} {'OpenCV/PyAV':>12s}")
    for name, indices in (
        (f"all {num_frames} frames", list(range(num_frames))),
        ("every 10th frame", every_nth(num_frames, 10)),
        ("11 evenly spaced", evenly_spaced(num_frames, 11)),
    ):
        t_av, n_av = timed(decode_pyav, video, indices)
        t_cv, n_cv = timed(decode_opencv, video, indices)
        print(f"{name:28s} {t_av:8.3f} {t_cv:9.3f} {t_cv / t_av:12.2f}   (frames: {n_av} / {n_cv})")


def bench_detectors(video: Path) -> None:
    import antispoof.faces  # noqa: F401
    from antispoof._registry import DETECTORS
    from antispoof.data.video import VideoReader

    with VideoReader(video) as reader:
        frame = next(iter(reader.frames([50])))[1]
    print("\n== detectors: ms per 640x480 frame, one thread (mean of 20 after 2 warm-up) ==")
    for name in DETECTORS.list():
        if DETECTORS.get(name).needs_annotation:
            continue
        try:
            detector = DETECTORS.create(name)
        except FileNotFoundError as err:
            print(f"{name:10s} not installed: {err}")
            continue
        for _ in range(2):
            faces = detector.detect(frame)
        start = time.perf_counter()
        for _ in range(20):
            faces = detector.detect(frame)
        ms = (time.perf_counter() - start) / 20 * 1000
        print(f"{name:10s} {ms:8.2f} ms/frame   faces found: {len(faces)}")


def bench_formats(video: Path) -> None:
    import cv2

    from antispoof.data.prepare import encode_image
    from antispoof.data.video import VideoReader
    from antispoof.faces import crop_face

    with VideoReader(video) as reader:
        frames = [f for _, f in reader.frames(range(0, 100, 10))]
    crops = [crop_face(f, (200, 100, 400, 300), size=256, scale=1.5) for f in frames]
    print("\n== crop format: 256x256 crops ==")
    for fmt in ("jpg", "png"):
        start = time.perf_counter()
        blobs = [encode_image(c, fmt, 95) for c in crops]
        ms = (time.perf_counter() - start) / len(crops) * 1000
        decoded = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1] for b in blobs]
        mse = np.mean([np.mean((d.astype(float) - c.astype(float)) ** 2) for d, c in zip(decoded, crops)])
        psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
        size = np.mean([len(b) for b in blobs]) / 1024
        print(f"{fmt:4s} encode {ms:6.2f} ms   {size:7.1f} KiB   PSNR {psnr:6.2f} dB")


def _decode_all(args: tuple[str, str, int]) -> int:
    from antispoof.data.sampling import FrameSampler

    path, policy, n = args
    from antispoof.data.video import VideoReader

    with VideoReader(path) as video:
        return sum(1 for _ in video.frames(FrameSampler(policy, n).indices(video.num_frames)))


def bench_prepare(videos: list[Path], workers: int, policy: str, n: int, detector: str, repeats: int) -> None:
    import pandas as pd

    from antispoof.data.prepare import prepare_store
    from antispoof.data.base import DatasetAdapter
    from antispoof.data.sampling import FrameSampler

    class Videos(DatasetAdapter):
        def protocols(self) -> list[str]:
            return ["all"]

        def samples(self, protocol=None, split=None):  # noqa: ANN001, ANN202
            return pd.DataFrame(
                [{"path": v.name, "label": "bonafide", "pai": "bonafide", "subject": str(i), "session": "",
                  "video": v.stem, "frame": -1, "domain": "bench", "split": "train"} for i, v in enumerate(videos)]
            )

    jobs = [(str(v), policy, n) for v in videos]
    context = multiprocessing.get_context("fork")

    def decode_one_process() -> int:
        return sum(_decode_all(j) for j in jobs)

    def decode_pool() -> int:
        with context.Pool(workers) as pool:
            return sum(pool.map(_decode_all, jobs, chunksize=1))

    def prepare_once():  # noqa: ANN202
        store = Path(tempfile.mkdtemp(prefix="bench_store_"))
        try:
            return prepare_store(Videos(videos[0].parent), store, dataset="bench", detector=detector,
                                 sampler=FrameSampler(policy, n), workers=workers, progress=False)
        finally:
            shutil.rmtree(store, ignore_errors=True)

    # Best of `repeats` for each, interleaved, so a burst of load from other jobs on a
    # shared machine hits all three alike. CPU time (this process and its reaped children)
    # is load-independent: it says how much work preparing adds to decoding.
    t1 = tw = tp = c1 = cp = float("inf")
    for _ in range(repeats):
        (elapsed, frames), cpu = cpu_timed(timed, decode_one_process)
        t1, c1 = min(t1, elapsed), min(c1, cpu)
        tw = min(tw, timed(decode_pool)[0])
        (elapsed, report), cpu = cpu_timed(timed, prepare_once)
        tp, cp = min(tp, elapsed), min(cp, cpu)
    failed = report.failed_frames
    fps1, fpsw, fpsp = frames / t1, frames / tw, report.frames / tp
    print(f"\n== prepare vs decode-only: {len(videos)} videos, sampling {policy} {n}, {frames} frames, best of {repeats} ==")
    print(f"decode-only, 1 process        {fps1:8.1f} frames/s   CPU {1000 * c1 / frames:6.2f} ms/frame")
    print(f"decode-only, {workers} processes      {fpsw:8.1f} frames/s")
    print(f"prepare ({detector}, {workers} workers) {fpsp:8.1f} frames/s   CPU {1000 * cp / report.frames:6.2f} ms/frame"
          f"   ({report.frames} frames, {failed} failed)")
    print(f"ratio prepare / decode-only (1 process):  {fpsp / fps1:.2f}   goal >= 0.8")
    print(f"ratio prepare / decode-only ({workers} processes): {fpsp / fpsw:.2f}")
    print(f"CPU per frame, prepare / decode-only: {cp / c1 * frames / report.frames:.2f} "
          f"(with {workers} otherwise idle cores the wall-clock ratio would be about {workers} / this)")


def cpu_timed(fn, *args):  # noqa: ANN001, ANN201
    """``(fn(*args), CPU seconds)`` counting this process and the child processes it reaped."""
    before = os.times()
    result = fn(*args)
    after = os.times()
    cpu = sum(getattr(after, k) - getattr(before, k) for k in ("user", "system", "children_user", "children_system"))
    return result, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--detector", default="blazeface")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()} (usable: {len(os.sched_getaffinity(0))}); python {sys.version.split()[0]}")
    folder = Path(tempfile.mkdtemp(prefix="bench_prepare_"))
    try:
        videos = [folder / f"video_{i}.mp4" for i in range(args.videos)]
        for i, path in enumerate(videos):
            write_video(path, args.frames, seed=i)
        bench_decode(videos[0], args.frames)
        bench_detectors(videos[0])
        bench_formats(videos[0])
        for policy, n in (("all", 1), ("every", 10)):
            bench_prepare(videos, args.workers, policy, n, args.detector, args.repeats)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
