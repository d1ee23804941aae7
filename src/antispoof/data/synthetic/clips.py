"""Render one clip (T frames of one video) of a bona fide face or an attack, in every modality.

Everything random about a clip comes from generators seeded by the dataset seed and the
clip's (subject, session, video) numbers, so a clip is the same whichever worker renders
it and in whatever order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from antispoof.data.synthetic.camera import DOMAINS, Development, draw_look
from antispoof.data.synthetic.faces import (
    FaceRig,
    build_rig,
    draw_session,
    draw_subject,
    render_background,
    transform_box,
)
from antispoof.data.synthetic.media import Medium, place
from antispoof.data.synthetic.modalities import background_ir, encode_depth, encode_ir
from antispoof.data.synthetic.motion import Trajectory, flicker_gains, live_motion, rigid_motion, similarity
from antispoof.data.synthetic.prints import make_print
from antispoof.data.synthetic.replay import (
    DEVICES,
    Moire,
    add_glare,
    add_reflection,
    device_medium,
    draw_display,
    draw_fingers,
    draw_mobile_ui,
    show,
)
from antispoof.data.synthetic.species import SPECIES, VISIBLE_CUES
from antispoof.data.base import ATTRIBUTES

__all__ = ["VideoSpec", "Clip", "render_clip", "rng_for", "cue_strength"]

_DOMAINS = {d.name: d for d in DOMAINS}
_CUE_PROBABILITY = 0.5


@dataclass(frozen=True)
class VideoSpec:
    """What to render: ids for the manifest, the species and domain, and the seed keys."""

    subject: str
    session: str
    video: str
    species: str
    domain: str
    split: str
    keys: tuple[int, int, int]  # subject, session, video numbers (seed keys)
    photo: str | None = None  # a user's face photo to use instead of a procedural subject


@dataclass
class Clip:
    """Rendered frames (uint8) with per-frame face boxes and per-clip attributes."""

    rgb: list[np.ndarray]
    ir: list[np.ndarray] | None
    depth: list[np.ndarray] | None
    boxes: list[tuple[float, float, float, float]]
    attributes: dict[str, int] = field(default_factory=dict)
    jpeg_quality: int = 90


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """An independent generator for (seed, keys...)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *(int(k) for k in keys)]))


def cue_strength(difficulty: float, rng: np.random.Generator) -> float:
    """How visible one sample's attack cues are: strong at difficulty 0, faint at 1, jittered per sample."""
    base = 1.0 - 0.8 * float(np.clip(difficulty, 0.0, 1.0))
    return float(np.clip(base * rng.uniform(0.7, 1.3), 0.08, 1.0))


@lru_cache(maxsize=12)
def _subject_rig(seed: int, subject: int, session: int, size: int, material: str, strength: float = 1.0) -> tuple[FaceRig, object]:
    subj = draw_subject(rng_for(seed, 1, subject))
    ses = draw_session(rng_for(seed, 2, subject, session))
    return build_rig(subj, ses, size, material, strength), ses


@lru_cache(maxsize=6)
def _background(bg_seed: int, size: int, light: tuple[float, float, float]) -> np.ndarray:
    out = render_background(bg_seed, size, np.asarray(light, np.float32))
    out.setflags(write=False)
    return out


@dataclass
class _Scene:
    """The session's capture scene: backdrop in RGB and IR, light."""

    bg: np.ndarray
    bg_ir: np.ndarray
    light_dir: np.ndarray
    light_rgb: np.ndarray
    ambient: float


