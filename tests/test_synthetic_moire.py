"""Moire on replayed screens: luminance bands, a few across the frame, that survive the camera and JPEG."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from antispoof.data.synthetic import clips, replay
from antispoof.data.synthetic._imaging import luminance, pixel_grid
from antispoof.data.synthetic.writer import GeneratorSettings, plan_videos, resolve_species, write_clip


def _phase(m: replay.Moire, size: int) -> np.ndarray:
    """The drawn band phase at every pixel (frame 0), as Moire.apply computes it."""
    xs, ys = pixel_grid(size)
    r2 = (xs - m.centre[0]) ** 2 + (ys - m.centre[1]) ** 2
    return 2 * np.pi * (m.freq[0] * xs + m.freq[1] * ys + m.curve * r2 / 2) + m.phase


@pytest.mark.parametrize("size", [48, 128])
def test_a_few_gently_bent_bands_across_the_frame_at_any_size(size):
    rng = np.random.default_rng(0)
    for _ in range(200):
        m = replay.Moire.draw(rng, size, 1.0)
        f = np.hypot(*m.freq)
        assert 3.0 <= f * size <= 9.0  # bands across the frame: the same count at 48 and 128 px
        xs, ys = pixel_grid(size)
        # Local frequency (gradient of the phase / 2 pi): bent by the lens, never a zone plate.
        fx = m.freq[0] + m.curve * (xs - m.centre[0])
        fy = m.freq[1] + m.curve * (ys - m.centre[1])
        local = np.hypot(fx, fy)
        assert 0.4 * f < local.min() and local.max() < 1.6 * f


def test_bands_are_mostly_luminance_with_colour_fringes():
    size = 64
    m = replay.Moire.draw(np.random.default_rng(1), size, 1.0)
    grey = np.full((size, size, 3), 0.5, np.float32)
    out = m.apply(grey, np.ones((size, size), np.float32), 0)
    e = np.exp(-1j * _phase(m, size))
    luma_amp = 2 * abs((luminance(out)[..., 0] / 0.5 * e).mean())
    assert luma_amp > 0.85 * m.amplitude  # the beat is a brightness pattern
    fringe = out[..., 0] - out[..., 2]
    assert np.abs(fringe).max() > 0.2 * m.amplitude  # R and B beats out of phase: coloured edges


def _moire_clips(size: int, seed: int, want: int):
    """(clip with moire, same clip without, the Moire, its screen coverage) for replay clips that draw moire."""
    settings = GeneratorSettings(subjects=60, frames=1, size=size, seed=seed, species=tuple(resolve_species("replay_*")))
    original = replay.Moire.apply
    found = []
    for spec in plan_videos(settings):
        seen = {}

        def recording(self, img, screen, t, seen=seen):
            seen["moire"], seen["screen"] = self, screen.copy()
            return original(self, img, screen, t)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(replay.Moire, "apply", recording)
            with_moire = clips.render_clip(spec, seed=seed, size=size, frames=1, difficulty=0.5)
        if not with_moire.attributes["moire"]:
            continue
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(replay.Moire, "apply", lambda self, img, screen, t: img)
            without = clips.render_clip(spec, seed=seed, size=size, frames=1, difficulty=0.5)
        found.append((spec, with_moire, without, seen["moire"], seen["screen"]))
        if len(found) == want:
            break
    assert len(found) == want
    return found


def test_bands_survive_camera_and_jpeg_at_48px(tmp_path: Path):
    """Matched-filter response at the drawn beat in the written JPEG's luma: moire vs the same clip without it."""
    size = 48
    ratios = []
    for spec, with_moire, without, m, screen in _moire_clips(size, seed=11, want=12):
        e = np.exp(-1j * _phase(m, size))
        response = []
        for name, clip in (("with", with_moire), ("without", without)):
            (row,) = write_clip(clip, spec, tmp_path / name, "jpg")
            luma = cv2.imread(str(tmp_path / name / row["path"]), cv2.IMREAD_GRAYSCALE).astype(np.float64)
            response.append(2 * abs((screen * luma * e).sum()) / (screen * luma).sum())
        ratios.append(response[0] / response[1])
    # The bands stand well above what the face and the rest of the clip put at that frequency.
    assert np.median(ratios) > 3.0, np.round(ratios, 2)
