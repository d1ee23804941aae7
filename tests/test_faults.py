"""Fault injection: each long command killed with SIGKILL at moments spread over its run, and with SIGTERM once,
then resumed or run again; its artifacts equal a clean run's and nothing half-written is read as complete.

Commands run as a user runs them (``antispoof ...`` in a subprocess) on a small synthetic
dataset. A kill lands at "after N epochs are done, plus a delay": the moment is read from
the run's ``run.json`` (``state.epochs_done``), so it is spread over the run however fast
the machine is. ``COUNTS`` collects what was done; the last test prints it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

pytestmark = pytest.mark.slow

ANTISPOOF = [str(Path(sys.executable).with_name("antispoof"))]  # the console script of this environment
TRAIN = ["train", "entry", "model.backbone=plain_cnn", "data.image_size=64", "train.max_epochs=3", "seed=3",
         "train.deterministic=true", "train.progress=false"]
COUNTS: Counter = Counter()


def _cli(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*ANTISPOOF, *args], cwd=cwd, capture_output=True, text=True, timeout=900)
    COUNTS["commands"] += 1
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def _epochs_done(run_json: Path) -> int:
    try:
        return int(json.loads(run_json.read_text())["state"].get("epochs_done", 0))
    except (OSError, ValueError, KeyError):
        return 0


def _interrupt(args: list[str], *, cwd: Path, signum: int, watch: str | None = None, epochs: int = 0, delay: float = 0.0,
               until: Callable[[], bool] | None = None) -> subprocess.CompletedProcess:
    """Start ``antispoof ARGS`` and send ``signum`` once a ``run.json`` matching the glob ``watch`` records ``epochs``
    epochs done, plus ``delay`` seconds (or once ``until()`` is true)."""
    proc = subprocess.Popen([*ANTISPOOF, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        if until is not None and until():
            break
        if watch is not None and any(_epochs_done(p) >= epochs for p in cwd.glob(watch)):
            time.sleep(delay)
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the command ended before the signal could be sent: {proc.stderr.read()[-2000:]}"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=600)
    COUNTS["commands"] += 1
    COUNTS[f"{signal.Signals(signum).name} sent"] += 1
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _same_weights(a: Path, b: Path) -> None:
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k].float(), wb[k].float(), atol=1e-6, rtol=0), k
    COUNTS["equal artifacts"] += 1


def _same_store(a: Path, b: Path) -> None:
    ia, ib = pd.read_parquet(a / "index.parquet"), pd.read_parquet(b / "index.parquet")
    key = ["source", "frame"] if "source" in ia.columns else list(ia.columns[:2])
    ia, ib = ia.sort_values(key).reset_index(drop=True), ib.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(ia, ib)
    crops_a = sorted(p.relative_to(a) for p in (a / "crops").rglob("*") if p.is_file())
    crops_b = sorted(p.relative_to(b) for p in (b / "crops").rglob("*") if p.is_file())
    assert crops_a == crops_b and crops_a
    assert all((a / p).read_bytes() == (b / p).read_bytes() for p in crops_a)
    COUNTS["equal artifacts"] += 1


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A synthetic dataset of 12-frame videos and its clean frame store (``store``)."""
    cwd = tmp_path_factory.mktemp("faults")
    _cli("synth", "--out", "data", "--subjects", "8", "--frames", "12", "--size", "96", "--seed", "1", cwd=cwd)
    _cli("prepare", "--dataset", "manifest", "--root", "data", "--out", "store", "--size", "64", "--first", "12",
         "--min-face", "16", cwd=cwd)
    return cwd


def test_prepare_killed_anywhere_resumes_to_the_clean_store(work):
    prepare = ["prepare", "--dataset", "manifest", "--root", "data", "--size", "64", "--first", "12", "--min-face", "16"]
    for i, done in enumerate((3, 40)):  # of its 64 sources
        out = f"store_killed{i}"
        _interrupt([*prepare, "--out", out], cwd=work, signum=signal.SIGKILL,
                   until=lambda: sum(1 for _ in (work / out / "parts").glob("*.parquet")) >= done)
        _cli(*prepare, "--out", out, cwd=work)
        _same_store(work / "store", work / out)


