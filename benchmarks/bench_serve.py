"""The liveness service under load on loopback: throughput, latency, errors, 503s and the server's peak memory.

``antispoof serve`` runs in a child process on 127.0.0.1 for a tiny untrained bundle (the
plain-CNN entry method at 32 px, threshold fixed at 0.5: the face detector and the
request handling dominate, not the model); its face detector is the card's real one
(blazeface) on webcam-like 640x480 JPEGs of a real face photo (../shared/samples,
jittered). Without that photo (or with ``--synthetic``) the frames are noise and the
detector is replaced by the tests' fixed box (``tests/toy_methods.FixedBox``).

1. capacity above the load (``--workers``, ``--queue`` >= clients): a single client in
   sequence (the baseline), then ``--clients`` threads sending ``--requests`` requests of
   1-4 frames each: req/s, frames/s, p50/p99 latency, errors (goal 0), 503s apart,
   throughput against the baseline, the server's peak RSS (VmHWM) against its RSS at rest;
2. over capacity (1 worker, queue 2): every client sends ``--burst`` requests back to
   back, all starting together: the extra requests must get 503 with Retry-After, never
   another error, and the server must answer /healthz and a request afterwards;
3. the same with large requests (``--big-frames`` 2048x2048 noise JPEGs, about 5 MB
   each; 0 skips it), first from as many clients as the capacity, then from all: what
   the requests refused with 503 cost the server in memory.

Every request is counted twice: by the clients and by the server's JSON-line log.

    .venv/bin/python benchmarks/bench_serve.py

Bounded in count (every phase sends a fixed number of requests) and time (``--max-seconds``
per phase); loopback only. Prints the numbers and the ratios; never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from antispoof import __version__

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "samples"
PHOTO = SAMPLES / "silentface_image_T1.jpg"
TESTS = ROOT / "tests"
BOX = (200.0, 120.0, 360.0, 280.0)  # the fixed face box of --synthetic frames (640x480)

# --synthetic: the service as `antispoof serve` builds it, with the tests' fixed box instead of the detector
SYNTHETIC_SERVER = """
import logging, sys
import uvicorn
sys.path.insert(0, {tests!r})
from toy_methods import FixedBox
from antispoof.serve.app import create_app
app = create_app({bundle!r}, insecure=True, workers={workers}, queue={queue})
for predictor in app.state.service.predictors.queue:
    predictor.detector = FixedBox({box!r})
log = logging.getLogger("antispoof.serve")
handler = logging.StreamHandler()
handler.setFormatter(logging.Formatter("%(message)s"))
log.addHandler(handler)
log.setLevel(logging.INFO)
log.propagate = False
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
"""


def tiny_bundle(folder: Path) -> Path:
    """The tests' tiny bundle: the entry method with a plain CNN at 32 px, untrained, threshold fixed at 0.5."""
    import torch

    from antispoof.config import load_config
    from antispoof.inference.bundle import bundle_network
    from antispoof.inference.card import ThresholdSpec, TrainingData
    from antispoof.methods import method_class

    torch.manual_seed(0)
    entry = method_class("entry")
    method = entry.from_config(load_config(entry.config_schema, None, ["model.backbone=plain_cnn", "data.image_size=32"])).eval()
    return bundle_network(
        folder / "bundle", method.network(), method.input_spec(), method="entry", backbone="plain_cnn",
        threshold=ThresholdSpec(value=0.5, rule="fixed=0.5", split="none", dataset="none (service benchmark)", metrics={}),
        training_data=TrainingData(dataset="none", description="untrained weights: a service benchmark"),
    ).path