def render_clip(
    spec: VideoSpec,
    *,
    seed: int,
    size: int,
    frames: int,
    modalities: tuple[str, ...] = ("rgb",),
    difficulty: float = 0.5,
    photo_rig: FaceRig | None = None,
) -> Clip:
    """Render the clip ``spec`` describes; ``photo_rig`` replaces the procedural subject (``--from-photos``)."""
    species = SPECIES[spec.species]
    subj_i, ses_i, vid_i = spec.keys
    rng = rng_for(seed, 3, subj_i, ses_i, vid_i)
    s = size
    if photo_rig is not None:
        rig = photo_rig
        session = draw_session(rng_for(seed, 2, subj_i, ses_i))
    strength = cue_strength(difficulty, rng)
    if photo_rig is None and species.family == "mask":
        # Quantised so the few mask strengths of a dataset share cached rigs.
        rig, session = _subject_rig(seed, subj_i, ses_i, s, "mask", round(strength * 4) / 4 or 0.25)
    elif photo_rig is None:
        rig, session = _subject_rig(seed, subj_i, ses_i, s, "skin")
    light = tuple(float(v) for v in session.light_rgb)
    bg = _background(session.background_seed, s, light)
    scene = _Scene(bg, background_ir(bg), session.light_dir, session.light_rgb, session.ambient)
    want_ir, want_depth = "ir" in modalities, "depth" in modalities

    if species.family in ("bonafide", "mask"):
        live = species.family == "bonafide"
        traj = live_motion(rng, frames, s, blinks=live and photo_rig is None, speech=live and photo_rig is None)
        layers, boxes = _render_face_clip(rig, traj, scene, frames, want_ir or want_depth)
        attributes = {}
    elif species.family == "print":
        layers, boxes = _render_print_clip(spec, seed, rng, rig, scene, species, frames, s, strength, photo_rig)
        attributes = {}
    else:
        layers, boxes, attributes = _render_replay_clip(spec, seed, rng, rig, scene, species, frames, s, strength, photo_rig)

    # Global statistics and the camera: the same distributions for every label.
    domain = _DOMAINS[spec.domain]
    development = Development.fit(layers[0][0], draw_look(rng))
    pad = 8
    noise = rng.standard_normal((s + pad, s + pad, 3), dtype=np.float32)
    rgb_out, ir_out, depth_out = [], [] if want_ir else None, [] if want_depth else None
    for t, (rgb, ir, depth) in enumerate(layers):
        off = (int(rng.integers(pad)), int(rng.integers(pad)))
        img = domain.capture(development.apply(rgb), noise if t % 2 == 0 else noise[::-1], off)
        rgb_out.append((img * 255.0 + 0.5).astype(np.uint8))
        if ir_out is not None:
            ir_out.append(encode_ir(ir, noise[..., 1], off))
        if depth_out is not None:
            depth_out.append(encode_depth(depth, noise[..., 2], off))

    attrs = {name: 0 for name in ATTRIBUTES}
    attrs.update(attributes)
    if species.family != "bonafide" and not any(attrs[c] for c in VISIBLE_CUES):
        attrs["invisible_attack"] = 1
    clipped = [tuple(float(np.clip(v, 0, s)) for v in b) for b in boxes]
    return Clip(rgb_out, ir_out, depth_out, clipped, attrs, domain.jpeg_quality)


