"""Fit YuNet's box correction onto a reference detector's boxes (by default the Silent-Face RetinaFace), and store it.

The MiniFASNets of Silent-Face score crops cut around the source's RetinaFace boxes, and
their scores follow the box; YuNet is about 4x faster but boxes faces otherwise. This
script measures both detectors on face photos (../shared/samples and scikit-image's
astronaut by default, plus every image of ``--photos DIR``), each also shrunk and
enlarged (``--scales``), placed at several positions in a larger grey frame and cut
tighter (``--variants`` random placements each, fixed seed), and fits
:func:`antispoof.faces.yunet.apply_correction`'s four numbers ``(sx, sy, dx, dy)``: the
medians of the width and height ratios and of the centre offsets (in YuNet box widths and
heights) over the pairs where both detectors find one face. It prints the median and
10th-percentile IoU of YuNet's boxes with the reference's before and after the
correction, on the fitting photos and held out (each source photo left out in turn, the
correction fitted on the others).

With ``--bundle BUNDLE`` the bundle's serving detector becomes ``yunet`` with the fitted
correction and the fit's record in its options, and the ONNX file is copied into the
bundle (recorded with its checksum, like the RetinaFace files); ``--out FILE`` writes the
options as JSON. The correction is never typed by hand::

    python benchmarks/fit_yunet_correction.py --yunet ../shared/weights/yunet/yunet_s_dynamic.onnx \\
        --reference-weights ../shared/weights/silentface --bundle BUNDLE
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"


def photos(folders: list[Path]) -> dict[str, np.ndarray]:
    """RGB uint8 face photos by name: the samples, the astronaut, and the images in ``folders``."""
    from antispoof.data.video import read_image

    out = {}
    samples = SHARED / "samples"
    for path in sorted(samples.glob("*.jpg")) if samples.is_dir() else []:
        out[path.name] = read_image(path)
    try:
        import skimage.data

        out["skimage_astronaut"] = np.ascontiguousarray(skimage.data.astronaut())
    except ImportError:
        pass
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp"):
                out[f"{folder.name}/{path.name}"] = read_image(path)
    return out


def variants(image: np.ndarray, scales: list[float], n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The photo at each scale, then ``n`` placements of it in a grey 640x480 (or larger) frame, or cut tighter."""
    import cv2

    out = []
    for s in scales:
        scaled = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
        out.append(scaled)
        h, w = scaled.shape[:2]
        for _ in range(n):
            if rng.random() < 0.5:  # placed in a larger frame
                H, W = max(480, h + 32), max(640, w + 32)
                frame = np.full((H, W, 3), 114, np.uint8)
                y, x = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
                frame[y : y + h, x : x + w] = scaled
            else:  # cut: 70-95% of each side kept, at a random position
                kh, kw = int(h * rng.uniform(0.7, 0.95)), int(w * rng.uniform(0.7, 0.95))
                y, x = int(rng.integers(0, h - kh + 1)), int(rng.integers(0, w - kw + 1))
                frame = np.ascontiguousarray(scaled[y : y + kh, x : x + kw])
            out.append(frame)
    return out


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = w * h
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def fit(yunet: np.ndarray, reference: np.ndarray) -> tuple[float, float, float, float]:
    """``(sx, sy, dx, dy)``: medians of the size ratios and the centre offsets in YuNet box sizes."""
    wy, hy = yunet[:, 2] - yunet[:, 0], yunet[:, 3] - yunet[:, 1]
    wr, hr = reference[:, 2] - reference[:, 0], reference[:, 3] - reference[:, 1]
    dx = ((reference[:, 0] + reference[:, 2]) - (yunet[:, 0] + yunet[:, 2])) / 2 / wy
    dy = ((reference[:, 1] + reference[:, 3]) - (yunet[:, 1] + yunet[:, 3])) / 2 / hy
    return (float(np.median(wr / wy)), float(np.median(hr / hy)), float(np.median(dx)), float(np.median(dy)))


