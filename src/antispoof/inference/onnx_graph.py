"""A scoring module written as an ONNX file, quietly: the one place the project calls ``torch.onnx.export``.

The TorchScript exporter is used (opset 17 by default: every onnxruntime since 1.14 and every
OpenVINO since 2023 read it); its deprecation and tracer warnings are silenced because each
caller checks the graph's outputs against the module it came from (the export's parity check,
the OpenVINO backend's check at load, each at batch 1 and N), which says more than the warnings do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_onnx", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17


def write_onnx(module: Any, example: tuple[Any, ...], path: str | Path, input_names: list[str], output_names: list[str],
               opset: int = DEFAULT_OPSET) -> Path:
    """``module`` traced on ``example`` and written to ``path`` with a dynamic batch axis on every input and output."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # the exporter's notes (constant folding skipped, an LSTM traced at one batch size): the outputs are checked
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
        torch.onnx.export(module, example, str(path), dynamo=False, opset_version=opset, input_names=input_names,
                          output_names=output_names, dynamic_axes={name: {0: "batch"} for name in (*input_names, *output_names)})
    return Path(path)
