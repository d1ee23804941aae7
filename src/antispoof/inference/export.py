"""ONNX export of a bundle, checked against PyTorch on real crops; optional int8 quantisation.

The graph is :class:`~antispoof.inference.bundle.ScoreOutputs` (score, then cue
probabilities; dense maps as a second output) of the network's graph form
(``inference_copy(graph=True)`` where the network has one, e.g. MiniFASNet's padded
channels and PReLUs written as ReLUs, which onnxruntime fuses; else the network as
trained), checked against the network as trained, traced with the TorchScript exporter at
opset :data:`DEFAULT_OPSET` (supported by every onnxruntime since 1.14). It has one
named input per modality of the card's input spec (``image``, ``ir``, ``depth``;
``[batch, C, H, W]``, or ``[batch, T, C, H, W]`` with a clip axis), float32 normalised
as the spec says, output ``outputs`` ``[batch, 1 + K]`` (and ``maps``
``[batch, M, H, W]``), batch dynamic.

Parity: the inputs are the calibration split's own face crops (the frame store named in
the run's ``calibration.json``, or ``store=``), prepared by the evaluation transform of
the spec. The fp32 graph must reproduce PyTorch's scores within :data:`FP32_TOLERANCE`
(max absolute difference) at batch sizes 1 and N, or the export is refused. int8 (static QDQ quantisation, per-channel weights, activations
calibrated on those crops) is reported, not refused: its max score difference, and the
change of the dev-set metrics at the card's threshold after re-scoring the whole
calibration split with the int8 graph.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.inference.bundle import Bundle, add_file
from antispoof.inference.onnx_graph import DEFAULT_OPSET, write_onnx

__all__ = ["export_onnx", "open_bundle", "parity_crops", "calibration_store", "DEFAULT_OPSET", "FP32_TOLERANCE"]

log = logging.getLogger(__name__)

FP32_TOLERANCE = 1e-4
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"


def open_bundle(source: str | Path) -> Bundle:
    """A bundle folder, or the ``bundle`` folder of a calibrated run."""
    source = Path(source)
    from antispoof.inference.card import CARD_FILE

    if (source / CARD_FILE).is_file():
        return Bundle.load(source)
    if (source / "bundle" / CARD_FILE).is_file():
        return Bundle.load(source / "bundle")
    if (source / "config.yaml").is_file():  # a run: one that did not finish is told how to resume first
        from antispoof._runs import require_finished

        require_finished(source)
    raise FileNotFoundError(
        f"{source} is neither a model bundle nor a run with a bundle; run `antispoof calibrate {source} --split dev` first"
    )


def calibration_store(source: str | Path, bundle: Bundle) -> Path:
    """The frame store ``bundle`` was calibrated on, from the run folder's ``calibration.json``."""
    import json

    from antispoof.data.prepare import INDEX_FILE
    from antispoof.inference.calibrate import CALIBRATION_FILE

    source = Path(source)
    for folder in (source, source.parent, bundle.path.parent):
        record = folder / CALIBRATION_FILE
        facts = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None
        if facts is not None and Path(facts["bundle"]) == bundle.path.resolve():  # the record of this very bundle
            store = Path(facts["store"])
            if (store / INDEX_FILE).is_file():
                return store
            raise FileNotFoundError(f"the calibration store {store} named in {record} is not here; pass --store STORE")
    raise FileNotFoundError(f"no {CALIBRATION_FILE} beside {bundle.path}: say which frame store holds the parity crops "
                            "(--store STORE, the store of the calibration split)")


def parity_crops(bundle: Bundle, store: str | Path, max_crops: int = 64) -> tuple[dict[str, np.ndarray], str]:
    """Up to ``max_crops`` prepared real inputs (one ``[N, ...]`` array per modality) from ``store``'s calibration split."""
    import torch

    from antispoof.data.store import FrameDataset
    from antispoof.data.transforms import eval_transform

    from antispoof.inference.scoring import PreparedItems

    spec, split = bundle.card.input, bundle.card.threshold.split
    data = FrameDataset.for_spec(store, split, spec)
    if len(data) == 0:
        raise ValueError(f"the frame store {store} has no usable {split!r} crops for the parity check")
    prepared = PreparedItems(data, eval_transform(spec))
    picks = np.unique(np.linspace(0, len(data) - 1, min(max_crops, len(data))).round().astype(int))
    items = [prepared[int(i)] for i in picks]
    return {k: torch.stack([it[k] for it in items]).numpy() for k in spec.keys}, f"{Path(store).name} split={split}"