def summary(values: np.ndarray) -> dict[str, float]:
    return {"median": round(float(np.median(values)), 4), "p10": round(float(np.percentile(values, 10)), 4),
            "n": int(len(values))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yunet", type=Path, default=SHARED / "weights" / "yunet" / "yunet_s_dynamic.onnx")
    parser.add_argument("--size", type=int, default=192, help="YuNet's input: the frame's longer side in pixels")
    parser.add_argument("--reference-weights", type=Path, default=SHARED / "weights" / "silentface",
                        help="folder with Widerface-RetinaFace.caffemodel and deploy.prototxt (the reference detector)")
    parser.add_argument("--photos", type=Path, action="append", default=[], help="a folder of face photos (repeatable)")
    parser.add_argument("--scales", default="0.5,0.75,1,1.5,2", help="scales each photo is measured at")
    parser.add_argument("--variants", type=int, default=6, help="random placements and cuts per scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bundle", type=Path, default=None, help="a bundle whose serving detector becomes the corrected YuNet")
    parser.add_argument("--out", type=Path, default=None, help="write the detector options as JSON here")
    args = parser.parse_args()

    from antispoof.faces.retinaface import RetinaFaceCaffe
    from antispoof.faces.yunet import YuNet, apply_correction

    if not args.yunet.is_file():
        sys.exit(f"YuNet weights {args.yunet} not found; give --yunet PATH (yunet_s_dynamic.onnx)")
    yunet = YuNet(args.yunet, size=args.size, min_score=0.5)
    reference = RetinaFaceCaffe(args.reference_weights / "Widerface-RetinaFace.caffemodel")
    rng = np.random.default_rng(args.seed)
    scales = [float(s) for s in args.scales.split(",")]
    pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for name, image in photos(args.photos).items():
        for frame in variants(image, scales, args.variants, rng):
            y, r = yunet.detect(frame), reference.detect(frame)
            if len(y) != 1 or len(r) < 1:
                continue
            rb = np.asarray(max(r, key=lambda f: f.score).box, dtype=np.float64)
            yb = np.asarray(y[0].box, dtype=np.float64)
            if iou(yb[None], rb[None])[0] > 0.3:  # the same face
                pairs.setdefault(name, []).append((yb, rb))
    if len(pairs) < 2:
        sys.exit(f"too few photos where both detectors find one face ({len(pairs)}); give more with --photos DIR")
    every_y = np.stack([p[0] for v in pairs.values() for p in v])
    every_r = np.stack([p[1] for v in pairs.values() for p in v])
    correction = fit(every_y, every_r)
    held_out = []
    for name in pairs:  # each source photo held out, the correction fitted on the others
        ys = np.stack([p[0] for k, v in pairs.items() if k != name for p in v])
        rs = np.stack([p[1] for k, v in pairs.items() if k != name for p in v])
        own_y, own_r = np.stack([p[0] for p in pairs[name]]), np.stack([p[1] for p in pairs[name]])
        held_out.append(iou(apply_correction(own_y, fit(ys, rs)), own_r))
    record = {
        "reference": f"retinaface_caffe ({reference.weights.name})",
        "yunet": yunet.info()["weights"], "yunet_sha256": yunet.info()["sha256"], "size": args.size,
        "photos": sorted(pairs), "frames": int(len(every_y)), "scales": scales, "variants": args.variants, "seed": args.seed,
        "iou_raw": summary(iou(every_y, every_r)),
        "iou_corrected": summary(iou(apply_correction(every_y, correction), every_r)),
        "iou_held_out_by_photo": summary(np.concatenate(held_out)),
        "script": "benchmarks/fit_yunet_correction.py",
    }
    print(f"{len(every_y)} frames of {len(pairs)} photos where both detectors find the face")
    print(f"correction (sx, sy, dx, dy) = ({', '.join(f'{v:.4f}' for v in correction)})")
    for key in ("iou_raw", "iou_corrected", "iou_held_out_by_photo"):
        print(f"  IoU with the reference, {key[4:].replace('_', ' ')}: median {record[key]['median']:.3f}, "
              f"10th percentile {record[key]['p10']:.3f} ({record[key]['n']} frames)")
    options = {"weights": args.yunet.name, "size": args.size, "correction": [round(v, 6) for v in correction], "fit": record}
    if args.out is not None:
        args.out.write_text(json.dumps(options, indent=2), encoding="utf-8")
        print(f"options written to {args.out}")
    if args.bundle is not None:
        from antispoof.inference.bundle import Bundle, add_file
        from antispoof.inference.card import DetectorSpec

        bundle = Bundle.load(args.bundle)
        shutil.copyfile(args.yunet, bundle.path / args.yunet.name)
        card = add_file(bundle.card, bundle.path, args.yunet.name)
        bundle.save_card(card.model_copy(update={"detector": DetectorSpec(name="yunet", options=options)}))
        print(f"{bundle.path}: serving detector yunet with this correction (training face source stays "
              f"{bundle.card.acquisition.face_source})")


if __name__ == "__main__":
    main()