def webcam_frames(n: int, synthetic: bool, seed: int = 0) -> list[bytes]:
    """``n`` 640x480 JPEGs (quality 92, as the webcam page sends): the real photo fitted on black, each shifted a few
    pixels; or noise frames for ``--synthetic``."""
    import cv2

    rng = np.random.default_rng(seed)
    if synthetic:
        images = [rng.integers(30, 220, size=(480, 640, 3), dtype=np.uint8) for _ in range(n)]
    else:
        photo = cv2.imread(str(PHOTO))
        h, w = photo.shape[:2]
        scale = min(640 / w, 480 / h)
        fitted = cv2.resize(photo, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((480, 640, 3), dtype=np.uint8)
        y0, x0 = (480 - fitted.shape[0]) // 2, (640 - fitted.shape[1]) // 2
        canvas[y0:y0 + fitted.shape[0], x0:x0 + fitted.shape[1]] = fitted
        images = [np.roll(canvas, tuple(int(v) for v in rng.integers(-6, 7, size=2)), axis=(0, 1)) for _ in range(n)]
    return [cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes() for image in images]


def big_frames(n: int, side: int = 2048) -> list[bytes]:
    """``n`` noise JPEGs of ``side`` x ``side`` px (quality 95: about 5 MB each at 2048), valid under the default limits."""
    import cv2

    rng = np.random.default_rng(1)
    return [cv2.imencode(".jpg", rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8),
                         [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes() for _ in range(n)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``antispoof serve`` (or the --synthetic equivalent) in a child process on a loopback port."""

    def __init__(self, bundle: Path, workers: int, queue: int, synthetic: bool, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if synthetic:
            code = SYNTHETIC_SERVER.format(tests=str(TESTS), bundle=str(bundle), workers=workers, queue=queue, box=BOX,
                                           port=self.port)
            command = [sys.executable, "-c", code]
        else:
            command = [sys.executable, "-c", "from antispoof.cli import main; main()", "serve", "--model", str(bundle),
                       "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers), "--queue", str(queue),
                       "--insecure-no-auth"]
        self.log_path = log_path
        self.log = log_path.open("w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)

    def __enter__(self) -> Server:
        import httpx

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"the server did not answer /healthz within 120 s:\n{self.log_path.read_text()[-3000:]}")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()

    def memory_mb(self) -> dict[str, float]:
        """The server's VmRSS (now) and VmHWM (peak since it started), MB."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        return fields

    def logged(self) -> Counter:
        """Statuses of the requests in the server's JSON-line log."""
        statuses = Counter()
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                try:
                    statuses[json.loads(line)["status"]] += 1
                except (ValueError, KeyError):
                    pass
        return statuses


@dataclass
class Answer:
    status: int  # 0: no HTTP answer (connection error or client timeout)
    seconds: float
    retry_after: str | None
    decision: str | None


def post(client, url: str, parts: list[bytes]) -> Answer:
    import httpx

    files = [("frames", (f"f{i}.jpg", p, "image/jpeg")) for i, p in enumerate(parts)]
    start = time.perf_counter()
    try:
        r = client.post(url + "/v1/liveness", files=files)
    except httpx.HTTPError:
        return Answer(0, time.perf_counter() - start, None, None)
    seconds = time.perf_counter() - start
    decision = r.json().get("decision") if r.status_code == 200 else None
    return Answer(r.status_code, seconds, r.headers.get("retry-after"), decision)


def run_clients(url: str, plans: list[list[list[bytes]]], timeout: float, max_seconds: float) -> tuple[list[Answer], float]:
    """One thread per plan, each sending its requests in order; all start together. Returns the answers and the wall time."""
    import httpx

    answers: list[Answer] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(plans) + 1)
    stop_at: list[float] = []

    def client(plan: list[list[bytes]]) -> None:
        with httpx.Client(timeout=timeout) as c:
            barrier.wait()
            for parts in plan:
                if time.monotonic() > stop_at[0]:
                    break
                a = post(c, url, parts)
                with lock:
                    answers.append(a)

    threads = [threading.Thread(target=client, args=(plan,), daemon=True) for plan in plans]
    for t in threads:
        t.start()
    stop_at.append(time.monotonic() + max_seconds)
    start = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join(max_seconds + timeout + 5)
    return answers, time.perf_counter() - start


def plan_requests(frames: list[bytes], n: int, clients: int) -> list[list[list[bytes]]]:
    """``n`` requests of 1, 2, 3, 4, 1, ... frames, dealt round-robin to ``clients`` clients."""
    plans: list[list[list[bytes]]] = [[] for _ in range(clients)]
    at = 0
    for i in range(n):
        k = i % 4 + 1
        plans[i % clients].append([frames[(at + j) % len(frames)] for j in range(k)])
        at += k
    return plans


def summary(answers: list[Answer], wall: float) -> dict:
    statuses = Counter(a.status for a in answers)
    ok = [a.seconds for a in answers if a.status == 200]
    return {
        "sent": len(answers), "ok": statuses[200], "busy": statuses[503],
        "errors": sum(v for s, v in statuses.items() if s not in (200, 503)),
        "statuses": dict(sorted(statuses.items())), "wall_s": wall, "rps": statuses[200] / wall if wall else 0.0,
        "p50_ms": float(np.percentile(ok, 50)) * 1000 if ok else float("nan"),
        "p99_ms": float(np.percentile(ok, 99)) * 1000 if ok else float("nan"),
        "retry_after": sum(a.retry_after is not None for a in answers if a.status == 503),
        "decisions": dict(Counter(a.decision for a in answers if a.decision)),
    }


def print_row(label: str, s: dict, frames_per_request: float) -> None:
    print(f"{label:<34} {s['sent']:>5} {s['ok']:>5} {s['busy']:>5} {s['errors']:>6} {s['wall_s']:>7.2f} {s['rps']:>7.1f} "
          f"{s['rps'] * frames_per_request:>8.1f} {s['p50_ms']:>8.1f} {s['p99_ms']:>8.1f}")


def still_up(server: Server, parts: list[bytes]) -> str:
    import httpx

    alive = server.process.poll() is None
    health = httpx.get(server.url + "/healthz", timeout=10).status_code if alive else None
    with httpx.Client(timeout=60) as c:
        after = post(c, server.url, parts).status if alive else None
    return f"process alive {alive}, /healthz {health}, a request afterwards {after}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=320, help="requests of phase 1 (1-4 frames each)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (threads, one connection each)")
    parser.add_argument("--workers", type=int, default=2, help="phase 1 server: requests scored at once")
    parser.add_argument("--queue", type=int, default=32, help="phase 1 server: requests that may wait")
    parser.add_argument("--baseline", type=int, default=40, help="requests of the single sequential client")
    parser.add_argument("--burst", type=int, default=4, help="phases 2 and 3: requests per client, back to back")
    parser.add_argument("--big-frames", type=int, default=2, help="phase 3: 2048x2048 frames per request (0 skips phase 3)")
    parser.add_argument("--timeout", type=float, default=120.0, help="client timeout per request, seconds")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="a phase stops sending after this many seconds")
    parser.add_argument("--synthetic", action="store_true", help="noise frames and a fixed face box (no real photo needed)")
    args = parser.parse_args()

    synthetic = args.synthetic or not PHOTO.is_file()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bundle = tiny_bundle(tmp)
        frames = webcam_frames(16, synthetic)
        mean_frames = float(np.mean([i % 4 + 1 for i in range(args.requests)]))
        print(f"antispoof {__version__}, {os.cpu_count()} cores visible (clients and server share them), "
              f"load average {os.getloadavg()[0]:.2f}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
        source = ("noise frames, fixed face box (--synthetic" + ("" if args.synthetic else f": {PHOTO} not found") + ")"
                  if synthetic else f"real face photo {PHOTO.name} as 640x480 webcam JPEGs, real detector (blazeface)")
        print(f"bundle: entry plain_cnn at 32 px (untrained, threshold 0.5); frames: {source}; "
              f"{np.mean([len(f) for f in frames]) / 1024:.0f} KB per frame")
        print()
        header = (f"{'run':<34} {'sent':>5} {'200':>5} {'503':>5} {'errors':>6} {'wall s':>7} {'req/s':>7} "
                  f"{'frames/s':>8} {'p50 ms':>8} {'p99 ms':>8}")

        # 1. capacity above the load
        with Server(bundle, args.workers, args.queue, synthetic, tmp / "server1.log") as server:
            run_clients(server.url, plan_requests(frames, 8, 1), args.timeout, args.max_seconds)  # warm-up
            rest = server.memory_mb()
            base, wall = run_clients(server.url, plan_requests(frames, args.baseline, 1), args.timeout, args.max_seconds)
            one = summary(base, wall)
            many, wall = run_clients(server.url, plan_requests(frames, args.requests, args.clients), args.timeout,
                                     args.max_seconds)
            load = summary(many, wall)
            memory = server.memory_mb()
            logged = server.logged()
        print(f"phase 1: workers {args.workers}, queue {args.queue} (capacity {args.workers + args.queue} >= "
              f"{args.clients} clients)")
        print(header)
        print_row("1 client, sequential (baseline)", one, mean_frames)
        print_row(f"{args.clients} clients, concurrent", load, mean_frames)
        print(f"throughput {args.clients} clients / 1 client: {load['rps'] / one['rps']:.2f}x; "
              f"p50 latency {load['p50_ms'] / one['p50_ms']:.1f}x the baseline's (requests wait for a worker)")
        print(f"errors: {load['errors']} (goal 0), statuses {load['statuses']}; 503s: {load['busy']}; "
              f"decisions {load['decisions']}")
        print(f"server log: {dict(sorted(logged.items()))} (warm-up 8 + baseline {one['sent']} + load {load['sent']} "
              f"= {8 + one['sent'] + load['sent']} sent)")
        print(f"server memory: RSS at rest {rest['VmRSS']:.0f} MB, peak (VmHWM) {memory['VmHWM']:.0f} MB, "
              f"after the load {memory['VmRSS']:.0f} MB: peak / rest {memory['VmHWM'] / rest['VmRSS']:.2f}")

        # 2 and 3. over capacity: 1 worker, queue 2
        capacity = 3
        phases = [("2", "small", plan_requests(frames, args.clients * args.burst, args.clients))]
        if args.big_frames:
            big = big_frames(args.big_frames)
            # as many clients as the capacity first (the reference), then all of them
            phases += [("3a", "large", [[big] * args.burst for _ in range(capacity)]),
                       ("3b", "large", [[big] * args.burst for _ in range(args.clients)])]
        growth = {}
        for phase, name, plans in phases:
            sizes = [sum(len(p) for p in parts) for plan in plans for parts in plan]
            size_mb = np.mean(sizes) / 2**20
            with Server(bundle, 1, capacity - 1, synthetic, tmp / f"server-{phase}.log") as server:
                run_clients(server.url, plan_requests(frames, 2, 1), args.timeout, args.max_seconds)  # warm-up
                rest = server.memory_mb()
                answers, wall = run_clients(server.url, plans, args.timeout, args.max_seconds)
                burst = summary(answers, wall)
                memory = server.memory_mb()
                up = still_up(server, frames[:1])
                logged = server.logged()
            growth[phase] = (len(plans), memory["VmHWM"] - rest["VmRSS"], size_mb)
            print()
            print(f"phase {phase}: workers 1, queue {capacity - 1} (capacity {capacity}); {len(plans)} clients x "
                  f"{args.burst} requests back to back, all starting together; {name} requests of {size_mb:.2f} MB "
                  "on average")
            print(header)
            print_row(f"{len(plans)} clients, burst", burst, np.mean([len(parts) for plan in plans for parts in plan]))
            print(f"503s: {burst['busy']} of {burst['sent']}, with Retry-After: {burst['retry_after']}; other errors: "
                  f"{burst['errors']} (goal 0), statuses {burst['statuses']}")
            print(f"afterwards: {up}; server log {dict(sorted(logged.items()))}")
            print(f"server memory: RSS at rest {rest['VmRSS']:.0f} MB, peak (VmHWM) {memory['VmHWM']:.0f} MB "
                  f"(+{growth[phase][1]:.0f} MB), after the burst {memory['VmRSS']:.0f} MB")
        if "3b" in growth:
            (n_a, g_a, size_mb), (n_b, g_b, _) = growth["3a"], growth["3b"]
            print()
            print(f"peak growth with {n_b} clients / with {n_a} (= capacity): {g_b / max(g_a, 1e-9):.2f}x; each client "
                  f"beyond the capacity added {(g_b - g_a) / (n_b - n_a):.1f} MB to the peak = "
                  f"{(g_b - g_a) / (n_b - n_a) / size_mb:.2f} of its {size_mb:.2f} MB request "
                  "(about 0: a refused request's body is never read; about 1: it is held before being refused)")

if __name__ == "__main__":
    main()
