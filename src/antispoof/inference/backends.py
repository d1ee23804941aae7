"""Scoring backends: named normalised inputs in (one array per modality, as the card's input spec
shapes them), ``(outputs [B, 1 + K], maps [B, M, H, W] or None)`` out.

- :class:`TorchBackend` runs the bundle's :class:`~antispoof.inference.bundle.ScoreOutputs`;
- :class:`TorchScriptBackend` runs it traced, frozen and optimised (the network's fast equivalent form, where it has one);
- :class:`OnnxBackend` runs the exported graph of that same module with onnxruntime on CPU;
- :class:`OpenVinoBackend` runs that module's fast form with OpenVINO on CPU (optional: ``pip install openvino``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

__all__ = ["TorchBackend", "OnnxBackend", "OpenVinoBackend", "open_backend", "BACKENDS"]

BACKENDS = ("auto", "onnx", "openvino", "torch", "torchscript")

log = logging.getLogger(__name__)


class TorchBackend:
    """PyTorch on CPU."""

    name = "torch"

    def __init__(self, module: object, threads: int | None = None) -> None:
        import torch

        self.module = module
        self.keys = tuple(module.keys)  # type: ignore[attr-defined]
        self.threads = threads
        if threads is not None:
            torch.set_num_threads(int(threads))

    def __call__(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        import torch

        with torch.inference_mode():
            out = self.module(*(torch.from_numpy(np.ascontiguousarray(inputs[k], dtype=np.float32)) for k in self.keys))
        if isinstance(out, tuple):
            return out[0].numpy(), out[1].numpy()
        return out.numpy(), None


class TorchScriptBackend(TorchBackend):
    """PyTorch on CPU, the scoring module traced, frozen and optimised for inference (oneDNN: BatchNorm folded, weights prepacked).

    Built on the first call. A network that offers ``inference_copy()`` (an equivalent
    form that runs faster, such as MiniFASNet's channel padding) is traced in that form.
    """

    name = "torchscript"

    def __init__(self, module: object, threads: int | None = None, precision: str = "fp32") -> None:
        import torch

        super().__init__(module, threads)
        self._traced: object = None
        self.dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
        if precision == "bf16":  # weights and activations in bfloat16 (AVX-512 BF16 CPUs); scores are not bit-equal
            self.module = module.to(torch.bfloat16)  # type: ignore[attr-defined]
            self.name = "torchscript-bf16"

    def __call__(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        import torch

        tensors = tuple(torch.from_numpy(np.ascontiguousarray(inputs[k], dtype=np.float32)).to(self.dtype) for k in self.keys)
        with torch.inference_mode():
            if self._traced is None:
                self._traced = _trace_quietly(self.module, tensors)
            out = self._traced(*tensors)
        if isinstance(out, tuple):
            return out[0].float().numpy(), out[1].float().numpy()
        return out.float().numpy(), None


def _trace_quietly(module: object, tensors: tuple[object, ...]) -> object:
    """``module`` traced, frozen and optimised, without the warnings torch >= 2.9 gives for each step.

    torch.jit is deprecated (FutureWarning on trace, freeze and optimize_for_inference) and its
    tracer warns about shape checks it records as constants; the traced graph is checked
    against the module by tests/test_silentface.py, so the warnings tell a user nothing here.
    Kept as an option: onnxruntime is the default backend of a bundle with an ONNX graph.
    """
    import warnings

    import torch

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(module, tensors, check_trace=False)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))


class OnnxBackend:
    """onnxruntime, CPU execution provider."""

    name = "onnxruntime"

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # no busy-waiting between calls: the detector and the crop run on the same cores in between
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = Path(path)
        self.session = ort.InferenceSession(str(self.path), sess_options=options, providers=["CPUExecutionProvider"])
        self.keys = tuple(i.name for i in self.session.get_inputs())

    def __call__(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        out = self.session.run(None, {k: np.ascontiguousarray(inputs[k], dtype=np.float32) for k in self.keys})
        return out[0], (out[1] if len(out) > 1 else None)


class OpenVinoBackend:
    """OpenVINO on CPU: the scoring module's fast form (``scorer_module(fast=True)``) as an ONNX graph, compiled at load.

    The fast form keeps MiniFASNet's ``PRelu`` nodes, which OpenVINO fuses into the
    convolutions before them (onnxruntime cannot, hence the bundle's graph form with split
    PReLUs). Measured on the imported Silent-Face bundle, one thread, 2-core AMD EPYC, in the
    Predictor alternating with onnxruntime in one process: 3.17 against 3.41 ms a frame for
    the model stage at batch 8 (7% less), no gain one frame at a time; in
    ``benchmarks/bench_silentface.py --backend openvino`` the key-frame pipeline gains about as
    much. Batch is dynamic; loading exports and compiles the network (a few seconds).
    At load the compiled model is checked against PyTorch on standard-normal inputs, batch 1 and 3 (at most
    :data:`PARITY_TOLERANCE` apart, else refused), so a conversion fault never scores silently.
    """

    name = "openvino"
    PARITY_TOLERANCE = 1e-4

    def __init__(self, bundle: object, threads: int | None = None) -> None:
        import tempfile

        import torch

        try:
            import openvino as ov
        except ImportError as err:
            raise ImportError("backend='openvino' needs the OpenVINO runtime: pip install 'antispoof[openvino]' (or "
                              "pip install openvino), or use backend='onnx'") from err
        from antispoof.inference.onnx_graph import write_onnx

        module = bundle.scorer_module(fast=True)  # type: ignore[attr-defined]
        self.keys = tuple(module.keys)
        spec = bundle.card.input  # type: ignore[attr-defined]
        example = spec.example(batch_size=3, seed=0)
        outputs = ["outputs", "maps"] if module.map_names else ["outputs"]
        core = ov.Core()
        with tempfile.TemporaryDirectory() as tmp:
            graph = write_onnx(module, tuple(example[k] for k in self.keys), f"{tmp}/model.onnx", list(self.keys), outputs)
            model = core.read_model(str(graph))
        config = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": "f32"}  # float32: the card's numbers
        if threads is not None:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.model = core.compile_model(model, "CPU", config)
        self.request = self.model.create_infer_request()
        with torch.inference_mode():
            reference = module(*(example[k] for k in self.keys))
        reference = (reference[0] if isinstance(reference, tuple) else reference).numpy()
        diff = 0.0
        for n in (1, len(reference)):  # batch 1 and N: the batch axis is dynamic
            got, _ = self({k: v[:n].numpy() for k, v in example.items()})
            diff = max(diff, float(np.abs(got - reference[:n]).max()))
        if not diff <= self.PARITY_TOLERANCE:
            raise ValueError(f"OpenVINO's compiled model differs from PyTorch by {diff:.3g} (tolerance "
                             f"{self.PARITY_TOLERANCE:g}); use backend='onnx'")
        self.parity = diff

    def __call__(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        out = self.request.infer({k: np.ascontiguousarray(inputs[k], dtype=np.float32) for k in self.keys})
        # the request's output tensors are reused by its next call: copies leave with the caller
        values = [np.array(out[o]) for o in self.model.outputs]
        return values[0], (values[1] if len(values) > 1 else None)


def open_backend(bundle: object, backend: str = "auto", precision: str = "fp32",
                 threads: int | None = None) -> TorchBackend | OnnxBackend | OpenVinoBackend:
    """The backend for ``bundle``: ``auto`` = onnxruntime when the bundle has a ``precision`` graph, else PyTorch."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose {', '.join(BACKENDS[:-1])} or {BACKENDS[-1]}")
    if precision not in ("fp32", "int8", "bf16"):
        raise ValueError(f"unknown precision {precision!r}; choose fp32, int8 (onnx) or bf16 (torchscript)")
    if precision == "bf16" and backend != "torchscript":
        raise ValueError("bf16 runs only through the torchscript backend; use backend='torchscript'")
    if backend == "torchscript":
        return TorchScriptBackend(bundle.scorer_module(fast=True), threads, precision)  # type: ignore[attr-defined]
    if backend == "openvino":
        if precision != "fp32":
            raise ValueError(f"backend='openvino' runs fp32 only; {precision} runs through "
                             f"{'onnx' if precision == 'int8' else 'torchscript'}")
        return OpenVinoBackend(bundle, threads)
    graph = bundle.onnx_path(precision)  # type: ignore[attr-defined]
    if backend == "onnx" or (backend == "auto" and graph is not None):
        if graph is None:
            raise ValueError(
                f"bundle {bundle.path} has no {precision} ONNX graph; run `antispoof export` on it "  # type: ignore[attr-defined]
                f"{'with --quantize int8 ' if precision == 'int8' else ''}or use backend='torch'"
            )
        return OnnxBackend(graph, threads)
    if precision != "fp32":
        raise ValueError("int8 runs only through the ONNX backend; export with --quantize int8 and use backend='onnx'")
    if backend == "torchscript":
        return TorchScriptBackend(bundle.scorer_module(fast=True), threads, precision)  # type: ignore[attr-defined]
    return TorchBackend(bundle.scorer_module(), threads)  # type: ignore[attr-defined]
