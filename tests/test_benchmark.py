"""The benchmark: its protocols' test sides, its rows (one per model and protocol), intervals, failures, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from antispoof.cli import app
from antispoof.metrics import ScoreSet, evaluate
from antispoof.studies import benchmark as bm
from antispoof.studies import benchmark_runs

DOMAINS = ("webcam_hd", "budget_phone")
SPECIES = ("bonafide", "print_glossy", "replay_monitor", "mask_paper")


def _scores(seed: int, n_subjects: int = 8, held_shift: float = 0.0) -> tuple[ScoreSet, dict[str, str]]:
    """Two frames per video; per subject, one video of every species in each domain. Attacks of the replay family and
    videos of budget_phone score ``held_shift`` closer to the other class (what an unseen part looks like)."""
    rng = np.random.default_rng(seed)
    rows, domain_of = [], {}
    for s in range(n_subjects):
        for d in DOMAINS:
            for species in SPECIES:
                video = f"s{s}_{d}_{species}"
                domain_of[video] = d
                live = species == "bonafide"
                base = 0.75 if live else 0.25
                if species.startswith("replay") or d == "budget_phone":
                    base += -held_shift if live else held_shift
                for _ in range(2):
                    rows.append((float(np.clip(base + rng.normal(0, 0.15), 0, 1)), live, species, video, f"s{s}"))
    scores, live, pai, video, subject = map(np.asarray, zip(*rows))
    return ScoreSet.from_arrays(scores, live, pai=pai, video=video, subject=subject), domain_of


def test_protocol_sides_cut_the_test_units_as_documented() -> None:
    pai = np.array(["bonafide", "replay_monitor", "print_glossy", "bonafide", "mask_paper"])
    domain = np.array(["webcam_hd", "webcam_hd", "budget_phone", "budget_phone", "webcam_hd"])
    live = pai == "bonafide"
    unseen_attack = bm.make_protocol("unseen-attack", family="replay")
    assert unseen_attack.overrides == ("data.exclude_attacks=[replay_monitor,replay_phone,replay_tablet]",)  # what test marks
    attack = unseen_attack.sides(pai, domain, live)
    assert attack["target"].tolist() == [True, True, False, True, False]  # bona fide + replay attacks
    assert attack["seen"].tolist() == [True, False, True, True, True]  # bona fide + the other families
    cross = bm.make_protocol("cross-domain", domain="budget_phone").sides(pai, domain, live)
    assert cross["target"].tolist() == [False, False, True, True, False]
    assert cross["seen"].tolist() == (~cross["target"]).tolist()
    assert bm.make_protocol("intra").sides(pai, domain, live)["target"].all()
    with pytest.raises(ValueError, match="choose from intra, unseen-attack, cross-domain"):
        bm.make_protocol("cross-dataset")
    with pytest.raises(ValueError, match="domains are"):
        bm.make_protocol("cross-domain", domain="dslr")


@pytest.mark.parametrize("name", ["unseen-attack", "cross-domain"])
def test_protocol_metrics_threshold_from_dev_without_the_held_out_part_and_intervals_hold_the_estimates(name: str) -> None:
    protocol = bm.make_protocol(name, family="replay", domain="budget_phone")
    dev, domain_of = _scores(1, held_shift=0.3)
    test, _ = _scores(2, held_shift=0.3)
    row = bm.protocol_metrics(protocol, dev, test, domain_of)

    # by hand: the threshold is the dev EER without the held-out rows; metrics on the target units only
    dev_domain = np.array([domain_of[v] for v in dev.video])
    test_domain = np.array([domain_of[v] for v in test.video])
    if name == "unseen-attack":
        dev_keep = np.array([live or not p.startswith("replay") for p, live in zip(dev.pai, dev.is_bonafide)])
        target = np.array([live or p.startswith("replay") for p, live in zip(test.pai, test.is_bonafide)])
    else:
        dev_keep, target = dev_domain != "budget_phone", test_domain == "budget_phone"
    expected = evaluate(test.subset(target), dev.subset(dev_keep), threshold="eer")
    assert row["threshold"] == pytest.approx(expected.threshold)
    assert row["hter"] == pytest.approx(expected.hter) and row["auc"] == pytest.approx(expected.auc)
    assert set(row["apcer_per_pai"]) <= set(SPECIES[1:])
    assert row["apcer"] == pytest.approx(max(row["apcer_per_pai"].values()))
    for key in ("apcer", "bpcer", "acer", "hter", "auc"):
        lo, hi = row["ci"][key]
        assert lo <= row[key] <= hi, (key, lo, row[key], hi)
    assert row["ci_unit"] == "subject"
    # the held-out part is harder than the seen one, as the data were made
    assert row["seen"]["hter"] < row["hter"]
    assert row["seen"]["auc"] > row["auc"]


def test_method_entries_cover_every_registered_detector_teachers_first() -> None:
    from antispoof.methods import list_methods

    from antispoof.methods import method_class

    entries = bm.method_entries("all")
    names = [e.name for e in entries]
    assert sorted(names) == sorted(list_methods())
    student = next(e for e in entries if e.name == "entry_distill")
    assert student.teacher == "entry" and names.index("entry") < names.index("entry_distill")
    # every packaged detector has a config to be benchmarked with (toy methods other tests register have none)
    packaged = [e for e in entries if method_class(e.name).__module__.startswith("antispoof.methods.")]
    assert {"entry", "entry_distill", "pdle", "lgsc"} <= {e.name for e in packaged}
    assert all(e.config for e in packaged), [e.name for e in packaged if not e.config]
    only_student = bm.method_entries(["entry_distill"])
    assert [e.name for e in only_student] == ["entry", "entry_distill"]
    with pytest.raises(KeyError, match="close matches|Did you mean|pdle"):
        bm.method_entries(["pdl"])


class _FakeData:
    def __init__(self, domain_of: dict[str, str]) -> None:
        self.domain_of = domain_of


def test_table_has_a_row_per_model_and_protocol_and_a_failure_stays_in_its_row(tmp_path: Path, monkeypatch) -> None:
    dev, domain_of = _scores(3)
    test, _ = _scores(4)
    trained: list[tuple[str, str]] = []

    def fake_create(out, entries, **kwargs):
        return _FakeData(domain_of)

    def fake_train(entry, protocol, data, run_dir, **kwargs):
        if entry.name == "broken":
            raise RuntimeError("the network diverged")
        trained.append((entry.name, protocol.name))
        run_dir.mkdir(parents=True, exist_ok=True)
        return run_dir

    monkeypatch.setattr(benchmark_runs.BenchmarkData, "create", classmethod(lambda cls, *a, **k: fake_create(*a, **k)))
    monkeypatch.setattr(benchmark_runs, "train_entry", fake_train)
    monkeypatch.setattr(benchmark_runs, "score_entry", lambda *a, **k: (dev, test))
    entries = [*bm.method_entries("all"), bm.ModelEntry("broken", "entry", "quickstart")]
    table = bm.run_benchmark(tmp_path, entries=entries, quick=True)

    keys = [(r["model"], r["protocol"]) for r in table["rows"]]
    assert sorted(keys) == sorted((e.name, p) for e in entries for p in bm.PROTOCOLS)
    broken = [r for r in table["rows"] if r["model"] == "broken"]
    assert all(r["error"] == "RuntimeError: the network diverged" for r in broken)
    assert all("error" not in r and 0 <= r["hter"] <= 1 for r in table["rows"] if r["model"] != "broken")
    text = (tmp_path / "table.md").read_text()
    assert text.count("failed: RuntimeError: the network diverged") == len(bm.PROTOCOLS)
    assert json.loads((tmp_path / "table.json").read_text())["rows"] == json.loads(json.dumps(table["rows"]))
    assert (tmp_path / "benchmark.png").stat().st_size > 0
    # the summary: one line per model, a pair of columns per protocol, the failed model's cells say so
    summary = (tmp_path / "summary.md").read_text().splitlines()
    assert len(summary) == 2 + len(entries) and summary[0].count("HTER [95% CI]") == len(bm.PROTOCOLS)
    assert summary[-1].startswith("| broken |") and summary[-1].count("failed") == len(bm.PROTOCOLS)
    first = next(r for r in table["rows"] if r["model"] == entries[0].name and r["protocol"] == "intra")
    assert f"| {entries[0].name} | {100 * first['hter']:.1f}% [" in summary[2]

    # a second call keeps the finished rows and retries only the failed ones
    trained.clear()
    bm.run_benchmark(tmp_path, entries=entries, quick=True)
    assert trained == []
    # a call with fewer models or protocols runs only those, and the table keeps the others' rows
    bm.run_benchmark(tmp_path, entries=entries[:1], protocols=["intra"], quick=True)
    after = [(r["model"], r["protocol"]) for r in json.loads((tmp_path / "table.json").read_text())["rows"]]
    assert sorted(after) == sorted(keys)  # the failed rows of the model not run stay too, with their errors
    assert [p for _, p in after] == sorted((p for _, p in after), key=bm.PROTOCOLS.index)
    with pytest.raises(ValueError, match="other settings"):
        bm.run_benchmark(tmp_path, entries=entries, quick=False)


@pytest.mark.slow
def test_benchmark_cli_trains_scores_and_writes_both_files(tmp_path: Path, silentface_dir: Path) -> None:
    """Two methods (a teacher and its student) and the imported Silent-Face bundle, reduced size, every protocol."""
    bundle = tmp_path / "silentface"
    runner = CliRunner()
    result = runner.invoke(app, ["import", "silentface", "--weights", str(silentface_dir), "--out", str(bundle)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "bench"
    result = runner.invoke(app, ["benchmark", "--quick", "--subjects", "15", "--methods", "entry,entry_distill",
                                 "--bundles", str(bundle), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = json.loads((out / "table.json").read_text())
    keys = {(r["model"], r["protocol"]) for r in table["rows"]}
    assert keys == {(m, p) for m in ("entry", "entry_distill", "bundle:silentface") for p in bm.PROTOCOLS}
    for row in table["rows"]:
        if row["method"] == "bundle" and "error" in row:
            # the source's detector finds few faces in small synthetic frames: a target may have none acquired
            assert "failed to acquire" in row["error"] and row["protocol"] != "intra", row["error"]
            continue
        assert "error" not in row, row
        assert row["train_seconds" if row["method"] != "bundle" else "score_seconds"] >= 0
        lo, hi = row["ci"]["hter"]
        assert lo <= row["hter"] <= hi
    assert "| bundle:silentface | cross-domain |" in (out / "table.md").read_text()
    assert table["settings"]["quick"] is True and table["git_revision"]
