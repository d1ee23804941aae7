"""ONNX export of a bundle, checked against PyTorch on real crops; optional int8 quantisation.

The graph is :class:`~antispoof.inference.bundle.ScoreOutputs` (score, then cue
probabilities) traced with the TorchScript exporter at opset :data:`DEFAULT_OPSET`
(supported by every onnxruntime since 1.14), input ``image`` ``[batch, 3, H, W]`` float32
normalised like training, output ``outputs`` ``[batch, 1 + K]``, batch dynamic.

Parity: the crops are the calibration split's own face crops (the frame store recorded
in the card), normalised by the one transform. The fp32 graph must reproduce PyTorch's
scores within :data:`FP32_TOLERANCE` (max absolute difference) at batch sizes 1 and N,
or the export is refused. int8 (static QDQ quantisation, per-channel weights, activations
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

__all__ = ["export_onnx", "open_bundle", "parity_crops", "DEFAULT_OPSET", "FP32_TOLERANCE"]

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
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
    raise FileNotFoundError(
        f"{source} is neither a model bundle nor a run with a bundle; run `antispoof calibrate {source} --split dev` first"
    )


def parity_crops(bundle: Bundle, max_crops: int = 64) -> tuple[np.ndarray, str]:
    """Up to ``max_crops`` normalised real face crops ``[N, 3, H, W]`` from the card's calibration store."""
    import torch

    from antispoof.data.store import FrameDataset
    from antispoof.data.transforms import eval_transform

    store = bundle.card.threshold.store
    if store is None or not (Path(store) / "index.parquet").is_file():
        raise FileNotFoundError(
            f"the calibration frame store {store} recorded in {bundle.path}'s card is not here; "
            "export where the run was calibrated, or pass crops= (normalised [N, 3, H, W]) to export_onnx"
        )
    data = FrameDataset(store, split=bundle.card.threshold.split, transform=eval_transform(bundle.card.input.size))
    if len(data) == 0:
        raise ValueError(f"the frame store {store} has no usable {bundle.card.threshold.split!r} crops for the parity check")
    picks = np.unique(np.linspace(0, len(data) - 1, min(max_crops, len(data))).round().astype(int))
    return torch.stack([data[int(i)]["image"] for i in picks]).numpy(), f"{store} split={bundle.card.threshold.split}"


def _session(path: Path) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run(session: Any, crops: np.ndarray) -> np.ndarray:
    return session.run(None, {session.get_inputs()[0].name: crops.astype(np.float32)})[0]


def export_onnx(
    source: str | Path,
    *,
    quantize: str | None = None,
    opset: int = DEFAULT_OPSET,
    crops: np.ndarray | None = None,
    max_crops: int = 64,
    dev_metrics: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Export the bundle of ``source`` to ONNX (and int8 with ``quantize="int8"``); returns the export record.

    The record (also stored in the card's ``export``) holds the opset, the number of
    parity crops and the max absolute differences to PyTorch; for int8 also the dev-set
    metrics of the int8 graph at the card's threshold and their change.
    """
    import torch

    if quantize not in (None, "int8"):
        raise ValueError(f"unknown quantisation {quantize!r}; the choice is int8 (or none)")
    bundle = open_bundle(source)
    module = bundle.scorer_module()
    if crops is None:
        crops, crops_from = parity_crops(bundle, max_crops)
    else:
        crops, crops_from = np.asarray(crops, dtype=np.float32), "given crops"
    with torch.inference_mode():
        reference = module(torch.from_numpy(crops)).numpy()

    path = bundle.path / FP32_FILE
    example = torch.from_numpy(crops[: min(2, len(crops))])
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / FP32_FILE
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(module, (example,), str(tmp_path), dynamo=False, opset_version=opset,
                              input_names=["image"], output_names=["outputs"],
                              dynamic_axes={"image": {0: "batch"}, "outputs": {0: "batch"}})
        session = _session(tmp_path)
        got = _run(session, crops)
        single = _run(session, crops[:1])
        score_diff = float(max(np.abs(got[:, 0] - reference[:, 0]).max(), np.abs(single[0, 0] - reference[0, 0])))
        output_diff = float(np.abs(got - reference).max())
        if not score_diff <= FP32_TOLERANCE:
            raise ValueError(
                f"ONNX parity check failed: max absolute score difference {score_diff:.3g} > {FP32_TOLERANCE:g} on "
                f"{len(crops)} crops; the graph was not written. Try another --opset"
            )
        tmp_path.replace(path)
    record: dict[str, Any] = {
        "opset": opset,
        "exporter": f"torch {torch.__version__} (TorchScript exporter)",
        "input": "image [batch, 3, H, W] float32, normalised as the card's input section says",
        "output": "outputs [batch, 1 + K]: the card's outputs (score, then cues)",
        "parity_crops": len(crops),
        "parity_crops_from": crops_from,
        "fp32": {"max_abs_score_diff": score_diff, "max_abs_output_diff": output_diff, "tolerance": FP32_TOLERANCE},
    }
    log.info("ONNX fp32 graph %s: max |score - torch| = %.3g over %d crops", path, score_diff, len(crops))
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
        if dev_metrics and bundle.card.threshold.store:
            record["int8"]["dev_metrics"] = _int8_dev_change(bundle, int8_path, progress)
        card = add_file(card, bundle.path, INT8_FILE)
        onnx_files["int8"] = INT8_FILE
        log.info("ONNX int8 graph %s: max |score - torch| = %.3g", int8_path, record["int8"]["max_abs_score_diff"])
    elif (bundle.path / INT8_FILE).exists():  # a stale int8 graph of earlier weights would not match
        (bundle.path / INT8_FILE).unlink()
        card = card.model_copy(update={"files": {k: v for k, v in card.files.items() if k != INT8_FILE}})
    bundle.save_card(card.model_copy(update={"onnx": onnx_files, "export": record}))
    return record


def _quantize_int8(fp32: Path, out: Path, crops: np.ndarray) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"image": crops[i : i + 1].astype(np.float32)} for i in range(len(crops))])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    quantize_static(str(fp32), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)


class _GraphMethod:
    """An ONNX graph behind the two members ``score_frames`` calls (score, explain), to re-score a split."""

    def __init__(self, path: Path) -> None:
        self.session = _session(path)

    def eval(self) -> _GraphMethod:
        return self

    def parameters(self) -> Any:
        import torch

        yield torch.zeros(1)

    def score(self, batch: dict[str, Any]) -> Any:
        import torch

        return torch.from_numpy(_run(self.session, batch["image"].numpy())[:, 0].copy())

    def explain(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {}


def _int8_dev_change(bundle: Bundle, int8_path: Path, progress: bool) -> dict[str, Any]:
    """Dev-set metrics of the int8 graph at the card's threshold, and their change from the card's (PyTorch) ones."""
    from antispoof.metrics import evaluate
    from antispoof.training.evaluation import score_frames

    card = bundle.card
    scores, _ = score_frames(_GraphMethod(int8_path), Path(card.threshold.store), card.threshold.split,
                             image_size=card.input.size, batch_size=64, progress=progress)
    report = evaluate(scores, scores, threshold=card.threshold.value, aggregate=card.aggregation).to_dict()
    before = card.threshold.metrics
    keys = ("apcer", "bpcer", "acer", "eer", "auc")
    return {
        "at_threshold": card.threshold.value,
        "int8": {k: report[k] for k in keys},
        "fp32_torch": {k: before[k] for k in keys},
        "change": {k: report[k] - before[k] for k in keys},
    }
