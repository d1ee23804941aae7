"""The synthetic generator: determinism, labels, modalities, splits, preview, shortcut check, photos, CLI."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from antispoof.data.base import ATTRIBUTES, BOX_COLUMNS, MANIFEST_COLUMNS
from antispoof.data.synthetic import (
    ATTACK_SPECIES,
    SPECIES,
    VISIBLE_CUES,
    contact_sheet,
    generate_dataset,
    generate_from_photos,
    list_species,
    resolve_species,
)
from antispoof.data.synthetic.from_photos import find_face_box
from antispoof.data.synthetic.writer import manifest_columns

SIZE = 48


def read_rows(manifest: Path) -> list[dict]:
    with manifest.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def folder_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Every species, all modalities, tiny images."""
    out = tmp_path_factory.mktemp("synth") / "ds"
    return generate_dataset(out, subjects=6, frames=2, size=SIZE, seed=3, modalities=("rgb", "ir", "depth"), difficulty=0.3)


@pytest.fixture(scope="module")
def rows(dataset) -> list[dict]:
    return read_rows(dataset)


def load(root: Path, rel: str, flags=cv2.IMREAD_UNCHANGED) -> np.ndarray:
    img = cv2.imread(str(root / rel), flags)
    assert img is not None, rel
    return img


# --- determinism -------------------------------------------------------------------------


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    kw = dict(subjects=4, frames=2, size=32, seed=11, modalities=("rgb", "ir", "depth"))
    a = generate_dataset(tmp_path / "a", workers=1, **kw)
    b = generate_dataset(tmp_path / "b", workers=2, **kw)
    assert folder_digest(a.parent) == folder_digest(b.parent)


def test_other_seed_other_images(tmp_path):
    a = generate_dataset(tmp_path / "a", subjects=3, frames=1, size=32, seed=1)
    b = generate_dataset(tmp_path / "b", subjects=3, frames=1, size=32, seed=2)
    da, db = folder_digest(a.parent), folder_digest(b.parent)
    shared = [k for k in da if k.endswith(".jpg") and k in db]
    assert shared and all(da[k] != db[k] for k in shared)


# --- manifest contract and labels ----------------------------------------------------------


def test_manifest_columns_exactly(dataset):
    with dataset.open(encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    assert header == manifest_columns(("rgb", "ir", "depth"))
    assert header[: len(MANIFEST_COLUMNS)] == list(MANIFEST_COLUMNS)
    assert set(BOX_COLUMNS) <= set(header) and set(ATTRIBUTES) <= set(header)


def test_rgb_only_has_no_modality_columns(tmp_path):
    m = generate_dataset(tmp_path / "d", subjects=3, frames=1, size=32, seed=0)
    header = read_rows(m)[0].keys()
    assert "ir_path" not in header and "depth_path" not in header


def test_every_species_and_label_present(rows):
    assert {r["pai"] for r in rows} == {"bonafide", *ATTACK_SPECIES}
    for r in rows:
        assert r["label"] == ("bonafide" if r["pai"] == "bonafide" else "attack")
    labels = [r["label"] for r in rows]
    assert 0.35 < labels.count("attack") / len(labels) < 0.65


def test_paths_exist_and_frames_count(dataset, rows):
    root = dataset.parent
    by_video: dict[str, list[int]] = {}
    for r in rows:
        for col in ("path", "ir_path", "depth_path"):
            assert "\\" not in r[col] and (root / r[col]).is_file()
        by_video.setdefault(r["video"], []).append(int(r["frame"]))
    assert all(sorted(f) == [0, 1] for f in by_video.values())


def test_attributes_consistent_with_species(rows):
    per_video: dict[str, tuple] = {}
    for r in rows:
        attrs = {a: int(r[a]) for a in ATTRIBUTES}
        assert set(attrs.values()) <= {0, 1}
        species = SPECIES[r["pai"]]
        visible = [c for c in VISIBLE_CUES if attrs[c]]
        if species.family == "bonafide":
            assert not any(attrs.values())
        else:
            assert attrs["invisible_attack"] == int(not visible)
        assert all(c in species.cues for c in visible), (r["pai"], visible)  # cues only where drawn
        if species.family != "replay":
            assert not visible
        per_video.setdefault(r["video"], tuple(attrs.values()))
        assert per_video[r["video"]] == tuple(attrs.values())


def test_replay_cues_occur(rows):
    replay = [r for r in rows if SPECIES[r["pai"]].family == "replay"]
    assert replay
    counts = {c: sum(int(r[c]) for r in replay) for c in VISIBLE_CUES}
    assert sum(counts.values()) > 0


def test_boxes_inside_frame(rows):
    for r in rows:
        x0, y0, x1, y1 = (float(r[c]) for c in BOX_COLUMNS)
        assert 0 <= x0 < x1 <= SIZE and 0 <= y0 < y1 <= SIZE
        assert (x1 - x0) > 0.15 * SIZE and (y1 - y0) > 0.15 * SIZE


def test_settings_json(dataset):
    info = json.loads((dataset.parent / "synth.json").read_text())
    assert info["settings"]["seed"] == 3 and info["settings"]["size"] == SIZE
    assert info["antispoof_version"] and info["format_version"] == 1
    assert set(info["species"]) == set(ATTACK_SPECIES)


# --- modalities --------------------------------------------------------------------------


def _face_region(root, r, col):
    img = load(root, r[col]).astype(np.float32)
    x0, y0, x1, y1 = (float(r[c]) for c in BOX_COLUMNS)
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0), (y1 - y0)
    return img, img[int(cy - 0.3 * h) : int(cy + 0.3 * h), int(cx - 0.3 * w) : int(cx + 0.3 * w)]


