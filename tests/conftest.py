"""Shared test fixtures: paths to the real data in ../shared (skipped where absent), one torch thread."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"


@pytest.fixture
def samples_dir() -> Path:
    """Real live and attack photos in ../shared/samples (not part of a user's clone)."""
    path = SHARED / "samples"
    if not path.is_dir():
        pytest.skip(f"real sample photos not found at {path} (they live beside the project, not in it)")
    return path


@pytest.fixture
def silentface_dir() -> Path:
    """Silent-Face liveness and detector weights in ../shared/weights/silentface."""
    path = SHARED / "weights" / "silentface"
    if not path.is_dir():
        pytest.skip(f"Silent-Face weights not found at {path} (they live beside the project, not in it)")
    return path


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread: small networks gain nothing from two, and lose much when the cores are busy."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
