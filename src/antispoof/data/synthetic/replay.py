"""Replay attacks: a video shown on a phone, tablet or monitor, and the visible cues of seed 000.

Screen content goes through the display (its resolution, gamma, gamut, white point,
raised black level) and sits in a device with a bezel. In the frame, the cues are drawn
where the physics puts them: moire where the screen's pixel grid beats against the
sensor's (curved bands with colour fringes that drift as the device moves), glare where
a lamp reflects off the glass, a faint mirror image of the room on the screen, fingers
gripping the device edge, a mobile player's UI over the content.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from antispoof.data.synthetic._imaging import luminance, pixel_grid, smooth_noise
from antispoof.data.synthetic.media import Medium

__all__ = ["Device", "DEVICES", "Display", "draw_display", "show", "device_medium", "draw_mobile_ui", "Moire", "add_glare", "add_reflection", "draw_fingers"]


@dataclass(frozen=True)
class Device:
    """Screen geometry relative to a square content of side S: letterbox bars and bezel widths."""

    name: str
    bars: tuple[float, float]  # black bars (x, y) on each side of the content
    bezel: tuple[float, float, float, float]  # left, top, right, bottom
    corner: float  # body corner radius
    mobile: bool


DEVICES = {
    "phone": Device("phone", (0.0, 0.3), (0.05, 0.12, 0.05, 0.12), 0.12, True),
    "tablet": Device("tablet", (0.17, 0.0), (0.09, 0.09, 0.09, 0.09), 0.07, True),
    "monitor": Device("monitor", (0.39, 0.0), (0.04, 0.04, 0.04, 0.09), 0.01, False),
}


@dataclass(frozen=True)
class Display:
    """Per-sample display properties."""

    resolution: float
    gamma: float
    saturation: float
    white: tuple[float, float, float]
    black: float


def draw_display(rng: np.random.Generator, strength: float) -> Display:
    g = 1.0 + strength * rng.uniform(0.1, 0.35) * rng.choice([-1.0, 1.0])
    return Display(
        resolution=float(rng.uniform(0.6, 0.95)),
        gamma=float(g),
        saturation=float(1.0 + strength * rng.uniform(-0.1, 0.3)),
        white=tuple(float(v) for v in (1.0 - 0.06 * strength, 1.0, 1.0 + 0.08 * strength)),
        black=float(strength * rng.uniform(0.02, 0.07)),
    )


def show(content: np.ndarray, display: Display) -> np.ndarray:
    """What the screen emits for a float RGB ``content``."""
    s = content.shape[0]
    small = max(8, int(round(s * display.resolution)))
    img = cv2.resize(cv2.resize(content, (small, small), interpolation=cv2.INTER_AREA), (s, s), interpolation=cv2.INTER_LINEAR)
    img = np.clip(img, 0, 1) ** display.gamma
    lum = luminance(img)
    img = lum + (img - lum) * display.saturation
    img = img * np.asarray(display.white, np.float32)
    return (display.black + (1 - display.black) * np.clip(img, 0, 1)).astype(np.float32)


def device_medium(device: Device, size: int, rng: np.random.Generator) -> tuple[Medium, tuple[int, int]]:
    """The device canvas (bezel, dark screen) and the (x, y) offset of the content square on it."""
    s = size
    bx, by = int(device.bars[0] * s), int(device.bars[1] * s)
    left, top, right, bottom = (int(round(v * s)) for v in device.bezel)
    w = left + 2 * bx + s + right
    h = top + 2 * by + s + bottom
    layers = np.zeros((h, w, 6), np.float32)
    body = np.zeros((h, w), np.uint8)
    r = max(1, int(device.corner * s))
    cv2.rectangle(body, (r, 0), (w - 1 - r, h - 1), 255, -1)
    cv2.rectangle(body, (0, r), (w - 1, h - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(body, (cx, cy), r, 255, -1, cv2.LINE_AA)
    body_f = body.astype(np.float32) / 255.0
    colour = np.array([0.05, 0.05, 0.06], np.float32) if rng.random() < 0.7 else rng.uniform(0.55, 0.8) * np.array([1, 1, 1.02], np.float32)
    layers[..., :3] = colour * (1 + 0.1 * smooth_noise(rng, max(h, w), 4)[:h, :w])[..., None]
    layers[..., 3] = body_f
    layers[..., 4] = 0.07 if colour[0] < 0.2 else 0.35
    sx0, sy0 = left, top
    sx1, sy1 = w - right, h - bottom
    layers[sy0:sy1, sx0:sx1, :3] = 0.02
    layers[sy0:sy1, sx0:sx1, 4] = 0.04  # LCD and OLED panels are dark in near infrared
    layers[sy0:sy1, sx0:sx1, 5] = 1.0
    return Medium(layers=layers), (left + bx, top + by)


def draw_mobile_ui(size: int, rng: np.random.Generator, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """A video player's or video call's overlay (status bar, controls): colour and alpha, content pixels.

    Apply with ``content * (1 - alpha) + colour * alpha`` (``alpha`` is (S, S, 1)).
    """
    s = size
    ui = np.zeros((s, s, 3), np.uint8)
    ua = np.zeros((s, s), np.uint8)
    opacity = 0.45 + 0.45 * strength
    white = (255, 255, 255)
    font = max(0.22, s / 420.0)
    thick = max(1, s // 110)

    bar = int(0.09 * s)
    ua[:bar] = int(255 * 0.5 * opacity)
    cv2.putText(ui, f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}", (int(0.04 * s), int(0.07 * s)), cv2.FONT_HERSHEY_SIMPLEX, font, white, thick, cv2.LINE_AA)
    text_alpha = ui.max(axis=2)  # anti-aliased glyph coverage
    ua = np.maximum(ua, text_alpha)
    shapes = np.zeros((s, s), np.uint8)
    bx = int(0.8 * s)
    for img, col in ((ui, white), (shapes, 255)):
        cv2.rectangle(img, (bx, int(0.03 * s)), (bx + int(0.1 * s), int(0.065 * s)), col, thick, cv2.LINE_AA)
    level = bx + int(rng.uniform(0.03, 0.09) * s)
    for img, col in ((ui, white), (shapes, 255)):
        cv2.rectangle(img, (bx + 2, int(0.03 * s) + 2), (level, int(0.065 * s) - 2), col, -1)
        for k in range(4):
            x = int(0.62 * s) + k * max(2, s // 40)
            cv2.rectangle(img, (x, int((0.065 - 0.008 * (k + 1)) * s)), (x + max(1, s // 80), int(0.065 * s)), col, -1)
    y = int(0.86 * s)
    if rng.random() < 0.5:  # video player: progress bar and play button
        end = int(rng.uniform(0.15, 0.9) * s)
        tri = np.array([[0.46 * s, 0.9 * s], [0.46 * s, 0.97 * s], [0.54 * s, 0.935 * s]], np.int32)
        for img, grey, red, col in ((ui, (180, 180, 180), (240, 25, 25), white), (shapes, 255, 255, 255)):
            cv2.line(img, (int(0.06 * s), y), (int(0.94 * s), y), grey, thick + 1, cv2.LINE_AA)
            cv2.line(img, (int(0.06 * s), y), (end, y), red, thick + 1, cv2.LINE_AA)
            cv2.fillPoly(img, [tri], col, cv2.LINE_AA)
    else:  # video call: hang-up button and a self view
        x0 = int(0.72 * s)
        self_view = tuple(int(v) for v in rng.integers(50, 180, 3))
        for img, red, fill, col in ((ui, (230, 40, 30), self_view, white), (shapes, 255, 255, 255)):
            cv2.circle(img, (int(0.5 * s), int(0.91 * s)), int(0.055 * s), red, -1, cv2.LINE_AA)
            cv2.rectangle(img, (x0, int(0.62 * s)), (x0 + int(0.22 * s), int(0.82 * s)), fill, -1)
            cv2.rectangle(img, (x0, int(0.62 * s)), (x0 + int(0.22 * s), int(0.82 * s)), col, thick, cv2.LINE_AA)
    ua = np.maximum(ua, (shapes.astype(np.float32) * opacity).astype(np.uint8))
    return ui.astype(np.float32) / 255.0, (ua.astype(np.float32) / 255.0)[..., None]


@dataclass(frozen=True)
class Moire:
    """Beats between the screen's pixel grid and the sensor's: luminance bands with colour fringes.

    The beat is a low frequency of the camera image (the difference between the screen
    grid's frequency on the sensor and the nearest sensor harmonic), so the frame shows a
    few bands across the face whatever its pixel size; its frequency is drawn in cycles
    per frame width. Lens distortion changes the screen pitch on the sensor slowly across
    the image, which bends the bands. The R, G and B sub-pixel stripes sit side by side,
    so their beats are slightly out of phase: colour fringes along the bands.
    """

    freq: tuple[float, float]  # beat frequency (x, y), cycles per pixel
    curve: float  # change of the beat frequency per pixel of distance from ``centre`` (lens distortion)
    centre: tuple[float, float]
    phase: float
    drift: float  # phase change per frame (the device moves against the camera)
    amplitude: float  # relative modulation of the screen's light
    fringe: float  # phase offset of the R and B beats against G, radians

    @classmethod
    def draw(cls, rng: np.random.Generator, size: int, strength: float) -> Moire:
        f = rng.uniform(3.5, 8.0) / size  # 3.5 to 8 bands across the frame
        ang = rng.uniform(0, np.pi)
        return cls(
            freq=(float(f * np.cos(ang)), float(f * np.sin(ang))),
            curve=float(rng.uniform(-0.35, 0.35) * f / size),  # the local frequency changes by up to 35% across the frame
            centre=(float(rng.uniform(0, size)), float(rng.uniform(0, size))),
            phase=float(rng.uniform(0, 2 * np.pi)),
            drift=float(rng.uniform(0.6, 2.0)),
            amplitude=float(strength * rng.uniform(0.12, 0.24)),
            fringe=float(rng.uniform(0.25, 0.6)),
        )

    def apply(self, img: np.ndarray, screen: np.ndarray, t: int) -> np.ndarray:
        """Modulate the light of the ``screen`` pixels of frame ``t`` (``screen`` is its (H, W) coverage)."""
        xs, ys = pixel_grid(img.shape[0])
        phase = 2 * np.pi * (self.freq[0] * xs + self.freq[1] * ys + self.curve * ((xs - self.centre[0]) ** 2 + (ys - self.centre[1]) ** 2) / 2)
        phase = phase + self.phase + self.drift * t
        mod = np.stack([np.cos(phase + self.fringe * k) for k in (-1, 0, 1)], axis=2)
        return img * (1 + self.amplitude * mod * screen[..., None])


def add_glare(img: np.ndarray, screen: np.ndarray, rng_state: dict, light: np.ndarray, t_offset: tuple[float, float]) -> np.ndarray:
    """A lamp's specular reflection on the glass: a bright soft ellipse (moves against the device)."""
    xs, ys = pixel_grid(img.shape[0])
    cx, cy = rng_state["centre"]
    cx -= t_offset[0]
    cy -= t_offset[1]
    c, s = np.cos(rng_state["angle"]), np.sin(rng_state["angle"])
    u = ((xs - cx) * c + (ys - cy) * s) / rng_state["axes"][0]
    v = (-(xs - cx) * s + (ys - cy) * c) / rng_state["axes"][1]
    g = np.exp(-(u * u + v * v)) * rng_state["amplitude"]
    return img + (g * screen)[..., None] * light


def add_reflection(img: np.ndarray, screen: np.ndarray, mirror: np.ndarray, amount: float, shift: tuple[float, float]) -> np.ndarray:
    """A faint mirror image of the room on the glass (moves against the device)."""
    m = np.float32([[1, 0, -shift[0]], [0, 1, -shift[1]]])
    moved = cv2.warpAffine(mirror, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT)
    return img + amount * moved * screen[..., None]


def draw_fingers(size: int, rng: np.random.Generator, edge: dict, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fingers holding the device at one edge: premultiplied shaded colour and alpha, in frame pixels."""
    s = size
    mask = np.zeros((s, s), np.uint8)
    side, pos = edge["side"], edge["pos"]
    n = int(rng.integers(2, 5))
    width = rng.uniform(0.085, 0.12) * s  # a finger is ~1/3 of a face's width on a hand-held screen
    start = rng.uniform(0.1, max(0.12, 0.9 - 0.125 * n)) * s
    length = rng.uniform(0.15, 0.28) * s
    tips = []
    for k in range(n):
        along = start + k * width * 1.2
        inward = length * rng.uniform(0.8, 1.25)
        if side == "left":
            p0, p1 = (pos - 0.3 * s, along), (pos + inward, along)
        elif side == "right":
            p0, p1 = (pos + 0.3 * s, along), (pos - inward, along)
        else:  # bottom
            p0, p1 = (along, pos + 0.3 * s), (along, pos - inward)
        p0i = tuple(int(round(v * 16)) for v in p0)
        p1i = tuple(int(round(v * 16)) for v in p1)
        cv2.line(mask, p0i, p1i, 255, max(1, int(width)), cv2.LINE_AA, 4)
        cv2.circle(mask, p1i, max(1, int(width * 8)), 255, -1, cv2.LINE_AA, 4)
        tips.append(p1)
    alpha = mask.astype(np.float32) / 255.0
    core = cv2.GaussianBlur(alpha, (0, 0), max(0.8, width / 3))  # rounder = brighter in the middle
    shade = 0.55 + 0.6 * core
    rgb = skin * shade[..., None]
    for tip in tips:
        nail = np.zeros((s, s), np.uint8)
        cv2.circle(nail, (int(tip[0] * 16), int(tip[1] * 16)), max(1, int(width * 0.3 * 16)), 255, -1, cv2.LINE_AA, 4)
        nf = nail.astype(np.float32)[..., None] / 255.0 * alpha[..., None]
        rgb = rgb * (1 - 0.6 * nf) + 0.6 * nf * np.array([0.95, 0.8, 0.78], np.float32)
    return (rgb * alpha[..., None]).astype(np.float32), alpha
