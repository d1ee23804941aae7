"""The package's shape: configs by name, init_from, samplers, inference without Lightning, layers one way, no import circles."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from antispoof.cli import app
from antispoof.config import ConfigError, load_config
from antispoof.methods import config_path, list_configs, load_method_config, method_class
from antispoof.metrics.threshold import parse_threshold_rule, resolution_problem
from antispoof.data.samplers import BalancedSampler
from antispoof.weights import WEIGHTS_FILE, load_matching, load_state, save_weights

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "antispoof"
runner = CliRunner()


def test_packaged_configs_resolve_by_name_and_unknown_names_list_close_matches():
    assert {"entry", "entry_v1", "distill", "quickstart", "quickstart_student"} <= set(list_configs())
    assert config_path("entry").name == "entry.yaml" and config_path("entry").is_file()
    assert load_method_config("entry").model.backbone == "regnety_320"
    with pytest.raises(ConfigError, match="did you mean entry"):
        config_path("entyr")
    with pytest.raises(ConfigError, match="does not exist"):
        config_path("no/such.yaml")


def test_cli_train_by_name_refuses_a_misspelt_key_with_its_close_match():
    result = runner.invoke(app, ["train", "entry", "train.lrr=0.1"])
    assert result.exit_code != 0
    assert "unknown key train.lrr; did you mean train.lr" in str(result.exception)


def test_config_show_entry_works_from_an_installed_package(tmp_path):
    """Run from a folder with no src/ tree: the config comes from the installed package's data."""
    out = subprocess.run([sys.executable, "-m", "antispoof.cli", "config", "show", "entry", "seed=4"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    if "No module named antispoof.cli.__main__" in out.stderr:
        out = subprocess.run([sys.executable, "-c", "from antispoof.cli import main; main()", "config", "show", "entry", "seed=4"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "seed: 4" in out.stdout and "backbone: regnety_320" in out.stdout


def _entry(tmp_path: Path, name: str, backbone: str = "test_convnext") -> tuple[object, Path]:
    config = load_config(method_class("entry").config_schema, None, [f"model.backbone={backbone}", "data.image_size=32"])
    method = method_class("entry").from_config(config)
    folder = tmp_path / name
    folder.mkdir()
    save_weights(method.network(), folder / WEIGHTS_FILE, {"method": "entry"})
    return method, folder


def test_init_from_loads_a_run_and_reports_what_did_not_match(tmp_path):
    from antispoof.training.runner import build_method

    torch.manual_seed(1)
    source, folder = _entry(tmp_path, "source")
    config = load_config(method_class("entry").config_schema, None,
                         ["model.backbone=test_convnext", "data.image_size=32", f"init_from={folder}"])
    torch.manual_seed(2)
    started = build_method(config)
    for key, value in source.network().state_dict().items():
        assert torch.equal(started.network().state_dict()[key], value), key
    fresh = build_method(config, initialise=False)
    assert not all(torch.equal(fresh.network().state_dict()[k], v) for k, v in source.network().state_dict().items())

    # a spoof-only network from the same backbone: the backbone loads, the head does not (other shape)
    v1 = load_config(method_class("entry").config_schema, None, ["model.backbone=test_convnext", "model.heads=spoof_only"])
    report = load_matching(method_class("entry").from_config(v1).network(), load_state(folder), str(folder))
    assert report["mismatched"] == ["heads.bias", "heads.weight"] and report["loaded"]


def test_init_from_a_foreign_network_is_refused(tmp_path):
    _, folder = _entry(tmp_path, "plain", backbone="plain_cnn")
    other = method_class("entry").from_config(load_config(method_class("entry").config_schema, None, ["model.backbone=test_convnext"]))
    with pytest.raises(ValueError, match="no tensor of .* matches"):
        load_matching(other.network(), {"unrelated.weight": torch.zeros(3)}, "x")


def test_load_state_reads_plain_checkpoints_but_never_code(tmp_path):
    torch.save({"state_dict": {"module.a": torch.ones(2)}}, tmp_path / "ok.ckpt")
    assert list(load_state(tmp_path / "ok.ckpt")) == ["a"]

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"a": Evil()}, tmp_path / "evil.pth", _use_new_zipfile_serialization=True)
    with pytest.raises(ValueError, match="plain tensors"):
        load_state(tmp_path / "evil.pth")


def test_balanced_sampler_draws_live_and_spoof_one_to_one_and_shards_like_one_process():
    labels = np.array([1] * 3 + [0] * 17 + [-1] * 4)
    sampler = BalancedSampler(labels, seed=5)
    order = list(sampler)
    assert len(order) == 20
    drawn = labels[np.array(order) % len(labels)]
    assert (drawn == 1).sum() == 10 and (drawn == 0).sum() == 10 and (drawn >= 0).all()
    assert all({drawn[i], drawn[i + 1]} == {0, 1} for i in range(0, 20, 2))  # every pair holds both labels
    assert order == list(BalancedSampler(labels, seed=5)) and order != list(BalancedSampler(labels, seed=6))
    sampler.set_epoch(1)
    assert all(k >= len(labels) for k in sampler)  # epoch-coded for the seeded augmentation
    for replicas in (2, 3):
        shares = [list(BalancedSampler(labels, 5, num_replicas=replicas, rank=r)) for r in range(replicas)]
        assert len({len(share) for share in shares}) == 1  # the same number of samples on every process
        for share in shares:  # every process sees both labels, alternating
            got = labels[np.array(share) % len(labels)]
            assert all({got[i], got[i + 1]} == {0, 1} for i in range(0, len(got) - 1, 2))
    with pytest.raises(ValueError, match="needs both labels"):
        BalancedSampler(np.ones(4), seed=0)


@pytest.mark.parametrize("rule,n_bf,n_att,problem", [
    ("bpcer@apcer=0.01", 500, 80, True), ("bpcer@apcer=0.01", 500, 100, False), ("bpcer@apcer=0.05", 10, 20, False),
    ("apcer@bpcer=0.01", 99, 500, True), ("eer", 1, 1, False),
    ("bpcer@apcer=0.05", 500, {"print": 40, "replay": 8}, True),  # APCER is the worst species': 8 replays cannot resolve 5%
    ("bpcer@apcer=0.1", 500, {"print": 40, "replay": 10}, False),
])
def test_resolution_of_a_threshold_target(rule, n_bf, n_att, problem):
    assert bool(resolution_problem(parse_threshold_rule(rule), n_bf, n_att)) == problem


def test_scoring_a_bundle_imports_neither_lightning_nor_training(tmp_path):
    """In a fresh interpreter: open a bundle, score a frame through the Predictor (torch and onnxruntime)."""
    from test_method_contract import _bundle

    torch.manual_seed(0)
    method = method_class("entry").from_config(
        load_config(method_class("entry").config_schema, None, ["model.backbone=plain_cnn", "data.image_size=32"])).eval()
    bundle = _bundle(method, tmp_path)
    from antispoof.inference.export import export_onnx

    export_onnx(bundle.path, crops=method.input_spec().example(3, seed=0)["image"].numpy())
    code = f"""
import sys, json
import numpy as np
import antispoof.inference
from antispoof.inference import Predictor
from antispoof.faces.base import Face

class Box:
    needs_annotation = False
    def detect(self, image, annotation=None):
        return [Face((16.0, 16.0, 80.0, 80.0), 1.0)]

image = np.random.default_rng(0).integers(40, 200, size=(96, 96, 3), dtype=np.uint8)
scores = []
for backend in ("torch", "onnx"):
    p = Predictor({str(bundle.path)!r}, backend=backend)
    p.detector = Box()
    scores.append(p.predict_image(image).score)
print(json.dumps({{"scores": scores, "lightning": "lightning" in sys.modules,
                   "training": [m for m in sys.modules if m.startswith("antispoof.training") or m.startswith("antispoof.methods")]}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["lightning"] is False and facts["training"] == []
    assert all(s is not None and 0 <= s <= 1 for s in facts["scores"])
    assert abs(facts["scores"][0] - facts["scores"][1]) < 1e-4


def _imports(path: Path, package: str) -> set[str]:
    """The package-internal modules a file imports, at module level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith(package):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith(package))
    return out


def test_no_import_circles_in_the_package():
    modules = {}
    for f in PACKAGE.rglob("*.py"):
        rel = f.relative_to(PACKAGE.parent).with_suffix("")
        modules[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = f
    graph = {m: {t for t in _imports(f, "antispoof") if t in modules and t != m} for m, f in modules.items()}
    seen: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(m: str, path: list[str]) -> None:
        seen[m] = 1
        for t in sorted(graph[m]):
            if seen.get(t) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(t):] + [t]))
            if t not in seen:
                visit(t, path + [t])
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m, [m])


def _all_imports(path: Path) -> set[str]:
    """Every module a file imports (relative imports resolved), at module level or inside functions."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("").parts
    here = rel[:-1]  # the package holding the file (an __init__ is in its own package)
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[: len(here) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


def _offending(folder: str, banned: tuple[str, ...]) -> dict[str, set[str]]:
    found = {}
    for f in sorted((PACKAGE / folder).rglob("*.py")):
        bad = {m for m in _all_imports(f) if any(m == b or m.startswith(b + ".") for b in banned)}
        if bad:
            found[str(f.relative_to(PACKAGE))] = bad
    return found


def test_layers_point_one_way():
    """Inference and the service run a bundle: no method, no training engine, no study, no Lightning. Methods use no engine."""
    engine = ("antispoof.training", "antispoof.studies")
    for folder in ("inference", "serve"):
        found = _offending(folder, ("antispoof.methods", *engine, "lightning", "pytorch_lightning"))
        assert not found, f"{folder} imports what it must not: {found}"
    found = _offending("methods", engine)
    assert not found, f"methods import the training engine or the studies: {found}"