def _plane_residual(z: np.ndarray, quadratic: bool = False) -> float:
    ys, xs = np.nonzero(z > 0)
    cols = [xs, ys, np.ones_like(xs)] + ([xs**2] if quadratic else [])
    a = np.stack(cols, axis=1).astype(np.float64)
    coef, *_ = np.linalg.lstsq(a, z[ys, xs].astype(np.float64), rcond=None)
    return float(np.sqrt(np.mean((a @ coef - z[ys, xs]) ** 2)))


def test_modalities_same_size(dataset, rows):
    root = dataset.parent
    for r in rows[::7]:
        rgb, ir, depth = load(root, r["path"]), load(root, r["ir_path"]), load(root, r["depth_path"])
        assert rgb.shape == (SIZE, SIZE, 3) and ir.shape == (SIZE, SIZE) and depth.shape == (SIZE, SIZE)


def test_depth_geometry_per_species(dataset, rows):
    """Live faces and masks have relief, flat prints and screens are planes, bent prints are curved."""
    root = dataset.parent
    plane: dict[str, list[float]] = {}
    bent_gain = []
    for r in rows:
        species = SPECIES[r["pai"]]
        if r["frame"] != "0" or species.cutouts or int(r["fingers"]):
            continue  # holes show the wearer's relief through the paper; fingers stand in front of a screen
        full, face = _face_region(root, r, "depth_path")
        if species.surface == "relief":
            plane.setdefault("relief", []).append(_plane_residual(face))
            assert (full == 0).mean() > 0.1  # the room behind a head is out of range
        else:
            plane.setdefault(species.surface, []).append(_plane_residual(full))
            if species.surface == "bent":
                bent_gain.append(_plane_residual(full) / max(_plane_residual(full, quadratic=True), 1e-3))
    noise = 0.006 * 255  # the depth sensor's noise, grey levels
    assert max(plane["flat"]) < 1.3 * noise and max(plane["screen"]) < 1.3 * noise
    assert min(plane["relief"]) > 4 * noise
    assert min(plane["bent"]) > 2 * noise and min(bent_gain) > 1.5


def test_ir_screens_dark_skin_and_paper_bright(dataset, rows):
    root = dataset.parent
    means: dict[str, list[float]] = {}
    for r in rows:
        if int(r["fingers"]):
            continue  # skin in front of the screen reflects infrared
        _, face = _face_region(root, r, "ir_path")
        means.setdefault(SPECIES[r["pai"]].family, []).append(float(face.mean()))
    assert max(means["replay"]) < 40  # emitted light has no near infrared
    assert min(means["bonafide"]) > 80 and min(means["print"]) > 80
    assert np.median(means["print"]) > 2 * np.median(means["replay"])


# --- splits ------------------------------------------------------------------------------


