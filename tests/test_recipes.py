"""Paper recipes: roots are resolved with clear errors, metrics read in the paper's units, every recipe runs (smoke).

The slow test runs every packaged recipe with ``--smoke`` on simulated copies of its
datasets' official layouts (``antispoof synth --layout``), as issue 28 asks of CI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from antispoof.data.synthetic.layouts import LayoutSettings, generate_layout
from antispoof.recipes import Data, PaperNumber, Recipe, get_recipe, list_recipes
from antispoof.recipes.run import _metric, resolve_roots

BIN = Path(sys.executable).parent
CROSS = Recipe(name="x-a-to-b", seed="004", method="lgsc", train=Data("casia-fasd"), test=Data("replay-attack"), metric="hter")


def test_roots_name_each_dataset_of_a_cross_dataset_recipe(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    assert resolve_roots(CROSS, [f"casia-fasd={a}", f"replay-attack={b}"]) == {"casia-fasd": a, "replay-attack": b}
    with pytest.raises(ValueError, match=r"give one --root NAME=DIR for each .*--root casia-fasd="):
        resolve_roots(CROSS, [str(a)])
    with pytest.raises(ValueError, match=r"no --root for replay-attack .*synth --layout replay-attack"):
        resolve_roots(CROSS, [f"casia-fasd={a}"])
    with pytest.raises(FileNotFoundError, match=r"replay-attack root .*nowhere does not exist.*synth --layout replay-attack"):
        resolve_roots(CROSS, [f"casia-fasd={a}", f"replay-attack={tmp_path / 'nowhere'}"])
    one = get_recipe("lgsc-oulu-p1")
    assert resolve_roots(one, [str(a)]) == {"oulu-npu": a}


def test_metrics_are_read_in_the_papers_units() -> None:
    report = {"acer": 0.05, "hter": 0.1, "auc": 0.98, "bpcer": 0.1, "apcer_pooled": 0.2, "n_bonafide": 10, "n_attack": 30,
              "tpr_at_fpr": {"1e-4": 0.5}}
    assert _metric(report, "acer") == pytest.approx(5.0) and _metric(report, "hter") == pytest.approx(10.0)
    assert _metric(report, "auc") == pytest.approx(0.98)  # a fraction, as the tables print it
    assert _metric(report, "tpr@fpr=1e-4") == pytest.approx(50.0)
    assert _metric(report, "accuracy") == pytest.approx(100 * (1 - (0.1 * 10 + 0.2 * 30) / 40))


def test_a_recipe_refuses_an_unknown_metric_and_says_what_it_runs() -> None:
    with pytest.raises(ValueError, match="metric 'f1' is not one of"):
        Recipe(name="x", seed="004", method="lgsc", train=Data("oulu-npu", "Protocol_1"), metric="f1")
    assert CROSS.datasets == ("casia-fasd", "replay-attack")
    assert "tested on replay-attack" in CROSS.describe() and "hter at eer on dev" in CROSS.describe()
    p3 = get_recipe("lgsc-oulu-p3")
    assert len(p3.folds) == 6 and "mean +- std" in p3.describe()
    assert any(p == PaperNumber("Table 2", "Ours, protocol 3", "acer", 1.7, 1.6) for p in p3.paper)


def test_recipe_list_and_show_name_the_paper_and_the_command() -> None:
    shown = subprocess.run([str(BIN / "antispoof"), "recipe", "show", "lgsc-oulu-p1"], capture_output=True, text=True, check=True).stdout
    assert "Table 2, Ours, protocol 1: acer 0.4" in shown and "antispoof recipe run lgsc-oulu-p1 --root DIR" in shown
    listed = subprocess.run([str(BIN / "antispoof"), "recipe", "list"], capture_output=True, text=True, check=True).stdout
    assert all(name in listed for name in list_recipes())
    wrong = subprocess.run([str(BIN / "antispoof"), "recipe", "show", "lgsc-oulu-p9"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "lgsc-oulu-p1" in wrong.stderr  # the close names


# The size of each simulated dataset of the smoke runs: the fewest subjects its layout and protocols accept.
SMOKE_SUBJECTS = {"oulu-npu": 3, "siw": 2, "replay-attack": 3, "casia-fasd": 2, "msu-mfsd": 2, "casia-surf": 3, "celeba-spoof": 4}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory):
    made: dict[str, Path] = {}

    def root(dataset: str) -> Path:
        if dataset not in made:
            settings = LayoutSettings(subjects=SMOKE_SUBJECTS.get(dataset, 3), frames=2, size=96)
            made[dataset] = generate_layout(dataset, tmp_path_factory.mktemp(dataset) / dataset, settings)
        return made[dataset]

    return root


@pytest.mark.slow
@pytest.mark.parametrize("name", list_recipes())
def test_every_recipe_runs_on_simulated_copies_of_its_datasets(name: str, simulated, tmp_path: Path) -> None:
    recipe = get_recipe(name)
    roots = [f"{d}={simulated(d)}" for d in recipe.datasets]
    args = [str(BIN / "antispoof"), "recipe", "run", name, *(a for r in roots for a in ("--root", r)), "--out", str(tmp_path / "r"),
            "--smoke"]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["smoke"] and report["ours"]["metric"] == recipe.metric and len(report["folds"]) == max(len(recipe.folds), 1)
    assert report["paper"] and "paper:" in done.stdout
    if name == "lgsc-siw-to-oulu-p3":  # a second call keeps the finished run (once: it costs the scoring again)
        again = subprocess.run(args, capture_output=True, text=True)
        assert again.returncode == 0 and again.stderr.count(": kept") == len(recipe.folds), again.stderr[-2000:]
