"""Every fenced shell block of README.md, run as written at tiny sizes: a documented example that stops working fails.

How a block is run
------------------
Each ```bash (or sh, shell, console) block, indented or not, is one bash script run with ``set -euo pipefail``
in one shared work folder, with ``.venv/bin`` (this interpreter's folder) first on PATH, so ``antispoof`` and
``python`` are the project's. The first failing line is named in the failure, with the script that ran.

The rules that change a block (the only ones; each is applied in :func:`script_for` and shown on failure):

1. **Sizes.** A line starting with a command of ``TINY`` gets that entry's options appended (after its trailing
   ``# comment`` is cut off): the command and every option it already has stay as written.
2. **Inputs a reader brings.** The files a block names as the reader's own (``photo.jpg``, ``clip.mp4``,
   ``folder/``, ``a.jpg``, ``b.jpg``, ``my_photos/``) are laid in the work folder: the real face photos of
   ``../shared/samples`` (synthetic stand-ins where they are absent), a short video of one of them.
   ``runs/my_run`` is a run trained by ``SETUP`` (synthetic data, tiny sizes), and ``runs/quickstart/bundle``
   its bundle calibrated at the dev EER. A block that imports from ``silentface/`` without making it (the
   benchmark's, which points to "the files of the Silent-Face section below") gets that folder as the
   Silent-Face block makes it. Each block runs in its own copy of the work folder, so blocks do not meet.
3. **Network.** ``git clone URL DIR`` of the Silent-Face repository becomes ``DIR`` laid out as that repository
   (``resources/anti_spoof_models``, ``resources/detection_model``) from ``../shared/weights/silentface``; the
   block is skipped when those files are absent.
4. **Servers.** ``antispoof serve ...`` runs in the background on a free port (``--port P`` appended, the block's
   ``127.0.0.1:8000`` read as ``127.0.0.1:P``) until ``/healthz`` answers; after the block's last line it gets
   SIGTERM and must exit 0 (the drain).

Blocks that cannot run here are listed in ``SKIPPED`` with the reason, and reported as skipped, never silently;
a README line that fails today is in ``KNOWN_FAILURES`` with its reason and fix (reported as xfail while it fails
there, and as a failure if another line fails); an entry of ``SKIPPED``, ``KNOWN_FAILURES`` or ``TINY`` that
matches no block fails :func:`test_every_shell_block_is_run_or_skipped_with_a_reason`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED = ROOT.parent / "shared"
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "zsh"}

# Blocks (by a piece of their text) that are not run, and why.
SKIPPED = {
    "make quickstart": "runs the full quickstart (about 17 minutes on 2 cores) and `make test`, the suite this test "
                       "belongs to; tests/test_quickstart.py runs the quickstart end to end (slow) and "
                       "tests/test_readme.py checks that these are the two commands and that CI runs the second",
    "pip install --no-deps": "installs packages from PyPI (network, and changes this environment); the Makefile's "
                             "setup runs this very line on every machine, CI included",
    "torchrun --nproc_per_node=2": "the launch forms of several devices and machines: full-size trainings, two "
                                   "machines (HOST, NODE) and SLURM (srun); tests/test_launch.py runs the first three "
                                   "through the CLI at tiny sizes (slow), SLURM is not on this machine",
}

# README lines that fail today, with the reason and the README fix (README.md is edited apart from this test):
# the block still runs; it is reported as an expected failure while that very line fails, and an entry whose line is
# gone from the README (fixed) fails test_every_shell_block_is_run_or_skipped_with_a_reason until it is removed.
KNOWN_FAILURES: dict[str, str] = {}

# Options appended to a line starting with this command (rule 1): tiny sizes, same command.
TINY = {
    # 8 synthetic subjects, the intra protocol only, two epochs; every method is still trained and scored
    "antispoof benchmark": ["--quick", "--subjects", "8", "--protocol", "intra"],
}

# What the work folder holds before any block runs (rule 2): a tiny trained run and its calibrated bundle.
SETUP = [
    "antispoof synth --out data --subjects 8 --frames 2 --size 64",
    "antispoof prepare --dataset manifest --root data --out store --size 64 --min-face 16",
    "antispoof train entry model.backbone=plain_cnn data.image_size=32 train.max_epochs=1 data.store=store --out runs/my_run",
    "cp -r runs/my_run runs/seed",
    "antispoof calibrate runs/seed --split dev --target eer",
    "mkdir -p runs/quickstart && cp -r runs/seed/bundle runs/quickstart/bundle",
]

SILENTFACE_REPO = "https://github.com/minivision-ai/Silent-Face-Anti-Spoofing"


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence in README.md
    heading: str
    text: str

    @property
    def id(self) -> str:
        words = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")
        return f"L{self.line}-{words[:40]}"


def shell_blocks(text: str | None = None) -> list[Block]:
    """The README's fenced shell blocks, dedented, with the heading they stand under."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks, heading, i = [], "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        opening = re.match(r"^(\s*)```\s*([\w-]*)\s*$", line)
        if opening:
            indent, language = len(opening.group(1)), opening.group(2).lower()
            body, j = [], i + 1
            while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
                body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
                j += 1
            if language in SHELL_LANGUAGES:
                blocks.append(Block(i + 1, heading, "\n".join(body)))
            i = j + 1
            continue
        i += 1
    return blocks