def test_splits_disjoint_by_subject(rows):
    split_of: dict[str, set] = {}
    for r in rows:
        split_of.setdefault(r["subject"], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())
    splits = {next(iter(s)) for s in split_of.values()}
    assert splits == {"train", "dev", "test"}
    for split in splits:
        labels = {r["label"] for r in rows if r["split"] == split}
        assert labels == {"bonafide", "attack"}


# --- species API -------------------------------------------------------------------------


def test_species_lookup():
    assert list_species("print_*_eyes") == ["print_flat_eyes", "print_bent_eyes"]
    assert [SPECIES[n].surf_type for n in list_species("print_*_eyes*")] == [1, 2, 3, 4, 5, 6]
    assert resolve_species("replay_*,mask_rigid") == ["replay_phone", "replay_tablet", "replay_monitor", "mask_rigid"]
    with pytest.raises(KeyError, match="did you mean print_flat"):
        resolve_species("print_flta")


def test_species_subset(tmp_path):
    m = generate_dataset(tmp_path / "d", subjects=3, frames=1, size=32, seed=0, species="replay_phone")
    assert {r["pai"] for r in read_rows(m)} == {"bonafide", "replay_phone"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(subjects=2), "at least 3"),
        (dict(modalities=("ir",)), "rgb plus"),
        (dict(difficulty=1.5), r"\[0, 1\]"),
        (dict(size=8), "between 16"),
    ],
)
def test_bad_settings(tmp_path, kwargs, match):
    args = dict(subjects=3, frames=1, size=32, seed=0) | kwargs
    with pytest.raises(ValueError, match=match):
        generate_dataset(tmp_path / "d", **args)


def test_refuses_foreign_non_empty_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty"):
        generate_dataset(tmp_path, subjects=3, frames=1, size=32)


# --- difficulty --------------------------------------------------------------------------


def test_difficulty_fades_cues(tmp_path):
    """Pixel difference between attack frames and the same clip without its medium shrinks with difficulty."""
    from antispoof.data.synthetic.prints import make_print

    rng_src = np.random.default_rng(0)
    src = rng_src.uniform(0.2, 0.8, (64, 64, 3)).astype(np.float32)
    src = cv2.GaussianBlur(src, (0, 0), 3)
    change = []
    for strength in (1.0, 0.2):
        medium = make_print(src, {}, (), 0.0, strength, np.random.default_rng(1))
        m = (medium.layers.shape[0] - 64) // 2
        printed = medium.layers[m : m + 64, m : m + 64, :3]
        change.append(float(np.abs(printed - src).mean()))
    assert change[0] > 1.5 * change[1]


# --- preview -----------------------------------------------------------------------------


def test_preview_sheet(dataset, rows, tmp_path):
    out = contact_sheet(dataset, tmp_path / "sheet.png", per_species=2)
    sheet = cv2.imread(str(out))
    n_species = len({r["pai"] for r in rows})
    assert sheet is not None and sheet.shape[0] > n_species * 128
    label_column = sheet[36:, :200]
    row_h = (sheet.shape[0] - 36) // n_species
    for i in range(n_species):  # every row carries its species name
        assert (label_column[i * row_h : (i + 1) * row_h] < 128).any()
    assert (sheet[36:, 200:] < 250).mean() > 0.3  # tiles are drawn


def test_preview_missing_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="antispoof synth"):
        contact_sheet(tmp_path, tmp_path / "s.png")


# --- the shortcut check ------------------------------------------------------------------


def global_statistics(img: np.ndarray) -> list[float]:
    """Global colour, brightness, contrast, saturation and sharpness statistics of one RGB uint8 image."""
    f = img.astype(np.float32) / 255.0
    lum = f.mean(axis=2)
    hsv = cv2.cvtColor(f, cv2.COLOR_RGB2HSV)
    lap = cv2.Laplacian(lum, cv2.CV_32F)
    px = f.reshape(-1, 3)
    return [*px.mean(0), *px.std(0), *np.percentile(lum, [5, 50, 95]), float(hsv[..., 1].mean()), float(lap.var())]