def test_training_stopped_or_killed_resumes_to_the_uninterrupted_weights(work):
    _cli(*TRAIN, "data.store=store", "--out", "clean", cwd=work)
    moments = [(signal.SIGKILL, 1, 0.3), (signal.SIGKILL, 2, 0.1), (signal.SIGTERM, 1, 0.1)]  # epoch 2, the last, epoch 2
    for i, (signum, epochs, delay) in enumerate(moments):
        run = f"killed{i}"
        stopped = _interrupt([*TRAIN, "data.store=store", "--out", run], cwd=work, signum=signum, watch=f"{run}/run.json",
                             epochs=epochs, delay=delay)
        assert stopped.returncode in (-signum, 128 + signum), stopped.stderr[-2000:]
        assert not (work / run / "model.safetensors").exists()  # no half-trained weights
        if i != 1:  # a killed run (its process gone) and an interrupted one
            refused = _cli("evaluate", run, cwd=work, check=False)
            assert refused.returncode == 2 and f"antispoof train --resume {run}" in refused.stderr, refused.stderr[-2000:]
            COUNTS["refused reads of an unfinished run"] += 1
        if signum == signal.SIGTERM:
            assert stopped.returncode == 143 and "resume it with `antispoof train --resume" in stopped.stderr
            assert json.loads((work / run / "run.json").read_text())["state"]["status"] == "interrupted"
        _cli("train", "--resume", run, cwd=work)
        _same_weights(work / "clean", work / run)


def test_a_two_stage_training_killed_in_its_second_stage_resumes(work):
    seq = ["train", "quickstart_sequence", "data.store=store", "model.weights=null", "model.backbone=test_convnext",
           "train.max_epochs=2", "frame_stage.max_epochs=1", "train.progress=false", "seed=2"]
    _cli(*seq, "--out", "seq_clean", cwd=work)
    _interrupt([*seq, "--out", "seq_killed"], cwd=work, signum=signal.SIGKILL, watch="seq_killed/stages/clips/run.json",
               epochs=1, delay=0.05)
    assert not (work / "seq_killed" / "model.safetensors").exists()
    _cli("train", "--resume", "seq_killed", cwd=work)
    _same_weights(work / "seq_clean", work / "seq_killed")
    plan = json.loads((work / "seq_killed" / "stages.json").read_text())
    assert [s["status"] for s in plan["stages"]] == ["done", "done"]


def test_a_grid_killed_in_its_second_run_keeps_the_first_and_resumes_the_second(work):
    grid = [*TRAIN[:-2], "train.max_epochs=2", "train.progress=false", "data.store=store", "seeds=[0,1]"]
    _cli(*grid, "--out", "grid_clean", cwd=work)
    _interrupt([*grid, "--out", "grid_killed"], cwd=work, signum=signal.SIGKILL, watch="grid_killed/run-seed1/run.json",
               epochs=1, delay=0.05)
    again = _cli(*grid, "--out", "grid_killed", cwd=work)
    assert "already finished" in again.stderr and "resuming" in again.stderr, again.stderr[-3000:]
    clean = json.loads((work / "grid_clean" / "folds.json").read_text())
    resumed = json.loads((work / "grid_killed" / "folds.json").read_text())
    assert clean["results"].keys() == resumed["results"].keys() and len(clean["results"]) == 2
    for name in clean["results"]:
        _same_weights(work / "grid_clean" / name, work / "grid_killed" / name)
    assert resumed["results"]["run-seed0"]["how"] == "trained" and resumed["results"]["run-seed1"]["how"] == "resumed"


def test_a_benchmark_killed_while_training_gives_the_clean_table(work):
    bench = ["benchmark", "--quick", "--subjects", "15", "--methods", "entry", "--protocol", "intra", "--seed", "4"]
    _cli(*bench, "--out", "bench_clean", cwd=work)
    _interrupt([*bench, "--out", "bench_killed"], cwd=work, signum=signal.SIGKILL, watch="bench_killed/runs/*/*/run.json",
               epochs=1, delay=0.05)
    _cli(*bench, "--out", "bench_killed", cwd=work)
    drop = {"run", "train_seconds", "score_seconds"}
    rows = [[{k: v for k, v in r.items() if k not in drop} for r in json.loads((work / d / "table.json").read_text())["rows"]]
            for d in ("bench_clean", "bench_killed")]
    assert rows[0] == rows[1] and rows[0]
    COUNTS["equal artifacts"] += 1
    print(f"\nfault injection: {dict(COUNTS)}", file=sys.stderr)  # noqa: T201 - the counts the closing note reports