def skip_reason(block: Block) -> str | None:
    return next((reason for key, reason in SKIPPED.items() if key in block.text), None)


def _without_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` outside quotes, after a space)."""
    quote = None
    for k, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and k > 0 and line[k - 1].isspace():
            return line[:k].rstrip()
    return line.rstrip()


def script_for(block: Block, port: int, silentface: Path | None) -> str:
    """The bash script that runs ``block`` by the module's rules."""
    out = ["set -euo pipefail", "trap 'echo \"README line failed: $BASH_COMMAND\" >&2' ERR"]
    server = False
    for raw in block.text.splitlines():
        line = _without_comment(raw)
        if not line:
            continue
        line = line.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        for command, options in TINY.items():
            if line.startswith(command + " "):
                line = f"{line} {shlex.join(options)}"
        clone = re.match(r"^git clone (\S+) (\S+)$", line)
        if clone:
            assert clone.group(1) == SILENTFACE_REPO and silentface is not None, line
            target = shlex.quote(clone.group(2))
            line = (f"mkdir -p {target}/resources/anti_spoof_models {target}/resources/detection_model && "
                    f"cp {shlex.quote(str(silentface))}/*.pth {target}/resources/anti_spoof_models/ && "
                    f"cp {shlex.quote(str(silentface))}/deploy.prototxt {shlex.quote(str(silentface))}/*.caffemodel "
                    f"{target}/resources/detection_model/")
        if line.startswith("antispoof serve "):
            server = True
            out += [f"{line} --port {port} > serve.log 2>&1 &", "SERVE_PID=$!",
                    f"for i in $(seq 600); do curl -sf http://127.0.0.1:{port}/healthz > /dev/null && break; "
                    "kill -0 $SERVE_PID || { cat serve.log >&2; exit 1; }; sleep 0.2; done",
                    f"curl -sf http://127.0.0.1:{port}/healthz > /dev/null"]
            continue
        out.append(line)
    if server:
        out += ["kill -TERM $SERVE_PID", "wait $SERVE_PID || { echo \"serve exited $? after SIGTERM\" >&2; cat serve.log >&2; exit 1; }"]
    return "\n".join(out) + "\n"


def _environment() -> dict[str, str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("ANTISPOOF_MODEL", None)
    env.pop("ANTISPOOF_DEBUG", None)
    return env


def _run(script: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=_environment(), capture_output=True, text=True, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lay_inputs(work: Path) -> None:
    """photo.jpg, clip.mp4, folder/, a.jpg, b.jpg and my_photos/ (rule 2)."""
    import cv2
    import numpy as np
    from _media import write_video

    photos = sorted((SHARED / "samples").glob("*.jpg"))
    if photos:
        images = [cv2.imread(str(p))[:, :, ::-1] for p in photos]
    else:  # no real faces beside the project: the generator's faces, large enough for the default detector
        import shutil

        from antispoof.data.synthetic.writer import generate_dataset

        faces = work / "_faces"
        generate_dataset(faces, subjects=3, frames=1, size=224, seed=0)
        # an attack, a bona fide face, and last the live one the photo and the clip are made of (each found by blazeface)
        chosen = ("s000/s000_1_02/rgb_00.jpg", "s002/s002_1_00/rgb_00.jpg", "s001/s001_1_00/rgb_00.jpg")
        images = [cv2.imread(str(faces / p))[:, :, ::-1] for p in chosen]
        shutil.rmtree(faces)
    live = images[-1]
    write = lambda path, image: cv2.imwrite(str(path), np.ascontiguousarray(image[:, :, ::-1]))  # noqa: E731
    write(work / "photo.jpg", live)
    write(work / "a.jpg", images[0])
    write(work / "b.jpg", live)
    for name in ("folder", "my_photos"):
        (work / name).mkdir()
        for k, image in enumerate(images):
            write(work / name / f"{k}.jpg", image)
    height, width = (live.shape[0] // 2) * 2, (live.shape[1] // 2) * 2
    frames = [np.ascontiguousarray(np.roll(live[:height, :width], k % 3, axis=1)) for k in range(12)]
    write_video(work / "clip.mp4", num_frames=12, height=height, width=width, frames=frames)


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The shared work folder: the reader's inputs and the tiny run of ``SETUP``."""
    work = tmp_path_factory.mktemp("readme")
    _lay_inputs(work)
    setup = _run("set -euo pipefail\n" + "\n".join(SETUP) + "\n", work, timeout=900)
    assert setup.returncode == 0, f"the setup of the README commands failed:\n{setup.stdout}\n{setup.stderr}"
    return work


def test_every_shell_block_is_run_or_skipped_with_a_reason():
    blocks = shell_blocks()
    assert len(blocks) >= 5, "README.md lost its command blocks"
    for key in SKIPPED:
        assert any(key in b.text for b in blocks), f"SKIPPED names {key!r}, which no README block holds any more"
    for command in TINY:
        assert any(command + " " in b.text for b in blocks), f"TINY names {command!r}, which no README block runs any more"
    for line in KNOWN_FAILURES:
        assert any(line in b.text for b in blocks), f"KNOWN_FAILURES names {line!r}, gone from the README: remove the entry"
    assert all(SKIPPED.values()) and all(KNOWN_FAILURES.values())
    run = [b for b in blocks if skip_reason(b) is None]
    assert len(run) >= 4, [b.id for b in run]


def test_the_block_rules_on_a_made_up_readme(tmp_path):
    text = ("# T\n\n## Run\n\n```bash\nantispoof benchmark --out x   # a comment\necho '# kept'\n```\n\n"
            "  ```sh\n  antispoof serve --model m\n  curl http://127.0.0.1:8000/v1/model\n  ```\n\n```\nnot shell\n```\n")
    blocks = shell_blocks(text)
    assert [b.heading for b in blocks] == ["Run", "Run"] and blocks[0].line == 5
    script = script_for(blocks[0], 9999, None)
    assert "antispoof benchmark --out x --quick --subjects 8 --protocol intra\n" in script
    assert "echo '# kept'" in script
    served = script_for(blocks[1], 9999, None)
    assert "antispoof serve --model m --port 9999 > serve.log 2>&1 &" in served
    assert "curl http://127.0.0.1:9999/v1/model" in served and served.rstrip().endswith("exit 1; }")
    failing = _run(script_for(Block(1, "x", "true\nfalse\ntrue"), 1, None), tmp_path, timeout=30)
    assert failing.returncode != 0 and "README line failed: false" in failing.stderr


