"""Capture domains (camera profiles) and the global development that removes shortcuts.

Every clip, bona fide or attack, goes through the same two steps:

1. :class:`Development`, fitted on the clip's first frame and applied to all its frames
   (so temporal cues such as flicker survive): a tone curve that gives luminance a
   histogram drawn by :func:`draw_look`, a chroma gain and colour cast to drawn targets,
   and the unsharp mask or blur whose result is closest to a drawn sharpness. The targets
   come from one distribution for every label (an auto-exposure, auto-white-balance and
   in-camera sharpening stand-in), so global brightness, colour, contrast and sharpness
   carry no information about the label; only local, physical cues do.
2. :meth:`CameraDomain.capture` adds the camera: the sensor's true resolution, white
   balance, saturation, vignetting, read and shot noise; JPEG quality is the domain's as
   well (the writer uses it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from antispoof.data.synthetic._imaging import luminance

__all__ = ["CameraDomain", "DOMAINS", "domain_names", "Look", "draw_look", "Development", "sharpness"]


@dataclass(frozen=True)
class CameraDomain:
    """One camera profile."""

    name: str
    read_noise: float  # sigma of signal-independent noise, in [0, 1] units
    shot_noise: float  # sigma coefficient of signal-dependent noise (times sqrt(signal))
    white_balance: tuple[float, float, float]  # RGB gains
    resolution: float  # fraction of the output size the sensor really resolves
    jpeg_quality: int
    vignette: float  # relative darkening at the corners
    saturation: float

    def capture(self, img: np.ndarray, noise: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
        """Apply the camera to a float RGB frame; ``noise`` is a standard-normal bank cropped at ``offset``."""
        s = img.shape[0]
        if self.resolution < 0.99:
            small = max(8, int(round(s * self.resolution)))
            img = cv2.resize(cv2.resize(img, (small, small), interpolation=cv2.INTER_AREA), (s, s), interpolation=cv2.INTER_LINEAR)
        if self.saturation != 1.0:
            lum = luminance(img)
            img = lum + (img - lum) * self.saturation
        img = img * _gain_map(s, self.vignette, self.white_balance)
        np.clip(img, 0, 1, out=img)
        oy, ox = offset
        n = noise[oy : oy + s, ox : ox + s]
        img = img + n * (self.read_noise + self.shot_noise * np.sqrt(img))
        return np.clip(img, 0, 1)


DOMAINS: tuple[CameraDomain, ...] = (
    CameraDomain("webcam_hd", 0.008, 0.012, (1.00, 1.00, 1.00), 1.00, 92, 0.10, 1.00),
    CameraDomain("laptop_720p", 0.018, 0.025, (0.96, 1.00, 1.07), 0.70, 80, 0.22, 0.95),
    CameraDomain("phone_front", 0.010, 0.018, (1.05, 1.00, 0.93), 0.85, 88, 0.12, 1.08),
    CameraDomain("budget_phone", 0.025, 0.035, (1.03, 1.00, 0.97), 0.55, 70, 0.28, 0.90),
    CameraDomain("rgbd_sensor", 0.014, 0.022, (0.98, 1.00, 1.03), 0.75, 85, 0.15, 0.85),
)


def domain_names() -> list[str]:
    """Names of the camera domains, in a stable order."""
    return [d.name for d in DOMAINS]


@lru_cache(maxsize=16)
def _gain_map(size: int, vignette: float, white_balance: tuple[float, float, float]) -> np.ndarray:
    """Per-pixel, per-channel gain: white balance times vignetting (darker corners)."""
    r = np.linspace(-1, 1, size, dtype=np.float32)
    rr = r[None, :] ** 2 + r[:, None] ** 2
    out = ((1.0 - vignette * rr / 2.0)[..., None] * np.asarray(white_balance, np.float32)).astype(np.float32)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Look:
    """Targets of a clip's global appearance, drawn from one distribution for every label."""

    quantiles: np.ndarray  # target luminance quantiles at 256 evenly spaced levels
    cast: np.ndarray  # per-channel mean minus the luminance mean
    chroma: float  # mean absolute deviation of the channels from luminance
    sharpness: float  # mean |Laplacian| of luminance over its mean absolute deviation