def image_crops(bundle: Bundle, images: list[str | Path] | tuple[str | Path, ...], max_crops: int = 64) -> tuple[dict[str, np.ndarray], str]:
    """Prepared inputs of the faces in photos, cut as the Predictor cuts them: parity crops for a bundle with no frame store."""
    from antispoof.data.video import read_image
    from antispoof.inference.predictor import Predictor

    predictor = Predictor(bundle, backend="torch")
    found = []
    for path in list(images)[:max_crops]:
        inputs = predictor.inputs_for(read_image(path))
        if inputs is not None:
            found.append(inputs)
    if not found:
        raise ValueError(f"no usable face in the {len(images)} images given for the parity check; give photos of faces")
    return ({k: np.concatenate([f[k] for f in found]) for k in bundle.card.input.keys},
            f"{len(found)} faces of {len(images)} images")


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: the optimiser's "Removing initializer ..." warnings are not the user's to act on
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _run(session: Any, inputs: dict[str, np.ndarray]) -> np.ndarray:
    return session.run(None, {i.name: inputs[i.name].astype(np.float32) for i in session.get_inputs()})[0]


def _head(inputs: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    return {k: v[:n] for k, v in inputs.items()}


def export_onnx(
    source: str | Path,
    *,
    quantize: str | None = None,
    opset: int = DEFAULT_OPSET,
    store: str | Path | None = None,
    crops: dict[str, np.ndarray] | np.ndarray | None = None,
    images: list[str | Path] | None = None,
    crops_from: str = "given crops",
    max_crops: int = 64,
    dev_metrics: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Export the bundle of ``source`` to ONNX (and int8 with ``quantize="int8"``); returns the export record.

    ``images``: photos whose faces are the parity inputs instead of a frame store's crops
    (for a bundle that was never calibrated on a store, such as an imported one);
    ``crops_from`` says where given ``crops`` come from, for the record.
    The record (also stored in the card's ``export``) holds the opset, the number of
    parity crops and the max absolute differences to PyTorch; for int8 also the dev-set
    metrics of the int8 graph at the card's threshold and their change.
    """
    import torch

    if quantize not in (None, "int8"):
        raise ValueError(f"unknown quantisation {quantize!r}; the choice is int8 (or none)")
    bundle = open_bundle(source)
    module = bundle.scorer_module()  # the reference: the network as trained
    graph_module = bundle.scorer_module(graph=True)  # what is exported: its graph form where it has one (same outputs)
    keys = bundle.card.input.keys
    parity_store = None
    if crops is None and images:  # photos: the faces in them, cut as the Predictor cuts them
        crops, crops_from = image_crops(bundle, images, max_crops)
    elif crops is None:
        parity_store = store if store is not None else calibration_store(source, bundle)
        crops, crops_from = parity_crops(bundle, parity_store, max_crops)
    else:
        given = crops if isinstance(crops, dict) else {keys[0]: crops}
        missing = [k for k in keys if k not in given]
        if missing:
            raise ValueError(f"crops= lacks the inputs {missing}; this model reads {', '.join(keys)}")
        crops = {k: np.asarray(given[k], dtype=np.float32) for k in keys}
    n = len(crops[keys[0]])

    with torch.inference_mode():
        out = module(*(torch.from_numpy(crops[k]) for k in keys))
    reference, reference_maps = (out[0].numpy(), out[1].numpy()) if isinstance(out, tuple) else (out.numpy(), None)
    path = bundle.path / FP32_FILE
    example = tuple(torch.from_numpy(v) for v in _head(crops, min(2, n)).values())
    outputs = ["outputs", "maps"] if bundle.card.maps else ["outputs"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / FP32_FILE
        write_onnx(graph_module, example, tmp_path, list(keys), outputs, opset)  # quietly: parity is checked below
        session = _session(tmp_path)
        got = _run(session, crops)
        single = _run(session, _head(crops, 1))
        score_diff = float(max(np.abs(got[:, 0] - reference[:, 0]).max(), np.abs(single[0, 0] - reference[0, 0])))
        output_diff = float(np.abs(got - reference).max())
        map_diff = None
        if reference_maps is not None:  # the dense explanation is a second output: it must match as well
            got_maps = session.run(None, {i.name: crops[i.name] for i in session.get_inputs()})[1]
            map_diff = float(np.abs(got_maps - reference_maps).max())
        if not score_diff <= FP32_TOLERANCE or (map_diff is not None and not map_diff <= FP32_TOLERANCE):
            raise ValueError(
                f"ONNX parity check failed: max absolute score difference {score_diff:.3g}"
                f"{'' if map_diff is None else f', cue-map difference {map_diff:.3g}'} (tolerance {FP32_TOLERANCE:g}) on "
                f"{n} inputs; the graph was not written. Try another --opset"
            )
        tmp_path.replace(path)
    spec = bundle.card.input
    record: dict[str, Any] = {
        "opset": opset,
        "exporter": f"torch {torch.__version__} (TorchScript exporter)",
        "graph_form": f"{type(graph_module.network).__name__} {graph_module.form}",
        "input": {k: ["batch", *spec.shape(name)] for k, name in zip(keys, spec.names)},
        "output": "outputs [batch, 1 + K]: the card's outputs (score, then cues)"
                  + ("; maps [batch, M, H, W]: the card's maps" if bundle.card.maps else ""),
        "parity_crops": n,
        "parity_crops_from": crops_from,
        "fp32": {"max_abs_score_diff": score_diff, "max_abs_output_diff": output_diff, "max_abs_map_diff": map_diff,
                 "tolerance": FP32_TOLERANCE},
    }
    log.debug("ONNX fp32 graph %s: max |score - torch| = %.3g over %d inputs", path, score_diff, n)  # the CLI prints it
    card = add_file(bundle.card, bundle.path, FP32_FILE)
    onnx_files = {"fp32": FP32_FILE}

    if quantize == "int8":
        int8_path = bundle.path / INT8_FILE
        _quantize_int8(path, int8_path, crops)
        got8 = _run(_session(int8_path), crops)
        record["int8"] = {
            "method": "onnxruntime static QDQ, per-channel int8 weights, uint8 activations calibrated (min-max) on the parity crops",
            "max_abs_score_diff": float(np.abs(got8[:, 0] - reference[:, 0]).max()),
            "mean_abs_score_diff": float(np.abs(got8[:, 0] - reference[:, 0]).mean()),
        }
        if dev_metrics and parity_store is not None:
            record["int8"]["dev_metrics"] = _int8_dev_change(bundle, int8_path, parity_store, progress)
        card = add_file(card, bundle.path, INT8_FILE)
        onnx_files["int8"] = INT8_FILE
        log.debug("ONNX int8 graph %s: max |score - torch| = %.3g", int8_path, record["int8"]["max_abs_score_diff"])  # the CLI prints it
    elif (bundle.path / INT8_FILE).exists():  # a stale int8 graph of earlier weights would not match
        (bundle.path / INT8_FILE).unlink()
        card = card.model_copy(update={"files": {k: v for k, v in card.files.items() if k != INT8_FILE}})
    bundle.save_card(card.model_copy(update={"onnx": onnx_files, "export": record}))
    return record


def _quantize_int8(fp32: Path, out: Path, crops: dict[str, np.ndarray]) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            n = len(next(iter(crops.values())))
            self.items = iter([{k: v[i : i + 1].astype(np.float32) for k, v in crops.items()} for i in range(n)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # the calibration sessions the quantiser opens: errors only (as in _session)
    try:
        quantize_static(str(fp32), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
    finally:
        ort.set_default_logger_severity(2)  # onnxruntime's default (warnings)


class _GraphNetwork:
    """An ONNX graph behind ``predict(batch)``, to re-score a split with :func:`score_frames`."""

    def __init__(self, path: Path) -> None:
        self.session = _session(path)

    def predict(self, batch: dict[str, Any]) -> dict[str, Any]:
        import torch

        inputs = {i.name: batch[i.name].numpy() for i in self.session.get_inputs()}
        return {"score": torch.from_numpy(_run(self.session, inputs)[:, 0].copy())}


def _int8_dev_change(bundle: Bundle, int8_path: Path, store: str | Path, progress: bool) -> dict[str, Any]:
    """Dev-set metrics of the int8 graph at the card's threshold, and their change from the card's (PyTorch) ones."""
    from antispoof.inference.scoring import score_frames
    from antispoof.metrics import evaluate

    card = bundle.card
    scores, _ = score_frames(_GraphNetwork(int8_path), Path(store), card.threshold.split, spec=card.input,
                             batch_size=64, progress=progress)
    report = evaluate(scores, scores, threshold=card.threshold.value, aggregate=card.aggregation).to_dict()
    before = card.threshold.metrics
    keys = ("apcer", "bpcer", "acer", "eer", "auc")
    return {
        "at_threshold": card.threshold.value,
        "int8": {k: report[k] for k in keys},
        "fp32_torch": {k: before[k] for k in keys},
        "change": {k: report[k] - before[k] for k in keys},
    }