def _composite(base: np.ndarray, premul: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return base * (1 - alpha[..., None]) + premul


def _render_face_clip(rig: FaceRig, traj: Trajectory, scene: _Scene, frames: int, extras: bool):
    out, boxes = [], []
    for t in range(frames):
        face = rig.render(traj.affine(t, rig.center), float(traj.blink[t]), float(traj.mouth[t]), extras=extras)
        rgb = _composite(scene.bg, face.rgb, face.alpha)
        ir = scene.bg_ir * (1 - face.alpha) + face.ir if extras else None
        out.append((rgb, ir, face.depth))
        boxes.append(face.box)
    return out, boxes


def _source_frame(rig: FaceRig, bg: np.ndarray, affine: np.ndarray, blink: float, mouth: float) -> tuple[np.ndarray, tuple]:
    face = rig.render(affine, blink, mouth, extras=False)
    return _composite(bg, face.rgb, face.alpha).astype(np.float32), face.box


def _attack_source(seed: int, spec: VideoSpec, rng: np.random.Generator, rig: FaceRig, size: int, photo_rig):
    """The face the attacker shows: the subject in another session (a photo or video taken elsewhere)."""
    if photo_rig is not None:
        return photo_rig, _background(int(rng.integers(2**31)), size, (1.0, 1.0, 1.0)), None
    src_session = 100 + int(rng.integers(3))  # the attacker holds one of a few photos / videos of the subject
    src_rig, ses = _subject_rig(seed, spec.keys[0], src_session, size, "skin")
    bg = _background(ses.background_seed, size, tuple(float(v) for v in ses.light_rgb))
    return src_rig, bg, ses


def _render_print_clip(spec, seed, rng, rig, scene, species, frames, s, strength, photo_rig):
    src_rig, src_bg, _ = _attack_source(seed, spec, rng, rig, s, photo_rig)
    ident = similarity(src_rig.center, 0.0, 0.0, float(rng.uniform(-3, 3)), 1.0).astype(np.float32)
    source, src_box = _source_frame(src_rig, src_bg, ident, 0.0, float(rng.uniform(0, 0.3)) if photo_rig is None else 0.0)
    bend = float(rng.uniform(0.8, 1.3)) if species.surface == "bent" else 0.0  # half arc: wrapped around a head
    medium = make_print(source, src_rig.landmarks, species.cutouts, bend, strength, rng)
    canvas = medium.height
    margin = (canvas - s) // 2
    k = float(rng.uniform(0.92, 1.25))
    centre = (s / 2 + rng.uniform(-0.05, 0.05) * s, s / 2 + rng.uniform(-0.05, 0.05) * s)
    # The face on the paper lands where a face would be: scale k about the frame centre.
    a0 = np.array([[k, 0, centre[0] - k * (margin + s / 2)], [0, k, centre[1] - k * (margin + s / 2)], [0, 0, 1]], np.float64)
    if not species.cutouts:
        a0 = _tilt(rng, s, 0.06) @ a0
    traj = rigid_motion(rng, frames, s)
    wearer = None
    if species.cutouts:
        # The wearer's own face behind the paper, aligned so its eyes (nose, mouth) fill the holes.
        wearer_rig = rig
        align = _align(wearer_rig, src_rig)
        shift = np.array([[1, 0, margin], [0, 1, margin], [0, 0, 1]], np.float64)
        blink = live_motion(rng, frames, s, blinks=photo_rig is None, speech=False)
        wearer = (wearer_rig, align, shift, blink)
    plane = float(rng.uniform(0.55, 0.75))
    paper_gain = float(rng.uniform(0.95, 1.1))
    out, boxes = [], []
    for t in range(frames):
        m = np.vstack([similarity((s / 2, s / 2), traj.dx[t], traj.dy[t], traj.angle[t], traj.scale[t]), [0, 0, 1]])
        h = m @ a0
        placed = place(medium, h, s, scene.light_dir, plane)
        shade = scene.ambient + (1 - scene.ambient) * placed.lambert
        lit = placed.rgb * shade[..., None] * scene.light_rgb * paper_gain
        base, base_ir, base_depth = scene.bg, scene.bg_ir, np.zeros((s, s), np.float32)
        if wearer is not None:
            w_rig, align, shift, w_traj = wearer
            face = w_rig.render((h @ shift @ align)[:2].astype(np.float32), float(w_traj.blink[t]), 0.0)
            base = _composite(base, face.rgb, face.alpha)
            base_ir = base_ir * (1 - face.alpha) + face.ir
            base_depth = np.where(face.alpha > 0.5, plane - 0.1 + 0.3 * (face.depth - 0.55), 0.0).astype(np.float32)
        a = placed.alpha
        rgb = base * (1 - a[..., None]) + lit * a[..., None]
        ir = base_ir * (1 - a) + placed.ir * (0.3 + 0.7 * placed.lambert) * a
        depth = np.where(a > 0.5, placed.depth, base_depth)
        out.append((rgb, ir, depth))
        boxes.append(transform_box(tuple(v + margin for v in src_box), h))
    return out, boxes


def _align(wearer: FaceRig, source: FaceRig) -> np.ndarray:
    """Similarity taking the wearer's canonical face onto the source photo's (same person, other framing)."""
    wx0, wy0, wx1, wy1 = wearer.box
    sx0, sy0, sx1, sy1 = source.box
    k = (sx1 - sx0) / max(wx1 - wx0, 1e-6)
    return np.array(
        [[k, 0, source.center[0] - k * wearer.center[0]], [0, k, source.center[1] - k * wearer.center[1]], [0, 0, 1]], np.float64
    )


def _tilt(rng: np.random.Generator, s: int, amount: float) -> np.ndarray:
    """A small perspective distortion about the frame (a medium not quite parallel to the sensor)."""
    src = np.float32([[0, 0], [s, 0], [s, s], [0, s]])
    dst = src + rng.uniform(-amount, amount, (4, 2)).astype(np.float32) * s
    return cv2.getPerspectiveTransform(src, dst).astype(np.float64)


def _render_replay_clip(spec, seed, rng, rig, scene, species, frames, s, strength, photo_rig):
    device = DEVICES[species.device]
    src_rig, src_bg, _ = _attack_source(seed, spec, rng, rig, s, photo_rig)
    src_traj = live_motion(rng, frames, s, blinks=photo_rig is None, speech=photo_rig is None)
    display = draw_display(rng, strength)
    medium, (ox, oy) = device_medium(device, s, rng)
    flags = {c: int(c in species.cues and rng.random() < _CUE_PROBABILITY) for c in VISIBLE_CUES}
    if flags["device_border"]:
        k = float(rng.uniform(0.62, 0.86))
        side_shift = rng.uniform(-0.08, 0.08) * s
    else:
        k = float(rng.uniform(1.1, 1.25))
        side_shift = 0.0
    centre = (s / 2 + side_shift + rng.uniform(-0.02, 0.02) * s, s / 2 + rng.uniform(-0.03, 0.03) * s)
    a0 = np.array([[k, 0, centre[0] - k * (ox + s / 2)], [0, k, centre[1] - k * (oy + s / 2)], [0, 0, 1]], np.float64)
    a0 = _tilt(rng, s, 0.03 if flags["device_border"] else 0.015) @ a0
    traj = rigid_motion(rng, frames, s)
    gain, bands = flicker_gains(rng, frames, s, strength)
    emission = float(rng.uniform(0.9, 1.15))
    plane = float(rng.uniform(0.55, 0.75))
    ui = draw_mobile_ui(s, rng, strength) if flags["mobile_ui"] else None
    moire = Moire.draw(rng, s, strength) if flags["moire"] else None
    glare = None
    if flags["glare"]:
        glare = {
            "centre": (float(rng.uniform(0.2, 0.8) * s), float(rng.uniform(0.15, 0.75) * s)),
            "axes": (float(rng.uniform(0.12, 0.3) * s), float(rng.uniform(0.06, 0.16) * s)),
            "angle": float(rng.uniform(0, np.pi)),
            "amplitude": float(strength * rng.uniform(0.45, 0.9)),
        }
    mirror = None
    if flags["reflection"]:
        mirror = _room_mirror(rng, s)
        refl_amount = float(strength * rng.uniform(0.3, 0.5))
    fingers = None
    if flags["fingers"]:
        side = str(rng.choice(["left", "right", "bottom"]))
        h, w = medium.height, medium.width
        if flags["device_border"]:
            pts = {"left": (0, h / 2), "right": (w, h / 2), "bottom": (w / 2, h)}[side]
            q = a0 @ np.array([pts[0], pts[1], 1.0])
            pos = float(q[0] / q[2]) if side != "bottom" else float(q[1] / q[2])
            pos = float(np.clip(pos, 0.0, s))  # an edge beyond the frame: the hand enters at the frame edge
        else:
            pos = {"left": 0.0, "right": float(s), "bottom": float(s)}[side]
        finger_skin = np.array([0.85, 0.63, 0.5], np.float32) * rng.uniform(0.45, 1.1)
        f_rgb, f_alpha = draw_fingers(s, rng, {"side": side, "pos": pos}, np.clip(finger_skin, 0, 1))
        fingers = np.dstack([f_rgb, f_alpha])
    out, boxes = [], []
    for t in range(frames):
        src_aff = src_traj.affine(t, src_rig.center)
        content, box = _source_frame(src_rig, src_bg, src_aff, float(src_traj.blink[t]), float(src_traj.mouth[t]))
        if ui is not None:
            content = content * (1 - ui[1]) + ui[0] * ui[1]
        emitted = show(content, display) * (gain[t] * bands[t])[:, None, None]
        layers = medium.layers.copy()
        layers[oy : oy + s, ox : ox + s, :3] = emitted
        m = np.vstack([similarity((s / 2, s / 2), traj.dx[t], traj.dy[t], traj.angle[t], traj.scale[t]), [0, 0, 1]])
        h = m @ a0
        placed = place(Medium(layers), h, s, scene.light_dir, plane)
        shade = scene.ambient + (1 - scene.ambient) * placed.lambert
        scene_lit = (shade[..., None] * scene.light_rgb) * (1 - placed.screen[..., None])
        lit = placed.rgb * (scene_lit + emission * placed.screen[..., None])
        a = placed.alpha
        rgb = scene.bg * (1 - a[..., None]) + lit * a[..., None]
        screen = placed.screen * a
        if moire is not None:
            rgb = moire.apply(rgb, screen, t)
        if glare is not None:
            rgb = add_glare(rgb, screen, glare, scene.light_rgb, (float(traj.dx[t]), float(traj.dy[t])))
        if mirror is not None:
            rgb = add_reflection(rgb, screen, mirror, refl_amount, (-2 * float(traj.dx[t]), -2 * float(traj.dy[t])))
        ir = scene.bg_ir * (1 - a) + placed.ir * a
        depth = placed.depth
        if fingers is not None:
            move = similarity((s / 2, s / 2), traj.dx[t], traj.dy[t], traj.angle[t], traj.scale[t]).astype(np.float32)
            f = cv2.warpAffine(fingers, move, (s, s))
            fa = f[..., 3]
            rgb = _composite(rgb, f[..., :3], fa)
            ir = ir * (1 - fa) + 0.72 * fa
            depth = np.where(fa > 0.5, 0.85, depth)
        out.append((rgb.astype(np.float32), ir, depth))
        boxes.append(transform_box((box[0] + ox, box[1] + oy, box[2] + ox, box[3] + oy), h))
    return out, boxes, flags


def _room_mirror(rng: np.random.Generator, s: int) -> np.ndarray:
    """The room behind the camera as the glass mirrors it: blurred backdrop, a bright window, a dark figure."""
    room = render_background(int(rng.integers(2**31)), s, np.ones(3, np.float32))[:, ::-1]
    img = np.ascontiguousarray(room) * 0.6
    x0, y0 = int(rng.uniform(0, 0.6) * s), int(rng.uniform(0, 0.4) * s)
    w, h = int(rng.uniform(0.25, 0.5) * s), int(rng.uniform(0.25, 0.5) * s)
    cv2.rectangle(img, (x0, y0), (x0 + w, y0 + h), (1.0, 1.0, 0.95), -1)
    bar = max(1, s // 60)
    cv2.line(img, (x0 + w // 2, y0), (x0 + w // 2, y0 + h), (0.3, 0.3, 0.3), bar)
    cv2.line(img, (x0, y0 + h // 2), (x0 + w, y0 + h // 2), (0.3, 0.3, 0.3), bar)
    if rng.random() < 0.6:
        cx = int(rng.uniform(0.3, 0.7) * s)
        cv2.ellipse(img, (cx, int(0.55 * s)), (int(0.12 * s), int(0.15 * s)), 0, 0, 360, (0.05, 0.05, 0.05), -1)
        cv2.ellipse(img, (cx, int(1.0 * s)), (int(0.3 * s), int(0.3 * s)), 0, 0, 360, (0.05, 0.05, 0.05), -1)
    return cv2.GaussianBlur(img, (0, 0), max(1.0, s / 40)).astype(np.float32)