def draw_look(rng: np.random.Generator) -> Look:
    """Draw global targets: a Beta-shaped luminance histogram, a colour cast, chroma and sharpness."""
    mean = rng.uniform(0.33, 0.55)
    sd = rng.uniform(0.16, 0.24)
    common = mean * (1 - mean) / sd**2 - 1
    samples = np.sort(rng.beta(mean * common, (1 - mean) * common, 2048))
    levels = np.linspace(0, 2047, 256).astype(int)
    cast = np.array([0.035, 0.0, -0.045]) + rng.normal(0, 0.02, 3)
    return Look(
        quantiles=samples[levels].astype(np.float32),
        cast=(cast - cast.mean()).astype(np.float32),
        chroma=float(rng.uniform(0.035, 0.08)),
        sharpness=float(np.exp(rng.uniform(np.log(_SHARP_RANGE[0]), np.log(_SHARP_RANGE[1])))),
    )


_SHARP_RANGE = (0.3, 0.8)
_SHARP_STEPS = (-1.0, -0.5, 0.0, 0.4, 0.7, 1.0, 1.4, 2.0)  # <0: unsharp-mask amount, >0: blur sigma at 112 px


def sharpness(img: np.ndarray) -> float:
    """Scale-free sharpness of an RGB float image: mean |Laplacian| of luma over luma's mean deviation."""
    lum = luminance(img)[..., 0]
    lap = cv2.Laplacian(lum, cv2.CV_32F)
    return float(np.abs(lap).mean() / (np.abs(lum - lum.mean()).mean() + 1e-4))


def _sharpen_or_blur(img: np.ndarray, step: float, size: int) -> np.ndarray:
    if step < 0:
        return img + (-step) * (img - cv2.GaussianBlur(img, (0, 0), 0.8 * size / 112))
    if step > 0:
        return cv2.GaussianBlur(img, (0, 0), step * size / 112)
    return img


def _closest_step(img: np.ndarray, target: float) -> float:
    """The sharpen/blur step whose result has the sharpness closest to ``target`` (sharpness falls with the step)."""
    size = img.shape[0]
    start = _SHARP_STEPS.index(0.0)
    err0 = np.log(sharpness(img) / target)
    best, best_err = 0.0, abs(err0)
    order = _SHARP_STEPS[start + 1 :] if err0 > 0 else _SHARP_STEPS[:start][::-1]
    for step in order:  # walk away from 0 while it gets closer
        err = abs(np.log(sharpness(_sharpen_or_blur(img, step, size)) / target))
        if err >= best_err:
            break
        best, best_err = step, err
    return best


@dataclass(frozen=True)
class Development:
    """A clip-wide tone curve, chroma gain, colour cast and sharpening or blur, fitted on its first frame."""

    lut: np.ndarray  # additive luminance change for each of 256 input levels
    chroma_gain: float
    cast: np.ndarray
    step: float

    @classmethod
    def fit(cls, frame: np.ndarray, look: Look) -> Development:
        lum = np.clip(luminance(frame).ravel(), 0, 1)
        order = np.sort(lum)
        levels = np.linspace(0, 1, 256, dtype=np.float32)
        cdf = np.searchsorted(order, levels, side="right") / max(1, order.size)
        target = np.interp(cdf, np.linspace(0, 1, 256), look.quantiles).astype(np.float32)
        dev = cls(lut=target - levels, chroma_gain=1.0, cast=np.zeros(3, np.float32), step=0.0)
        toned = dev._tone(frame)
        tl = luminance(toned)
        chroma = float(np.abs(toned - tl).mean())
        gain = float(np.clip(look.chroma / max(chroma, 1e-4), 0.3, 3.0))
        coloured = tl + (toned - tl) * gain
        means = coloured.reshape(-1, 3).mean(axis=0)
        cast = look.cast - (means - means.mean())
        dev = cls(lut=dev.lut, chroma_gain=gain, cast=cast.astype(np.float32), step=0.0)
        base = np.clip(dev._colour(frame), 0, 1)
        return cls(lut=dev.lut, chroma_gain=gain, cast=dev.cast, step=_closest_step(base, look.sharpness))

    def _tone(self, img: np.ndarray) -> np.ndarray:
        lum = np.clip(luminance(img), 0, 1)
        return img + self.lut[(lum * 255 + 0.5).astype(np.uint8)]

    def _colour(self, img: np.ndarray) -> np.ndarray:
        toned = self._tone(img)
        tl = luminance(toned)
        return tl + (toned - tl) * self.chroma_gain + self.cast

    def apply(self, img: np.ndarray) -> np.ndarray:
        """Develop one frame of the clip."""
        out = np.clip(self._colour(img), 0, 1)
        return np.clip(_sharpen_or_blur(out, self.step, img.shape[0]), 0, 1).astype(np.float32)
