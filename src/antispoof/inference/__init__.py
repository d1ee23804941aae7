"""Inference and deployment: model bundles, calibrated decisions, the Predictor, ONNX export.

- :mod:`~antispoof.inference.card`: the model card schema (validated, checksummed);
- :mod:`~antispoof.inference.bundle`: the bundle folder (weights, ONNX graphs, card);
- :mod:`~antispoof.inference.calibrate`: ``calibrate_run`` (dev-set threshold -> bundle);
- :mod:`~antispoof.faces.quality`: the capture-quality gate (used through :mod:`antispoof.data.acquisition`);
- :mod:`~antispoof.inference.predictor`: ``Predictor`` (image | video | frames -> decision);
- :mod:`~antispoof.inference.export`: ``export_onnx`` with parity checks and int8.

Heavy modules load on first use: ``from antispoof.inference import Predictor`` is enough.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Bundle", "ModelCard", "CardError", "QualityLimits", "Predictor", "Prediction", "FrameResult",
           "calibrate_run", "export_onnx"]

_HOMES = {
    "Bundle": "antispoof.inference.bundle",
    "ModelCard": "antispoof.inference.card",
    "CardError": "antispoof.inference.card",
    "QualityLimits": "antispoof.faces.quality",
    "Predictor": "antispoof.inference.predictor",
    "Prediction": "antispoof.inference.predictor",
    "FrameResult": "antispoof.inference.predictor",
    "calibrate_run": "antispoof.inference.calibrate",
    "export_onnx": "antispoof.inference.export",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'antispoof.inference' has no attribute {name!r}")
