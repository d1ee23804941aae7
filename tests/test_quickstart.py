"""End to end: the README's main job (`make quickstart`) reaches the issue's numbers on held-out
synthetic subjects, reproducibly, and leaves a bundle that `antispoof predict` uses.

One module-scoped fixture runs the quickstart exactly as the README says (`make quickstart`,
into runs/quickstart); the tests of its numbers, files and bundle read that run. Whether
the same seed gives the same numbers is asked of two runs through the CLI into temporary
folders at a reduced size (``--subjects``): the same code path, a fifth of the time (CI's
budget; a second full run would add about 6.5 minutes on 2 cores).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_OUT = ROOT / "runs" / "quickstart"

pytestmark = pytest.mark.slow


#: Subjects of the two reduced runs that check the seed: enough for the quickstart's train, dev and test subjects.
REDUCED_SUBJECTS = 20


@pytest.fixture(scope="module")
def runs() -> tuple[Path]:
    proc = subprocess.run(["make", "quickstart"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "ACER" in proc.stdout and "teacher" in proc.stdout, proc.stdout[-2000:]
    assert "dev APCER" in proc.stdout and "BPCER" in proc.stdout, proc.stdout[-2000:]
    console = proc.stdout + proc.stderr
    for noise in ("Tip:", "litlogger", "Warning", "warn(", "eval mode", "GPU available", "LOCAL_RANK"):
        assert noise.lower() not in console.lower(), (noise, console[-3000:])
    return (README_OUT,)


@pytest.fixture(scope="module")
def twice(tmp_path_factory) -> tuple[Path, Path]:
    """Two reduced quickstarts through the CLI with the same seed, each into its own temporary folder."""
    cli = [sys.executable, "-c", "from antispoof.cli import main; main()"]
    folders = []
    for name in ("first", "again"):
        out = tmp_path_factory.mktemp("quickstart") / name
        proc = subprocess.run([*cli, "quickstart", "--out", str(out), "--seed", "0", "--subjects", str(REDUCED_SUBJECTS)],
                              capture_output=True, text=True, timeout=1800)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        folders.append(out)
    return folders[0], folders[1]


def report(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text())


def test_everything_lands_under_the_output_folder(runs):
    out = runs[0]
    for name in ("report.md", "roc.png", "det.png", "runs/teacher/model.safetensors", "runs/student/model.safetensors",
                 "runs/teacher/config.yaml", "runs/teacher/run.json", "eval/teacher/scores_test.csv",
                 "eval/student/scores_test.csv", "bundle/model_card.json", "bundle/model.safetensors"):
        assert (out / name).is_file(), name
    r = report(out)
    assert r["method"] == "entry" and list(r["models"]) == ["teacher", "student"]
    for model in ("teacher", "student"):
        assert r[model]["threshold_rule"] == "eer"
        for key in ("acer", "hter", "auc", "apcer", "bpcer", "eer_dev"):
            assert key in r[model], (model, key)
        for key in ("acer", "hter", "auc", "threshold_rule", "backbone", "weights"):
            assert key in r["models"][model], (model, key)
        assert r["models"][model]["acer"] == r[model]["acer"]


def test_same_seed_gives_the_same_numbers(twice):
    a, b = (report(folder) for folder in twice)
    for model in ("teacher", "student"):
        for key in ("acer", "hter", "auc", "eer", "threshold", "apcer_per_pai"):
            assert a[model][key] == b[model][key], (model, key)


# The targets, on the README's run (seed 0, one-cycle teacher: teacher 7.50%,
# student 8.85%). ~20 test subjects make these noisy: earlier configs and machines gave
# 8.13-11.25% (teacher) and 10.10-15.19% (student) at seed 0, and other seeds vary more.
def test_teacher_acer_at_most_10_percent_on_held_out_subjects(runs):
    teacher = report(runs[0])["teacher"]
    assert teacher["acer"] <= 0.10, teacher


def test_student_acer_at_most_15_percent_on_held_out_subjects(runs):
    student = report(runs[0])["student"]
    assert student["acer"] <= 0.15, student


def test_the_bundle_has_a_usable_operating_point(runs):
    """Calibrated where the dev split can resolve it; its dev BPCER (live users refused) at most 20%."""
    from antispoof.inference.bundle import Bundle

    r = report(runs[0])
    card = Bundle.load(runs[0] / "bundle").card
    assert card.threshold.metrics["bpcer"] == r["bundle"]["dev_bpcer"] <= 0.20, r["bundle"]
    assert not any("finer than" in note for note in card.notes)


def test_predict_with_the_quickstart_bundle_on_a_real_photo(runs, samples_dir):
    cli = [sys.executable, "-c", "from antispoof.cli import main; main()"]
    photo = samples_dir / "silentface_image_T1.jpg"
    proc = subprocess.run([*cli, "predict", str(photo), "--model", str(runs[0] / "bundle"), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["decision"] in ("bonafide", "attack", "failed_to_acquire")