@pytest.mark.slow
@pytest.mark.parametrize("block", shell_blocks(), ids=lambda b: b.id)
def test_readme_block_runs_as_written(block, work, tmp_path):
    reason = skip_reason(block)
    if reason:
        pytest.skip(f"README.md line {block.line} ({block.heading}): {reason}")
    silentface = SHARED / "weights" / "silentface"
    if "git clone " + SILENTFACE_REPO in block.text and not silentface.is_dir():
        pytest.skip(f"README.md line {block.line}: the Silent-Face files are not at {silentface} (rule 3)")
    if "--weights silentface" in block.text and "mkdir silentface" not in block.text:
        if not silentface.is_dir():
            pytest.skip(f"README.md line {block.line}: the Silent-Face files are not at {silentface} (rule 2)")
    folder = tmp_path / "work"
    shutil.copytree(work, folder, symlinks=True)
    if "--weights silentface" in block.text and "mkdir silentface" not in block.text:
        (folder / "silentface").mkdir()
        for path in [*silentface.glob("*.pth"), *silentface.glob("*.caffemodel"), silentface / "deploy.prototxt"]:
            shutil.copy(path, folder / "silentface")
    script = script_for(block, _free_port(), silentface)
    done = _run(script, folder, timeout=1800)
    known = next((line for line in KNOWN_FAILURES if line in block.text), None)
    if known is not None:
        assert done.returncode != 0, f"README.md line {block.line}: {known!r} works now; remove it from KNOWN_FAILURES"
        if f"README line failed: {known}" in done.stderr:
            pytest.xfail(f"README.md line {block.line}: {KNOWN_FAILURES[known]}")
    assert done.returncode == 0, (f"README.md block at line {block.line} ({block.heading}) failed, exit {done.returncode}\n"
                                  f"--- script run (see the module docstring for the rules) ---\n{script}"
                                  f"--- stdout (last 3000 characters) ---\n{done.stdout[-3000:]}\n"
                                  f"--- stderr (last 3000 characters) ---\n{done.stderr[-3000:]}")
