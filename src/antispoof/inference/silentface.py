"""Import the Silent-Face MiniFASNets (minivision, Apache-2.0) into one model bundle.

The published files (``resources/anti_spoof_models/`` of
minivision-ai/Silent-Face-Anti-Spoofing) are DataParallel state dicts named for their
crop: ``2.7_80x80_MiniFASNetV2.pth`` reads the face box scaled by 2.7, resized to 80x80;
``4_0_0_80x80_MiniFASNetV1SE.pth`` the box scaled by 4.0. :func:`import_silentface`
reads each with ``torch.load(weights_only=True)``, drops the ``module.`` prefix, loads
it key for key into :class:`~antispoof.models.minifasnet.MiniFASNet` (a missing or
unexpected key is refused, with the lists), and writes one bundle
(:func:`~antispoof.inference.bundle.bundle_network`, safetensors) of the
:class:`~antispoof.models.minifasnet.SilentFaceNet` ensemble:

- one view per member: the ``box_in_image`` crop (:mod:`antispoof.faces.box_crop`) at the
  member's scale, 80x80, BGR, raw 0-255 values (no mean/std), as the source's
  ``test.py`` feeds them;
- softmax over 3 classes per member (class 1 live), the probability vectors summed as
  the source sums them; the liveness score is the live probability over itself plus the
  strongest attack class's (``SilentFaceNet`` ``score_rule="live_vs_strongest_attack"``),
  the mean live probability a cue beside the attack classes' (``live_probability``);
- the default threshold 0.5 is the source's decision rule, not a calibration: the source
  calls a face real when class 1 has the highest summed probability, which is this score
  >= 0.5. (A threshold on the live probability alone cannot say it: with three classes
  live can win at 0.34-0.5, on 5 of 300 frames of the benchmark video.) Calibrate on your
  own dev data for a threshold with known error rates;
- the fp32 ONNX graph is written at import (:func:`~antispoof.inference.export.export_onnx`
  on :func:`parity_views`, refused unless it reproduces PyTorch's scores within 1e-4; its
  form: channels padded to 8, each PReLU as ``x + (1 - a) * relu(-x)`` in two depth-wise
  convolutions, which onnxruntime runs faster than its ``PRelu``; measured in
  :class:`~antispoof.models.minifasnet.SplitPReLU`), so the
  Predictor's default backend is onnxruntime;
- the face detector is the source's own Caffe RetinaFace when its two files are in the
  folder (:mod:`antispoof.faces.retinaface` reads and runs it without OpenCV's Caffe
  importer, which OpenCV 5 no longer has; they are copied into the bundle), else
  ``blazeface``, whose boxes move the scores (by up to 0.16 on the source's samples).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["import_silentface", "silentface_input_spec", "parity_views", "SOURCE_REPOSITORY", "SOURCE_LICENCE", "DEFAULT_THRESHOLD"]

log = logging.getLogger(__name__)

SOURCE_REPOSITORY = "github.com/minivision-ai/Silent-Face-Anti-Spoofing"
SOURCE_LICENCE = "Apache-2.0"
#: The source's rule as a threshold on the score (live over live + the strongest attack; see the module docstring).
DEFAULT_THRESHOLD = 0.5
THRESHOLD_RULE = "source_default"
#: The score whose threshold 0.5 is the source's argmax (SilentFaceNet.SCORE_RULES).
SCORE_RULE = "live_vs_strongest_attack"


def silentface_input_spec(size: int, views: int) -> Any:
    """The input the MiniFASNets read: ``views`` crops of ``size`` px, BGR, raw 0-255 (pixel_scale 1, mean 0, std 1)."""
    from antispoof.data.inputs import InputSpec, ModalitySpec

    rgb = ModalitySpec(name="rgb", channels=3, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    return InputSpec(modalities=(rgb,), crop_size=size, input_size=size, colour_order="BGR", pixel_scale=1.0, views=views)


def _weight_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a folder; give the folder holding the Silent-Face .pth files "
                                "(resources/anti_spoof_models/ of the source repository)")
    files = sorted(directory.glob("*.pth"))
    if not files:
        raise FileNotFoundError(f"{directory} holds no .pth file; expected e.g. 2.7_80x80_MiniFASNetV2.pth and "
                                "4_0_0_80x80_MiniFASNetV1SE.pth from the source repository's resources/anti_spoof_models/")
    return files


def _load_member(path: Path, variant: str, size: int) -> tuple[Any, dict[str, Any]]:
    """``(MiniFASNet with the file's weights, mapping report)``; refuses missing or unexpected keys."""
    import torch

    from antispoof.models.minifasnet import MiniFASNet

    try:
        raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickle refusing code raises several types
        raise ValueError(f"{path} could not be read as plain tensors with weights_only=True ({type(err).__name__}: {err})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} holds a {type(raw).__name__}, not a state dict")
    prefixed = sum(k.startswith("module.") for k in raw)
    state = {k.removeprefix("module."): v for k, v in raw.items()}
    member = MiniFASNet(variant, input_size=size)
    own = member.state_dict()
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    mismatched = sorted(k for k in state if k in own and tuple(own[k].shape) != tuple(state[k].shape))
    report = {"file": path.name, "tensors": len(state), "module_prefix": prefixed, "missing": missing,
              "unexpected": unexpected, "mismatched": mismatched}
    if missing or unexpected or mismatched:
        raise ValueError(f"{path.name} does not map onto {variant}: {len(missing)} missing ({', '.join(missing[:5])}), "
                         f"{len(unexpected)} unexpected ({', '.join(unexpected[:5])}), {len(mismatched)} of another shape "
                         f"({', '.join(mismatched[:5])}); is the file name's variant right?")
    member.load_state_dict(state, strict=True)
    log.info("%s: %d tensors -> %s (%d had the module. prefix; 0 missing, 0 unexpected)", path.name, len(state), variant, prefixed)
    return member, report


def parity_views(views: int, size: int, n: int = 8, seed: int = 0) -> Any:
    """``[n, views, 3, size, size]`` float32 inputs in the model's raw 0-255 range for the import's ONNX parity check.

    Half uniform noise, half smooth gradients with noise (closer to faces' statistics), from a
    fixed seed: the check is of the graph against the network, for which no face data is needed.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, size=(n - n // 2, views, 3, size, size))
    ramp = np.linspace(0, 1, size)
    smooth = (rng.uniform(0, 255, size=(n // 2, views, 3, 1, 1)) * ramp[None, None, None, :, None] * ramp[::-1][None, None, None, None, :]
              + rng.normal(0, 8, size=(n // 2, views, 3, size, size)))
    return np.clip(np.concatenate([noise, smooth]), 0, 255).astype(np.float32)


def import_silentface(weights: str | Path, out: str | Path, *, detector: str | None = None, overwrite: bool = False,
                      onnx: bool = True) -> Any:
    """Write the bundle of the Silent-Face ``.pth`` files in ``weights`` to ``out``; returns the opened bundle.

    ``detector``: the bundle's face detector; by default the source's own RetinaFace
    (``retinaface_caffe``, its two files copied into the bundle) when ``weights`` holds
    them, else ``blazeface``. ``onnx``: also export the fp32 ONNX graph (the default
    backend then runs it with onnxruntime), refused unless it reproduces the PyTorch scores
    within :data:`~antispoof.inference.export.FP32_TOLERANCE` on :func:`parity_views`.
    """
    from antispoof.faces.retinaface import PROTOTXT_FILE, WEIGHTS_FILE
    from antispoof.inference.bundle import add_file, bundle_network
    from antispoof.data.acquisition import AcquisitionSpec, CropSpec
    from antispoof.faces.quality import QualityLimits
    from antispoof.inference.card import DetectorSpec, ThresholdSpec, TrainingData, sha256_file
    from antispoof.models.minifasnet import SilentFaceNet, silentface_member_name

    directory = Path(weights)
    members = []
    for path in _weight_files(directory):
        scale, h, w, variant = silentface_member_name(path.name)
        if scale is None:
            raise ValueError(f"{path.name} reads the whole image resized (no crop scale); only cropped members are supported")
        if h != w:
            raise ValueError(f"{path.name} reads {h}x{w} inputs; only square inputs are supported")
        members.append((scale, h, variant, path))
    sizes = {m[1] for m in members}
    if len(sizes) != 1:
        raise ValueError(f"the members read inputs of different sizes {sorted(sizes)}; import files of one size together")
    size = sizes.pop()
    members.sort(key=lambda m: (m[0], m[2]))
    net = SilentFaceNet(members=[m[2] for m in members], input_size=size, score_rule=SCORE_RULE)
    reports = []
    for i, (_, _, variant, path) in enumerate(members):
        member, report = _load_member(path, variant, size)
        net.members[i].load_state_dict(member.state_dict())
        reports.append(report)
    net.eval()
    detector_files = [directory / WEIGHTS_FILE, directory / PROTOTXT_FILE]
    has_retinaface = all(p.is_file() for p in detector_files)
    detector = detector or ("retinaface_caffe" if has_retinaface else "blazeface")
    if detector == "retinaface_caffe" and not has_retinaface:
        raise FileNotFoundError(f"the retinaface_caffe detector needs {WEIGHTS_FILE} and {PROTOTXT_FILE} in {directory} "
                                "(resources/detection_model/ of the source repository); add them or choose --detector blazeface")
    scales = tuple(float(m[0]) for m in members)
    spec = silentface_input_spec(size, len(members))
    files = [{"file": m[3].name, "variant": m[2], "crop_scale": m[0], "input": f"{size}x{size}", "sha256": sha256_file(m[3]),
              "bytes": m[3].stat().st_size, "tensors": r["tensors"], "missing": r["missing"], "unexpected": r["unexpected"]}
             for m, r in zip(members, reports)]
    source = {
        "project": "Silent-Face-Anti-Spoofing (minivision)",
        "repository": SOURCE_REPOSITORY,
        "licence": SOURCE_LICENCE,
        "files": files,
        "imported_with": "antispoof import silentface",
    }
    threshold = ThresholdSpec(
        value=DEFAULT_THRESHOLD, rule=THRESHOLD_RULE, split="none", dataset="none: the source's default, not calibrated on any data",
        metrics={"note": "the source's decision rule (class 1 'live' has the highest summed probability) as a threshold on the "
                         "score (live / (live + the strongest attack class)); not calibrated on any data of ours: calibrate "
                         "on your own dev set"},
    )
    notes = [
        f"weights: {', '.join(f['file'] for f in files)} from {SOURCE_REPOSITORY} ({SOURCE_LICENCE}); trained by minivision on "
        "their own (private) data",
        "threshold 0.5 is the source's default decision rule, not a calibration: the source takes the class with the highest "
        "summed probability, and the score (live / (live + the strongest attack class)) is >= 0.5 exactly when live wins; "
        "the mean live probability itself is the cue live_probability",
        ("faces are found by the source's own RetinaFace (its Caffe files read by antispoof.faces._caffe and run with onnxruntime, checked against a layer-by-layer PyTorch run: OpenCV 5 has no Caffe importer)"
         if detector == "retinaface_caffe" else
         f"the source detects faces with its Caffe RetinaFace; this bundle uses {detector!r}, whose boxes differ in size and "
         "centre, and the scores with them (by up to 0.16 on the source's sample photos)"),
        "no capture-quality gate: the source has none (all limits open); pass Predictor(quality=...) for one",
    ]
    acquisition = AcquisitionSpec(  # the source's own pipeline: its RetinaFace, its crops, no gate
        face_source="retinaface_caffe", detector={"name": "retinaface_caffe", "weights": f"{WEIGHTS_FILE} (Silent-Face)"},
        crop=CropSpec(size=size, scale=max(scales), views=scales, geometry="box_in_image"), quality=QualityLimits.open())
    bundle = bundle_network(
        out, net, spec, method="silentface", backbone="+".join(m[2] for m in members),
        threshold=threshold,
        training_data=TrainingData(dataset="Silent-Face (minivision, private)",
                                   description="minivision's own live and attack captures; weights imported, not trained here"),
        acquisition=acquisition,
        detector=DetectorSpec(name=detector,
                              options={"weights": WEIGHTS_FILE, "prototxt": PROTOTXT_FILE} if detector == "retinaface_caffe" else {}),
        aggregation="mean", notes=notes, source=source,
        overwrite=overwrite,
    )
    if detector == "retinaface_caffe":  # the detector's files travel in the bundle, checked like the weights
        import shutil

        card = bundle.card
        for path in detector_files:
            shutil.copyfile(path, bundle.path / path.name)
            card = add_file(card, bundle.path, path.name)
        source = dict(card.source)
        source["detector_files"] = [{"file": p.name, "sha256": sha256_file(p), "bytes": p.stat().st_size} for p in detector_files]
        bundle.save_card(card.model_copy(update={"source": source}))
    if onnx:  # onnxruntime is the default backend: the graph is written and checked now
        from antispoof.inference.bundle import Bundle
        from antispoof.inference.export import export_onnx

        record = export_onnx(bundle.path, crops=parity_views(len(members), size),
                             crops_from="generated inputs (silentface.parity_views: seeded noise and gradients, 0-255)")
        log.info("ONNX graph checked on %d generated inputs: max |score - torch| = %.2g", record["parity_crops"],
                 record["fp32"]["max_abs_score_diff"])
        bundle = Bundle.load(bundle.path)
    log.info("Silent-Face bundle written to %s: %s at crop scales %s, threshold %.2f (%s)", bundle.path,
             " + ".join(m[2] for m in members), scales, DEFAULT_THRESHOLD, THRESHOLD_RULE)
    return bundle
