"""Bona fide faces: procedural subjects, sessions (background, light) and a warpable face rig.

A subject is a set of drawn parameters (face shape, skin tone, eyes, brows, nose, mouth,
hair, shirt); a session adds a background and a light. :func:`build_rig` renders the
subject once under the session light into canonical layers (shaded colour, blink and
mouth deltas, alpha, relief depth, near-infrared reflectance). :meth:`FaceRig.render`
then places the face in a frame with one affine warp, so a clip of T frames costs T
warps, not T renderings. All layers are float32 in [0, 1]; colour is premultiplied by alpha.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import cv2
import numpy as np

from antispoof.data.synthetic._imaging import luminance, pixel_grid, smooth_noise

__all__ = ["Subject", "Session", "FaceRig", "FaceFrame", "draw_subject", "draw_session", "build_rig"]

_SHIFT = 4  # sub-pixel bits for cv2 drawing
_ONE = 1 << _SHIFT

# Skin albedo from light to dark (linear interpolation between neighbours).
_SKIN_TONES = np.array(
    [[0.96, 0.80, 0.70], [0.90, 0.70, 0.58], [0.78, 0.57, 0.44], [0.62, 0.43, 0.30], [0.44, 0.29, 0.20], [0.32, 0.21, 0.15]],
    dtype=np.float32,
)
_HAIR_COLOURS = np.array(
    [[0.06, 0.05, 0.05], [0.20, 0.13, 0.08], [0.38, 0.25, 0.14], [0.72, 0.58, 0.36], [0.55, 0.25, 0.12], [0.62, 0.62, 0.60]],
    dtype=np.float32,
)
_IRIS_COLOURS = np.array([[0.25, 0.15, 0.08], [0.12, 0.08, 0.05], [0.30, 0.45, 0.60], [0.30, 0.42, 0.28]], dtype=np.float32)


@dataclass(frozen=True)
class Subject:
    """Identity parameters of one procedural person (fixed across sessions)."""

    skin: np.ndarray  # albedo RGB
    face_w: float  # half-width as a fraction of the frame
    face_h: float  # half-height as a fraction of the frame
    jaw: float  # 0 round .. 1 narrow chin
    eye_size: float
    eye_gap: float
    iris: np.ndarray
    brow: float  # thickness factor
    nose_len: float
    nose_w: float
    mouth_w: float
    lips: np.ndarray
    hair: np.ndarray
    hair_style: int  # 0 short, 1 long, 2 very short
    texture_seed: int


@dataclass(frozen=True)
class Session:
    """Capture conditions of one session: background image recipe, light and clothing."""

    light_dir: np.ndarray  # unit vector towards the light (x right, y down, z to camera)
    light_rgb: np.ndarray  # light colour (mean ~1)
    ambient: float
    background_seed: int
    shirt: np.ndarray
    offset: tuple[float, float]  # face centre offset, fraction of the frame
    scale: float


@dataclass
class FaceFrame:
    """One placed face: premultiplied colour, alpha, relief depth and IR, plus its box."""

    rgb: np.ndarray
    alpha: np.ndarray
    depth: np.ndarray | None
    ir: np.ndarray | None
    box: tuple[float, float, float, float]


@dataclass
class FaceRig:
    """Canonical layers of one subject under one light, ready to warp into frames."""

    size: int
    rgb: np.ndarray
    d_blink: np.ndarray
    d_mouth: np.ndarray
    alpha: np.ndarray
    depth: np.ndarray
    ir: np.ndarray
    box: tuple[float, float, float, float]
    center: tuple[float, float]
    landmarks: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    border: int = cv2.BORDER_CONSTANT  # photos replicate their edge instead of showing black corners

    def render(self, affine: np.ndarray, blink: float = 0.0, mouth: float = 0.0, extras: bool = True) -> FaceFrame:
        """Warp the face with a 2x3 ``affine`` (canonical -> frame pixels) with eyelids and mouth set."""
        rgb = self.rgb
        if blink > 0:
            rgb = rgb + blink * self.d_blink
        if mouth > 0:
            rgb = rgb + mouth * self.d_mouth
        s = self.size
        stack = np.dstack([rgb, self.alpha, self.depth, self.ir]) if extras else np.dstack([rgb, self.alpha])
        out = cv2.warpAffine(stack, affine, (s, s), flags=cv2.INTER_LINEAR, borderMode=self.border)
        return FaceFrame(
            rgb=out[..., :3],
            alpha=out[..., 3],
            depth=out[..., 4] if extras else None,
            ir=out[..., 5] if extras else None,
            box=transform_box(self.box, affine),
        )


def transform_box(box: tuple[float, float, float, float], matrix: np.ndarray) -> tuple[float, float, float, float]:
    """Axis-aligned box around the image of ``box`` under a 2x3 affine or 3x3 homography."""
    x0, y0, x1, y1 = box
    pts = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], dtype=np.float64)
    m = np.asarray(matrix, dtype=np.float64)
    q = pts @ m.T
    if m.shape[0] == 3:
        q = q[:, :2] / q[:, 2:3]
    return float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())


def draw_subject(rng: np.random.Generator) -> Subject:
    """Draw one identity."""
    t = rng.uniform(0, len(_SKIN_TONES) - 1)
    i = int(t)
    skin = _SKIN_TONES[i] * (1 - (t - i)) + _SKIN_TONES[min(i + 1, len(_SKIN_TONES) - 1)] * (t - i)
    skin = np.clip(skin * rng.uniform(0.95, 1.05, 3), 0.05, 1.0).astype(np.float32)
    lips = np.clip(skin * np.array([1.0, 0.72, 0.72]) * rng.uniform(0.8, 1.0), 0, 1).astype(np.float32)
    return Subject(
        skin=skin,
        face_w=float(rng.uniform(0.17, 0.21)),
        face_h=float(rng.uniform(0.23, 0.27)),
        jaw=float(rng.uniform(0.0, 1.0)),
        eye_size=float(rng.uniform(0.85, 1.15)),
        eye_gap=float(rng.uniform(0.38, 0.46)),
        iris=_IRIS_COLOURS[rng.integers(len(_IRIS_COLOURS))] * rng.uniform(0.8, 1.2),
        brow=float(rng.uniform(0.7, 1.4)),
        nose_len=float(rng.uniform(0.85, 1.15)),
        nose_w=float(rng.uniform(0.8, 1.25)),
        mouth_w=float(rng.uniform(0.8, 1.15)),
        lips=lips,
        hair=np.clip(_HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS))] * rng.uniform(0.8, 1.2, 3), 0, 1).astype(np.float32),
        hair_style=int(rng.integers(3)),
        texture_seed=int(rng.integers(2**31)),
    )


def draw_session(rng: np.random.Generator) -> Session:
    """Draw the capture conditions of one session."""
    azim = rng.uniform(-np.pi, np.pi)
    elev = rng.uniform(0.15, 0.7)  # how far the light is from the optical axis
    d = np.array([np.sin(elev) * np.cos(azim), np.sin(elev) * np.sin(azim) - 0.2, np.cos(elev)], dtype=np.float32)
    temp = rng.uniform(-1, 1)  # warm (-1) .. cool (+1)
    light = np.array([1.0 - 0.12 * temp, 1.0, 1.0 + 0.15 * temp], dtype=np.float32) * rng.uniform(0.9, 1.1)
    return Session(
        light_dir=d / np.linalg.norm(d),
        light_rgb=light,
        ambient=float(rng.uniform(0.3, 0.55)),
        background_seed=int(rng.integers(2**31)),
        shirt=rng.uniform(0.05, 0.85, 3).astype(np.float32),
        offset=(float(rng.uniform(-0.04, 0.04)), float(rng.uniform(-0.03, 0.04))),
        scale=float(rng.uniform(0.92, 1.08)),
    )


def render_background(seed: int, size: int, light_rgb: np.ndarray) -> np.ndarray:
    """A room-like backdrop: a two-colour gradient, a few soft blocks (furniture, doors) and smooth noise."""
    rng = np.random.default_rng(seed)
    n = max(8, size // 4)
    base = rng.uniform(0.15, 0.8, (2, 3)).astype(np.float32)
    base = base.mean(axis=1, keepdims=True) * 0.6 + base * 0.4  # muted colours
    g = np.linspace(0, 1, n, dtype=np.float32)[:, None, None]
    small = base[0] * (1 - g) + base[1] * g
    small = np.broadcast_to(small, (n, n, 3)).copy()
    for _ in range(int(rng.integers(2, 5))):
        x0, y0 = rng.integers(0, n, 2)
        w, h = rng.integers(n // 8, n // 2, 2)
        small[y0 : y0 + h, x0 : x0 + w] = rng.uniform(0.1, 0.9, 3) * 0.5 + small[y0 : y0 + h, x0 : x0 + w] * 0.5
    small += 0.04 * rng.standard_normal((n, n, 1), dtype=np.float32)
    small = cv2.GaussianBlur(small, (0, 0), 0.8)
    bg = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
    bg *= 1 + rng.uniform(0.01, 0.035) * rng.standard_normal((size, size, 1), dtype=np.float32)  # wall and fabric texture
    return np.clip(bg * light_rgb * 0.9, 0, 1).astype(np.float32)


def _soft(size: int, draw) -> np.ndarray:
    """Anti-aliased mask in [0, 1] from a cv2 drawing callback on a uint8 canvas."""
    canvas = np.zeros((size, size), np.uint8)
    draw(canvas)
    return canvas.astype(np.float32) * (1.0 / 255.0)


def _ellipse(size: int, c: tuple[float, float], ax: tuple[float, float], angle: float = 0.0, arc=(0, 360), thick: int = -1):
    center = (int(round(c[0] * _ONE)), int(round(c[1] * _ONE)))
    axes = (max(1, int(round(ax[0] * _ONE))), max(1, int(round(ax[1] * _ONE))))
    return _soft(size, lambda m: cv2.ellipse(m, center, axes, angle, arc[0], arc[1], 255, thick, cv2.LINE_AA, _SHIFT))


def _paint(albedo: np.ndarray, ir: np.ndarray, mask: np.ndarray, rgb, ir_value: float) -> None:
    """Blend a colour (scalar or per-pixel) and an IR value into the layers where ``mask`` is set."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return
    cols = np.flatnonzero(mask.any(axis=0))
    sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    m = mask[sl]
    colour = np.asarray(rgb, np.float32)
    if colour.ndim == 3:
        colour = colour[sl]
    a = albedo[sl]
    a *= (1 - m)[..., None]
    a += m[..., None] * colour
    i = ir[sl]
    i *= 1 - m
    i += m * ir_value