def shortcut_auc(root: Path, rows: list[dict], shift: float = 0.0) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y, groups = [], [], []
    for r in rows:
        img = cv2.cvtColor(load(root, r["path"], cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        attack = r["label"] == "attack"
        if shift and attack:
            img = np.clip(img.astype(np.float32) + shift * 255, 0, 255).astype(np.uint8)
        x.append(global_statistics(img))
        y.append(int(attack))
        groups.append(r["subject"])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    p = cross_val_predict(model, np.array(x), np.array(y), groups=groups, cv=GroupKFold(5), method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


@pytest.fixture(scope="module")
def shortcut_set(tmp_path_factory) -> tuple[Path, list[dict]]:
    m = generate_dataset(tmp_path_factory.mktemp("shortcut") / "ds", subjects=30, frames=2, size=48, seed=5, workers=2)
    return m.parent, read_rows(m)


def test_no_global_statistics_shortcut(shortcut_set):
    root, rows = shortcut_set
    auc = shortcut_auc(root, rows)
    assert auc < 0.7, f"global colour/brightness statistics separate live from attack (AUC {auc:.3f})"


def test_shortcut_check_detects_a_planted_shortcut(shortcut_set):
    root, rows = shortcut_set
    assert shortcut_auc(root, rows, shift=0.08) > 0.85


# --- from photos -------------------------------------------------------------------------


def test_from_photos_with_generated_faces(dataset, rows, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    live = [r for r in rows if r["pai"] == "bonafide" and r["frame"] == "0"][:4]
    for i, r in enumerate(live):
        img = load(dataset.parent, r["path"], cv2.IMREAD_COLOR)
        cv2.imwrite(str(photos / f"person{i}.png"), cv2.resize(img, (96, 120)))
    m = generate_from_photos(photos, tmp_path / "out", frames=2, size=40, seed=0, modalities=("rgb", "ir", "depth"), attacks_per_photo=3)
    got = read_rows(m)
    assert {r["subject"] for r in got} == {f"person{i}" for i in range(4)}
    assert {SPECIES[r["pai"]].family for r in got} <= {"bonafide", "print", "replay"}
    assert sum(r["label"] == "attack" for r in got) == 3 * sum(r["label"] == "bonafide" for r in got)
    assert {r["split"] for r in got} == {"train", "dev", "test"}
    for r in got:
        assert (m.parent / r["path"]).is_file() and load(m.parent, r["path"]).shape == (40, 40, 3)


def test_from_photos_rejects_masks_and_empty_folders(tmp_path):
    (tmp_path / "p").mkdir()
    with pytest.raises(FileNotFoundError, match="no photos"):
        generate_from_photos(tmp_path / "p", tmp_path / "o")
    with pytest.raises(ValueError, match="3D face"):
        generate_from_photos(tmp_path / "p", tmp_path / "o", species="mask_rigid")


def test_from_real_photo(samples_dir, tmp_path):
    photo = samples_dir / "silentface_image_T1.jpg"
    img = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    h, w = img.shape[:2]
    x0, y0, x1, y1 = find_face_box(img)
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert 0.1 * w < x1 - x0 < 0.9 * w  # a face-sized box, not the whole photo
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(photo, folder / photo.name)
    m = generate_from_photos(folder, tmp_path / "out", frames=2, size=64, seed=0, species="print_flat,replay_phone", attacks_per_photo=2)
    got = read_rows(m)
    assert {r["pai"] for r in got} == {"bonafide", "print_flat", "replay_phone"}
    assert {r["split"] for r in got} == {"train"}  # one subject cannot be split
    live = load(m.parent, got[0]["path"], cv2.IMREAD_COLOR).astype(np.float32)
    assert live.std() > 10  # the photo, not a blank frame


# --- CLI ---------------------------------------------------------------------------------


def test_cli_synth_with_preview(tmp_path):
    from typer.testing import CliRunner

    from antispoof.cli import app

    out, sheet = tmp_path / "ds", tmp_path / "sheet.png"
    args = ["synth", "--out", str(out), "--subjects", "3", "--frames", "1", "--size", "32", "--modalities", "rgb,depth", "--preview", str(sheet)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "manifest.csv").is_file() and (out / "synth.json").is_file() and sheet.is_file()
    assert "depth_path" in read_rows(out / "manifest.csv")[0]


def test_cli_synth_unknown_species(tmp_path):
    from typer.testing import CliRunner

    from antispoof.cli import app

    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "d"), "--species", "printt_flat"])
    assert isinstance(result.exception, KeyError) and "print_flat" in str(result.exception)
