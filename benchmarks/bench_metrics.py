"""Time 1,000,000 scores through the full metric set, against a plain numpy sort of the same array.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_metrics.py [--n 1000000] [--repeat 3]``

Prints the best of ``--repeat`` wall-clock times for each step and its ratio to
``numpy.sort`` of the same scores, measured in the same run (so the ratios compare across
machines). The "full metric set" is :func:`antispoof.metrics.evaluate` on a test set with
a dev set of the same size: per-species APCER, pooled APCER, BPCER, ACER, HTER at the dev
EER threshold, EER on dev and test, exact AUC, TPR at three FPRs.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from antispoof.metrics import ScoreSet, aggregate_videos, bootstrap_ci, evaluate, sweep


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def make(n: int, seed: int, frames_per_video: int = 10) -> ScoreSet:
    rng = np.random.default_rng(seed)
    n_videos = n // frames_per_video
    live_video = rng.random(n_videos) < 0.3
    live = np.repeat(live_video, frames_per_video)
    scores = rng.normal(live * 2.0, 1.0)
    species = np.repeat(rng.choice(np.array(["print", "replay", "mask"], dtype=object), n_videos), frames_per_video)
    pai = np.where(live, "bonafide", species).astype(object)
    video = np.repeat(np.array([f"v{i}" for i in range(n_videos)], dtype=object), frames_per_video)
    subject = np.repeat(np.array([f"s{i % 500}" for i in range(n_videos)], dtype=object), frames_per_video)
    return ScoreSet(scores, live, np.zeros(n, dtype=bool), pai, video, subject, None, None, f"bench{seed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores: os.cpu_count()={os.cpu_count()}, usable={affinity}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"scores: {args.n:,} test + {args.n:,} dev, 3 attack species, 30% bona fide videos; best of {args.repeat}")

    test, dev = make(args.n, 1), make(args.n, 2)
    plain_test = ScoreSet(test.scores, test.is_bonafide, test.failed_to_acquire, test.pai, None, test.subject, None, None, "bench")
    plain_dev = ScoreSet(dev.scores, dev.is_bonafide, dev.failed_to_acquire, dev.pai, None, dev.subject, None, None, "bench")

    baseline = best_time(lambda: np.sort(test.scores), args.repeat)
    print(f"{'baseline: numpy.sort of the test scores':66s} {baseline:8.3f} s   1.00x")

    steps = [
        ("sweep (sort + counts at every candidate), test only", lambda: sweep(plain_test.scores, plain_test.is_bonafide, plain_test.pai)),
        ("full metric set on 1M test scores alone: evaluate(test), oracle", lambda: evaluate(plain_test, threshold="oracle")),
        ("full metric set: evaluate(test, dev), rule eer", lambda: evaluate(plain_test, plain_dev, threshold="eer")),
        ("full metric set, rule bpcer@apcer=0.05", lambda: evaluate(plain_test, plain_dev, threshold="bpcer@apcer=0.05")),
        ("per-video mean aggregation of the test frames", lambda: aggregate_videos(test, "mean")),
        ("evaluate with per-video median aggregation", lambda: evaluate(test, dev, threshold="eer", aggregate="median")),
    ]
    for name, fn in steps:
        t = best_time(fn, args.repeat)
        print(f"{name:66s} {t:8.3f} s {t / baseline:6.2f}x")

    videos, _ = aggregate_videos(test, "mean")
    t = best_time(lambda: bootstrap_ci(videos, 0.5, n_resamples=200, seed=0), 1)
    print(f"{f'bootstrap CI, 200 resamples of {len(videos):,} videos / 500 subjects':66s} {t:8.3f} s {t / baseline:6.2f}x")


if __name__ == "__main__":
    main()
