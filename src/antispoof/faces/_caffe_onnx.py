"""A :class:`~antispoof.faces._caffe.CaffeGraph` written as an ONNX graph for onnxruntime, in the form it runs fastest.

:func:`caffe_to_onnx` writes the layers that lead to the requested blobs (the detector's
head convolutions) for one input shape:

- each Convolution followed only by its BatchNorm and Scale becomes one ``Conv`` with the
  two folded into its weights and bias (in float64, then float32): one pass over the
  activation instead of three;
- head convolutions that read the same blob (a level's box and class convolutions) become
  one ``Conv`` whose output channels are theirs side by side; the caller slices them;
- ReLU, Deconvolution, Crop, Eltwise (SUM) and Concat become ``Relu``, ``ConvTranspose``,
  ``Slice``, ``Add`` and ``Concat``.

With ``rgb_hwc`` the graph reads the frame as OpenCV and numpy hold it, ``[1, H, W, 3]``
RGB (the mean already subtracted), instead of Caffe's ``[1, 3, H, W]`` BGR planes: a
``Transpose`` that onnxruntime folds into its first layout change, and the first
convolution's input channels reversed, so no separate pass builds the planes.

The reshaping that follows the heads (Permute, Flatten, Concat, Reshape, Softmax: a few
thousand numbers) is the caller's, in numpy: in the graph each of its nodes leaves
onnxruntime's blocked layout and costs a reorder. So is PriorBox, which depends only on
the input shape. The caller checks the graph's numbers against the layer-by-layer run
(``antispoof.faces.retinaface``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["caffe_to_onnx"]


def _one(params: dict[str, list[Any]], key: str, default: Any) -> Any:
    return params.get(key, [default])[0]


def caffe_to_onnx(graph: Any, shape: tuple[int, ...], outputs: list[str], rgb_hwc: bool = False,
                  opset: int = 17) -> tuple[bytes, dict[str, tuple[str, int, int]]]:
    """``(ONNX model bytes, {caffe blob: (graph output, first channel, end channel)})`` computing ``outputs``.

    ``shape``: Caffe's input shape ``[1, 3, H, W]``; ``rgb_hwc``: the graph reads ``[1, H, W, 3]`` RGB instead (module docstring).
    """
    import onnx
    import torch
    from onnx import TensorProto, helper, numpy_helper

    layers = [layer for layer in graph.layers if layer[1] != "DetectionOutput"]
    # the layer that last wrote each blob before each layer (Caffe writes some blobs in place)
    producer: dict[str, int] = {}
    reads: list[list[int | None]] = []
    for i, (_, _, bottom, top, _, _) in enumerate(layers):
        reads.append([producer.get(b) for b in bottom])
        for t in top:
            producer[t] = i
    consumers: dict[int, list[int]] = {}
    for i, sources in enumerate(reads):
        for s in sources:
            if s is not None:
                consumers.setdefault(s, []).append(i)
    needed: set[int] = set()
    stack = [producer[o] for o in outputs]
    while stack:
        i = stack.pop()
        if i not in needed:
            needed.add(i)
            stack.extend(s for s in reads[i] if s is not None)
    with torch.no_grad():  # every blob's shape, from one layer-by-layer run
        blobs = graph.run(torch.zeros(shape), tuple(t for i in needed for t in layers[i][3]))
    shapes = {k: tuple(v.shape) for k, v in blobs.items()}

    nodes, inits = [], []
    name_of: dict[str, str] = {graph.input: "data"}  # caffe blob -> current ONNX value
    if rgb_hwc:
        readers = [i for i in needed if graph.input in layers[i][2]]
        if any(layers[i][1] != "Convolution" or _one(layers[i][4]["convolution_param"][0], "group", 1) != 1 for i in readers):
            raise ValueError("rgb_hwc needs the input read by convolutions of one group only (their channels are reversed)")
        nodes.append(helper.make_node("Transpose", ["data"], ["data_nchw"], perm=[0, 3, 1, 2]))
        name_of[graph.input] = "data_nchw"
    folded: set[int] = set()
    counter = [0]

    def const(array: np.ndarray, hint: str) -> str:
        counter[0] += 1
        name = f"{hint}_{counter[0]}"
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def conv_params(layer: dict[str, Any]) -> dict[str, Any]:
        p = layer["convolution_param"][0]
        k, s, pad = _one(p, "kernel_size", 1), _one(p, "stride", 1), _one(p, "pad", 0)
        d, g = _one(p, "dilation", 1), _one(p, "group", 1)
        return {"kernel_shape": [k, k], "strides": [s, s], "pads": [pad] * 4, "dilations": [d, d], "group": g}

    def conv_weights(i: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Weights and bias of convolution ``i`` with its following BatchNorm and Scale folded in (float64), and those layers."""
        _, _, _, top, layer, w = layers[i]
        weight = w[0].numpy().astype(np.float64)
        has_bias = _one(layer["convolution_param"][0], "bias_term", True) and len(w) > 1
        bias = w[1].numpy().reshape(-1).astype(np.float64) if has_bias else np.zeros(weight.shape[0])
        absorbed = []
        j = only_consumer(i, "BatchNorm")
        if j is not None:
            eps = _one(layers[j][4].get("batch_norm_param", [{}])[0], "eps", 1e-5)
            mean, var = (t.numpy().reshape(-1).astype(np.float64) for t in layers[j][5][:2])
            factor = 1.0 / np.sqrt(var + eps)
            weight, bias = weight * factor[:, None, None, None], (bias - mean) * factor
            absorbed.append(j)
            k = only_consumer(j, "Scale")
            if k is not None:
                gamma = layers[k][5][0].numpy().reshape(-1).astype(np.float64)
                beta = layers[k][5][1].numpy().reshape(-1).astype(np.float64) if len(layers[k][5]) > 1 else 0.0
                weight, bias = weight * gamma[:, None, None, None], bias * gamma + beta
                absorbed.append(k)
        return weight, bias, absorbed

    def only_consumer(i: int, kind: str) -> int | None:
        """The one layer reading layer ``i``'s output when it is a ``kind`` (and ``i`` is no requested output), else None."""
        after = consumers.get(i, [])
        if len(after) == 1 and layers[after[0]][1] == kind and layers[i][3][0] not in outputs:
            return after[0]
        return None

    def conv_node(x: str, weight: np.ndarray, bias: np.ndarray, out: str, layer: dict[str, Any]) -> None:
        nodes.append(helper.make_node("Conv", [x, const(weight.astype(np.float32), "w"), const(bias.astype(np.float32), "b")],
                                      [out], name=out, **conv_params(layer)))

    # head convolutions (requested outputs) grouped by the blob they read
    heads: dict[str, tuple[str, int, int]] = {}
    groups: dict[str, list[int]] = {}
    for o in outputs:
        i = producer[o]
        if layers[i][1] != "Convolution":
            raise ValueError(f"output {o} is not a convolution's; only convolution heads are supported")
        groups.setdefault(layers[i][2][0], []).append(i)

    for i in sorted(needed):
        name, kind, bottom, top, layer, w = layers[i]
        if i in folded:
            continue
        x = [name_of[b] for b in bottom]
        out = f"{top[0]}__{i}"
        if kind == "Convolution" and top[0] in outputs:
            members = groups[bottom[0]]
            if i != members[0]:
                continue  # written with the first convolution of its group
            ws, bs, _ = zip(*(conv_weights(m) for m in members))
            out = "heads_" + "_".join(layers[m][3][0] for m in members)
            start = 0
            for m, wm in zip(members, ws):
                heads[layers[m][3][0]] = (out, start, start + wm.shape[0])
                start += wm.shape[0]
            conv_node(x[0], np.concatenate(ws), np.concatenate(bs), out, layer)
        elif kind == "Convolution":
            weight, bias, absorbed = conv_weights(i)
            if rgb_hwc and bottom[0] == graph.input:
                weight = weight[:, ::-1]  # RGB in, the BGR the weights were trained on
            conv_node(x[0], weight, bias, out, layer)
            folded.update(absorbed)
            for j in absorbed:  # the folded BatchNorm / Scale wrote their own tops: those now name this output
                name_of[layers[j][3][0]] = out
        elif kind == "Deconvolution":
            p = conv_params(layer)
            bias = w[1].numpy().reshape(-1) if len(w) > 1 else np.zeros(w[0].shape[1] * p["group"], np.float32)
            nodes.append(helper.make_node("ConvTranspose", [x[0], const(w[0].numpy(), "w"), const(bias.astype(np.float32), "b")],
                                          [out], name=out, **p))
        elif kind == "BatchNorm":  # not after a convolution: a per-channel affine map
            eps = _one(layer.get("batch_norm_param", [{}])[0], "eps", 1e-5)
            mean, var = (t.numpy().reshape(-1).astype(np.float64) for t in w[:2])
            factor = 1.0 / np.sqrt(var + eps)
            scaled = out + "_scaled"
            nodes.append(helper.make_node("Mul", [x[0], const(factor.astype(np.float32).reshape(1, -1, 1, 1), "s")], [scaled]))
            nodes.append(helper.make_node("Add", [scaled, const((-mean * factor).astype(np.float32).reshape(1, -1, 1, 1), "t")], [out]))
        elif kind == "Scale":
            scaled = out + "_scaled" if len(w) > 1 else out
            nodes.append(helper.make_node("Mul", [x[0], const(w[0].numpy().reshape(1, -1, 1, 1), "s")], [scaled]))
            if len(w) > 1:
                nodes.append(helper.make_node("Add", [scaled, const(w[1].numpy().reshape(1, -1, 1, 1), "t")], [out]))
        elif kind == "ReLU":
            slope = _one(layer.get("relu_param", [{}])[0], "negative_slope", 0.0)
            nodes.append(helper.make_node("LeakyRelu", x[:1], [out], alpha=float(slope)) if slope else
                         helper.make_node("Relu", x[:1], [out]))
        elif kind == "Crop":
            p = layer.get("crop_param", [{}])[0]
            axis, offset = _one(p, "axis", 2), _one(p, "offset", 0)
            axes = list(range(axis, len(shapes[bottom[0]])))
            ends = [offset + shapes[bottom[1]][a] for a in axes]
            nodes.append(helper.make_node("Slice", [x[0], const(np.array([offset] * len(axes), np.int64), "starts"),
                                                    const(np.array(ends, np.int64), "ends"),
                                                    const(np.array(axes, np.int64), "axes")], [out]))
        elif kind == "Eltwise":
            if _one(layer.get("eltwise_param", [{}])[0], "operation", "SUM") != "SUM":
                raise ValueError(f"Eltwise {name}: only SUM is supported")
            nodes.append(helper.make_node("Sum" if len(x) > 2 else "Add", x, [out]))
        elif kind == "Concat":
            nodes.append(helper.make_node("Concat", x, [out], axis=_one(layer.get("concat_param", [{}])[0], "axis", 1)))
        else:
            raise ValueError(f"Caffe layer type {kind} ({name}) cannot be written to the ONNX graph")
        name_of[top[0]] = out

    graph_outputs = sorted({v[0] for v in heads.values()})
    out_shapes = {v[0]: (shapes[k][0], 0, *shapes[k][2:]) for k, v in heads.items()}
    for k, (o, _, end) in heads.items():
        out_shapes[o] = (out_shapes[o][0], max(out_shapes[o][1], end), *out_shapes[o][2:])
    model = helper.make_model(
        helper.make_graph(nodes, "caffe", [helper.make_tensor_value_info(
                              "data", TensorProto.FLOAT, [shape[0], *shape[2:], shape[1]] if rgb_hwc else list(shape))],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, list(out_shapes[o])) for o in graph_outputs],
                          initializer=inits),
        opset_imports=[helper.make_opsetid("", opset)], producer_name="antispoof.faces._caffe_onnx")
    onnx.checker.check_model(model)
    return model.SerializeToString(), heads
