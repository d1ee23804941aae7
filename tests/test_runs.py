import json
import logging

import pytest
import yaml

from antispoof import __version__
from antispoof.config import ExperimentConfig, load_config
from antispoof._runs import RunExistsError, create_run, git_revision


@pytest.fixture
def cfg():
    return load_config(ExperimentConfig, overrides=["seed=11", "train.lr=0.05"])


def test_run_folder_contents(tmp_path, cfg):
    with create_run(cfg, root=tmp_path, name="exp1", command=["antispoof", "train"]) as run:
        logging.getLogger("antispoof.test").info("hello from the run")
    assert run.dir == tmp_path / "exp1"
    saved = yaml.safe_load((run.dir / "config.yaml").read_text())
    assert saved["seed"] == 11 and saved["train"]["lr"] == 0.05
    info = json.loads((run.dir / "run.json").read_text())
    assert info["seed"] == 11
    assert info["version"] == __version__
    assert info["command"] == ["antispoof", "train"]
    assert info["git_revision"] == "unknown" or len(info["git_revision"]) == 40
    assert "hello from the run" in (run.dir / "run.log").read_text()


def test_log_file_detached_after_close(tmp_path, cfg):
    with create_run(cfg, root=tmp_path, name="a") as run:
        pass
    logging.getLogger("antispoof.test").warning("after close")
    assert "after close" not in (run.dir / "run.log").read_text()


def test_existing_run_is_not_overwritten(tmp_path, cfg):
    create_run(cfg, root=tmp_path, name="exp").close()
    (tmp_path / "exp" / "weights.bin").write_text("precious")
    with pytest.raises(RunExistsError, match="already exists; pass --overwrite"):
        create_run(cfg, root=tmp_path, name="exp")
    assert (tmp_path / "exp" / "weights.bin").read_text() == "precious"
    create_run(cfg, root=tmp_path, name="exp", overwrite=True).close()
    assert not (tmp_path / "exp" / "weights.bin").exists()


def test_automatic_names_never_collide(tmp_path, cfg):
    dirs = set()
    for _ in range(3):
        with create_run(cfg, root=tmp_path) as run:
            dirs.add(run.dir)
    assert len(dirs) == 3


@pytest.mark.parametrize("name", ["../escape", "a/b", ".", ""])
def test_run_name_must_be_a_plain_folder_name(tmp_path, cfg, name):
    with pytest.raises(ValueError, match="plain folder name"):
        create_run(cfg, root=tmp_path, name=name)


def test_git_revision_outside_git(tmp_path):
    assert git_revision(tmp_path) == ("unknown", None)