def _gauss(xs, ys, cx, cy, sx, sy):
    return np.exp(-(((xs - cx) / sx) ** 2 + ((ys - cy) / sy) ** 2))


def build_rig(subject: Subject, session: Session, size: int, material: str = "skin", mask_strength: float = 1.0) -> FaceRig:
    """Render ``subject`` under the ``session`` light into warpable canonical layers.

    ``material`` is ``"skin"`` (a live face: textured skin, blinks, mouth movement) or
    ``"mask"`` (a rigid resin mask of the same face: smoothed and tinted texture, stronger
    specular sheen, painted eyes that never close, a fixed mouth, a seam at its rim, flat IR);
    ``mask_strength`` in (0, 1] scales how far the mask's look departs from skin.
    """
    if material not in ("skin", "mask"):
        raise ValueError(f"unknown face material {material!r}; use 'skin' or 'mask'")
    s = size
    xs, ys = pixel_grid(s)
    rng = np.random.default_rng(subject.texture_seed)
    cx = s * (0.5 + session.offset[0])
    cy = s * (0.47 + session.offset[1])
    a = s * subject.face_w * session.scale
    b = s * subject.face_h * session.scale

    dx = (xs - cx) / a
    dy = (ys - cy) / b
    # Head outline: an ellipse whose lower half narrows towards the chin.
    narrow = 1.0 + 0.35 * subject.jaw * np.clip(dy, 0, None) ** 2
    e = 1.0 - (dx * narrow) ** 2 - dy**2
    head = np.clip(e * (min(a, b) / 1.5), 0, 1).astype(np.float32)  # ~1.5 px soft edge

    albedo = np.zeros((s, s, 3), np.float32)
    irr = np.zeros((s, s), np.float32)
    alpha = np.zeros((s, s), np.float32)
    depth = np.zeros((s, s), np.float32)

    # Torso and neck (behind the face).
    torso = _ellipse(s, (cx, cy + 2.35 * b), (2.3 * a, 1.1 * b))
    _paint(albedo, irr, torso, session.shirt, 0.5)
    neck_x = np.clip((1.0 - np.abs(xs - cx) / (0.62 * a)) * 2.0, 0, 1)
    neck = neck_x * (ys > cy + 0.4 * b) * (ys < cy + 1.45 * b)
    _paint(albedo, irr, neck.astype(np.float32), subject.skin * 0.82, 0.72)
    alpha = np.maximum(alpha, np.maximum(torso, neck))
    depth = np.maximum(torso * 0.35, neck * 0.45).astype(np.float32)

    hair_back = np.zeros((s, s), np.float32)
    if subject.hair_style == 1:  # long hair falls behind the face to the shoulders
        hair_back = _ellipse(s, (cx, cy + 0.3 * b), (1.25 * a, 1.3 * b)) * (ys < cy + 1.6 * b)
        _paint(albedo, irr, hair_back, subject.hair, 0.35)
        alpha = np.maximum(alpha, hair_back)
        depth = np.maximum(depth, hair_back * 0.4)
    ears = _ellipse(s, (cx - 0.98 * a, cy - 0.02 * b), (0.16 * a, 0.22 * b)) + _ellipse(
        s, (cx + 0.98 * a, cy - 0.02 * b), (0.16 * a, 0.22 * b)
    )
    ears = np.clip(ears, 0, 1)
    _paint(albedo, irr, ears, subject.skin * 0.92, 0.72)
    alpha = np.maximum(alpha, ears)
    depth = np.maximum(depth, ears * 0.55)

    # Skin with blotches and pores.
    blotch = smooth_noise(rng, s, 6, 3) * 0.035 + smooth_noise(rng, s, max(8, s // 6), 1)[..., None] * 0.03
    blotch = blotch + 0.045 * rng.standard_normal((s, s, 1), dtype=np.float32)  # pores, fine skin texture
    skin = subject.skin * (1.0 + blotch)
    cheeks = _gauss(xs, ys, cx - 0.5 * a, cy + 0.2 * b, 0.25 * a, 0.2 * b) + _gauss(xs, ys, cx + 0.5 * a, cy + 0.2 * b, 0.25 * a, 0.2 * b)
    skin = skin * (1 - 0.08 * cheeks[..., None] * np.array([0.0, 1.0, 0.8], np.float32))
    m = head[..., None]
    albedo = albedo * (1 - m) + skin * m
    irr = irr * (1 - head) + 0.75 * head
    alpha = np.maximum(alpha, head)

    # Relief: an ellipsoid, a nose, brow ridge, eye sockets and lips.
    z = np.sqrt(np.clip(e, 0, None))
    eye_y = cy - 0.22 * b
    eye_dx = subject.eye_gap * a
    nose_y = cy + 0.16 * b * subject.nose_len
    mouth_y = cy + 0.5 * b
    relief = 0.55 + 0.28 * z
    relief += 0.12 * _gauss(xs, ys, cx, (eye_y + nose_y) / 2 + 0.05 * b, 0.13 * a * subject.nose_w, 0.38 * b * subject.nose_len)
    relief += 0.03 * _gauss(xs, ys, cx, eye_y - 0.2 * b, 0.7 * a, 0.08 * b)
    relief -= 0.04 * (_gauss(xs, ys, cx - eye_dx, eye_y, 0.22 * a, 0.12 * b) + _gauss(xs, ys, cx + eye_dx, eye_y, 0.22 * a, 0.12 * b))
    relief += 0.03 * _gauss(xs, ys, cx, mouth_y, 0.35 * a * subject.mouth_w, 0.08 * b)
    depth = depth * (1 - head) + relief * head

    # Eyes (open), brows, nostrils, lips.
    erx = 0.19 * a * subject.eye_size
    ery = 0.42 * erx
    eyes_open = []
    lid_masks = []
    landmarks: dict[str, tuple[float, float, float, float]] = {}
    for side, ex in (("eye_left", cx - eye_dx), ("eye_right", cx + eye_dx)):
        white = _ellipse(s, (ex, eye_y), (erx, ery))
        iris = _ellipse(s, (ex, eye_y), (0.48 * erx, 0.48 * erx)) * white
        pupil = _ellipse(s, (ex, eye_y), (0.2 * erx, 0.2 * erx)) * white
        glint = _ellipse(s, (ex + 0.15 * erx, eye_y - 0.15 * erx), (0.08 * erx, 0.08 * erx)) * white
        eyes_open.append((white, iris, pupil, glint))
        lid_masks.append(_ellipse(s, (ex, eye_y), (erx * 1.08, ery * 1.35)))
        landmarks[side] = (ex, eye_y, erx, ery)
        brow = _ellipse(s, (ex, eye_y - 0.5 * erx - 0.05 * b), (1.25 * erx, 0.55 * erx), 0, (200, 340), max(1, int(round(0.09 * erx * subject.brow * 2))))
        _paint(albedo, irr, brow * head, subject.hair * 0.8 + 0.05, 0.45)
    nose_tip = (cx, nose_y + 0.1 * b)
    for sgn in (-1, 1):
        nostril = _ellipse(s, (cx + sgn * 0.09 * a * subject.nose_w, nose_tip[1]), (0.05 * a, 0.025 * b))
        _paint(albedo, irr, nostril, subject.skin * 0.35, 0.4)
    landmarks["nose"] = (cx, (eye_y + nose_tip[1]) / 2 + 0.07 * b, 0.2 * a * subject.nose_w, 0.32 * b * subject.nose_len)
    mw = 0.38 * a * subject.mouth_w
    lips = _ellipse(s, (cx, mouth_y), (mw, 0.1 * b))
    _paint(albedo, irr, lips, subject.lips, 0.7)
    line = _ellipse(s, (cx, mouth_y), (mw * 0.95, 0.01 * b + 0.6), thick=max(1, s // 160))
    _paint(albedo, irr, line, subject.lips * 0.4, 0.5)
    landmarks["mouth"] = (cx, mouth_y, mw * 1.15, 0.16 * b)

    # Hair on top (fringe / cap) over the forehead.
    hairline = cy - (0.55 if subject.hair_style != 2 else 0.78) * b + 0.25 * b * dx**2
    cap = _ellipse(s, (cx, cy - 0.08 * b), (1.08 * a, 1.12 * b)) * np.clip((hairline - ys) / 1.5, 0, 1)
    _paint(albedo, irr, cap, subject.hair, 0.35)
    alpha = np.maximum(alpha, cap)
    depth = np.maximum(depth, cap * (0.6 + 0.2 * np.sqrt(np.clip(1 - dx**2, 0, 1))))
    hair_all = np.clip(hair_back * (1 - head) + cap, 0, 1)
    strands = cv2.resize(rng.standard_normal((max(4, s // 10), s), dtype=np.float32), (s, s), interpolation=cv2.INTER_LINEAR)
    albedo *= (1 + (0.06 * smooth_noise(rng, s, max(8, s // 2)) + 0.2 * strands) * hair_all)[..., None]

    if material == "mask":
        albedo, irr = _mask_material(albedo, irr, head, rng, s, cx, cy, a, b, mask_strength)

    # Eyes: a live face gets eyelids (the blink variant); a mask has painted eyes that never close.
    closed = albedo.copy()
    for (white, iris, pupil, glint), lid in zip(eyes_open, lid_masks, strict=True):
        if material == "mask":  # eye holes: the wearer's eyes sit in shadow behind the shell
            hole = np.clip(cv2.GaussianBlur(lid, (0, 0), max(0.6, erx / 4)) * 1.3, 0, 1)
            _paint(albedo, irr, hole, np.full(3, 0.07, np.float32), 0.2)
            _paint(albedo, irr, white * 0.8, np.array([0.92, 0.9, 0.88], np.float32) * 0.35, 0.3)
            _paint(albedo, irr, iris, subject.iris * 0.35, 0.25)
            _paint(albedo, irr, pupil, np.full(3, 0.02, np.float32), 0.08)
        else:
            _paint(albedo, irr, white, np.array([0.92, 0.9, 0.88], np.float32), 0.7)
            _paint(albedo, irr, iris, subject.iris, 0.5)
            _paint(albedo, irr, pupil, np.full(3, 0.03, np.float32), 0.08)
            _paint(albedo, irr, glint, np.ones(3, np.float32), 0.9)
            lash = lid * np.clip(1 - np.abs(ys - (eye_y + 0.25 * ery)) / max(0.8, 0.1 * erx), 0, 1)
            closed = closed * (1 - lid[..., None]) + (subject.skin * 0.9) * lid[..., None]
            closed *= (1 - 0.7 * lash)[..., None]
    if material == "mask":
        closed = albedo.copy()
    mouth_open = albedo.copy()
    if material == "skin":
        inner = _ellipse(s, (cx, mouth_y), (mw * 0.8, 0.075 * b))
        teeth = _ellipse(s, (cx, mouth_y - 0.03 * b), (mw * 0.6, 0.03 * b)) * inner
        mouth_open = mouth_open * (1 - inner[..., None]) + np.array([0.25, 0.08, 0.08], np.float32) * inner[..., None]
        mouth_open = mouth_open * (1 - teeth[..., None]) + 0.85 * teeth[..., None]

    # Shading from the relief normals (Lambert + Blinn-Phong), same light for all variants.
    soft_depth = cv2.GaussianBlur(depth, (0, 0), max(1.0, s / 50))  # no black outlines at depth steps
    if material == "mask":  # a cast shell: features moulded shallower than a real face
        soft_depth = soft_depth * (1 - 0.5 * mask_strength) + cv2.GaussianBlur(soft_depth, (0, 0), s / 15) * 0.5 * mask_strength
    gx = cv2.Sobel(soft_depth, cv2.CV_32F, 1, 0, ksize=3) * (s / 8.0)
    gy = cv2.Sobel(soft_depth, cv2.CV_32F, 0, 1, ksize=3) * (s / 8.0)
    norm = 1.0 / np.sqrt(gx * gx + gy * gy + 1.0)
    nx, ny, nz = -gx * norm, -gy * norm, norm
    ld = session.light_dir
    lam = np.clip(nx * ld[0] + ny * ld[1] + nz * ld[2], 0, 1)
    shade = session.ambient + (1 - session.ambient) * lam
    h = ld + np.array([0, 0, 1], np.float32)
    h = h / np.linalg.norm(h)
    spec_k, spec_p = (0.10, 12.0) if material == "skin" else (0.1 + 0.4 * mask_strength, 30.0)
    spec = spec_k * np.clip(nx * h[0] + ny * h[1] + nz * h[2], 0, 1) ** spec_p * head
    light = session.light_rgb

    def shaded(alb: np.ndarray) -> np.ndarray:
        return (alb * shade[..., None] + spec[..., None]) * light * alpha[..., None]

    rgb = shaded(albedo)
    ir = irr * (0.25 + 0.75 * np.clip(nz, 0, 1)) * alpha  # active illuminator beside the lens
    box = (cx - 1.08 * a, cy - 1.05 * b, cx + 1.08 * a, cy + 1.08 * b)
    return FaceRig(
        size=s,
        rgb=rgb.astype(np.float32),
        d_blink=(shaded(closed) - rgb).astype(np.float32),
        d_mouth=(shaded(mouth_open) - rgb).astype(np.float32),
        alpha=alpha.astype(np.float32),
        depth=(depth * (alpha > 0.01)).astype(np.float32),
        ir=ir.astype(np.float32),
        box=box,
        center=(cx, cy),
        landmarks=landmarks,
    )


def _mask_material(albedo, irr, head, rng, s, cx, cy, a, b, strength):
    """Resin mask look: skin detail smoothed away, a tint, grain, and a seam at the rim."""
    smooth = cv2.GaussianBlur(albedo, (0, 0), max(1.0, s / 40 * (0.5 + strength)))
    tint = 1.0 + strength * np.array([0.1, 0.0, -0.15], np.float32) * rng.uniform(0.7, 1.4)
    grain = 1.0 + 0.03 * smooth_noise(rng, s, max(8, s // 2))
    grey = 0.5 * strength
    resin = np.clip(luminance(smooth) * grey + smooth * (1 - grey), 0, 1) * tint * grain[..., None]
    m = head[..., None]
    out = albedo * (1 - m) + resin * m
    seam = _ellipse(s, (cx, cy), (a * 0.97, b * 0.97), thick=max(1, s // 90))
    out *= (1 - (0.2 + 0.6 * strength) * seam)[..., None]
    ir_out = irr * (1 - head) + 0.55 * head
    return out.astype(np.float32), ir_out.astype(np.float32)
