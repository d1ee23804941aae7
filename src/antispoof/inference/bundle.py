"""A model bundle: one folder with the weights, the ONNX graphs when exported, and the model card.

::

    BUNDLE/model_card.json      the facts (antispoof.inference.card.ModelCard), validated on load
    BUNDLE/model.safetensors    the network's weights (never pickle)
    BUNDLE/model.onnx           fp32 graph, after `antispoof export` (optional)
    BUNDLE/model.int8.onnx      int8 graph, after `antispoof export --quantize int8` (optional)

The plain network is rebuilt from the card's ``network`` record (a NETWORKS name and its
kwargs; no Lightning, no method config, never a backbone file outside the bundle), then
the bundle's safetensors weights are loaded strictly.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from antispoof.inference.card import CARD_FILE, FileRecord, ModelCard, read_card, sha256_file, write_card

__all__ = ["Bundle", "ScoreOutputs", "add_file", "explanation_names", "bundle_network"]

log = logging.getLogger(__name__)


class ScoreOutputs(nn.Module):
    """``inputs (one tensor per modality, in spec order) -> outputs [B, 1 + K]`` (+ ``maps [B, M, H, W]``).

    ``outputs`` holds the liveness score, then the K cue probabilities; ``maps`` the M
    dense explanation maps, when the network gives any. The one scoring function of a
    bundle: the PyTorch backend runs it, and the ONNX graph is this module exported, so
    both compute exactly the same outputs.
    """

    def __init__(self, network: Any, keys: tuple[str, ...], cue_names: tuple[str, ...], map_names: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.network = network
        self.keys = tuple(keys)
        self.cue_names, self.map_names = tuple(cue_names), tuple(map_names)

    def forward(self, *inputs: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        out = self.network.predict(dict(zip(self.keys, inputs)))
        scores = torch.stack([out["score"].float(), *(out[name].float() for name in self.cue_names)], dim=1)
        if not self.map_names:
            return scores
        return scores, torch.stack([out[name].float() for name in self.map_names], dim=1)


def explanation_names(network: Any, spec: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(cue names, map names)`` of a network's explanation, in a fixed order (one probe forward pass)."""
    with torch.no_grad():
        out = network.eval().predict(spec.example(1))
    out.pop("score")
    cues = tuple(k for k, v in out.items() if v.dim() == 1)
    maps = tuple(k for k, v in out.items() if v.dim() == 3)
    odd = [k for k, v in out.items() if v.dim() not in (1, 3)]
    if odd:
        raise ValueError(f"explanation outputs {odd} are neither per-sample [B] nor maps [B, H, W]")
    return cues, maps


def add_file(card: ModelCard, directory: Path, name: str) -> ModelCard:
    """``card`` with ``name`` (a file in ``directory``) recorded in ``files`` with its checksum."""
    path = directory / name
    files = dict(card.files)
    files[name] = FileRecord(sha256=sha256_file(path), bytes=path.stat().st_size)
    return card.model_copy(update={"files": files})


@dataclass
class Bundle:
    """An opened, verified model bundle."""

    path: Path
    card: ModelCard

    @classmethod
    def load(cls, path: str | Path) -> Bundle:
        """Open ``path`` and verify its card and files (:class:`~antispoof.inference.card.CardError` when wrong)."""
        path = Path(path)
        return cls(path, read_card(path))

    @property
    def weights_path(self) -> Path:
        return self.path / self.card.weights

    def onnx_path(self, precision: str = "fp32") -> Path | None:
        """The ONNX graph of ``precision`` (fp32, int8), or None when the bundle has none."""
        name = self.card.onnx.get(precision)
        return None if name is None else self.path / name

    def build_network(self) -> nn.Module:
        """The plain network with the bundle's weights, on CPU, in eval mode."""
        from antispoof.weights import build_network, load_weights

        network = build_network(self.card.network.model_dump())
        load_weights(network, self.weights_path)
        return network.eval()

    def scorer_module(self, fast: bool = False, graph: bool = False) -> ScoreOutputs:
        """:class:`ScoreOutputs` of the bundle's network (eval mode).

        ``fast``: its ``inference_copy()`` where it has one (an equivalent, faster form);
        ``graph``: the form for an ONNX graph, ``inference_copy(graph=True)``, where the network offers it.
        """
        import inspect

        card = self.card
        network = self.build_network()
        copy = getattr(network, "inference_copy", None)
        form = "as trained"
        if graph and copy is not None and "graph" in inspect.signature(copy).parameters:
            network, form = copy(graph=True), "inference_copy(graph=True)"
        elif fast and copy is not None:
            network, form = copy(), "inference_copy()"
        module = ScoreOutputs(network, card.input.keys, tuple(card.outputs[1:]), tuple(card.maps)).eval()
        module.form = form  # which equivalent form of the network this is (recorded by the export)
        return module

    def save_card(self, card: ModelCard) -> None:
        """Write ``card`` (signed) as this bundle's card and keep it."""
        write_card(card, self.path)
        self.card = read_card(self.path)

    @staticmethod
    def create(path: str | Path, card: ModelCard, weights: str | Path, *, overwrite: bool = True) -> Bundle:
        """Write a new bundle folder: copy ``weights`` in as ``model.safetensors``, record it, write the card."""
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            if not overwrite:
                raise FileExistsError(f"bundle folder {path} exists and is not empty; choose another --out or delete it")
            if not (path / CARD_FILE).is_file():
                raise FileExistsError(
                    f"{path} exists, is not empty and is not a model bundle; refusing to write into it. Choose another --out"
                )
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights, path / card.weights)
        card = add_file(card.model_copy(update={"files": {}, "onnx": {}}), path, card.weights)
        write_card(card, path)
        log.debug("model bundle written to %s", path)  # callers say where it ends up (calibrate builds in a staged folder)
        return Bundle.load(path)


def bundle_network(
    path: str | Path,
    network: nn.Module,
    spec: Any,
    *,
    method: str,
    backbone: str,
    threshold: Any,
    training_data: Any,
    acquisition: Any = None,
    detector: Any = None,
    aggregation: str = "mean",
    config: Any = None,
    notes: list[str] | tuple[str, ...] = (),
    source: dict[str, Any] | None = None,
    overwrite: bool = True,
) -> Bundle:
    """Write ``network`` (weights + its card) as a bundle: the one way calibration, imports and benchmarks make one.

    ``spec`` is the network's :class:`~antispoof.data.inputs.InputSpec`; ``threshold`` a
    :class:`~antispoof.inference.card.ThresholdSpec`; ``acquisition`` the training data's
    :class:`~antispoof.data.acquisition.AcquisitionSpec` (its crop size becomes the spec's);
    ``detector`` the serving detector (default: the face source). The card's outputs and maps come
    from one probe of the network. ``config`` (the run's config schema object) is
    recorded with every path-typed field cleared (a dict is taken as such a record); ``source`` names where imported weights come from.
    """
    import datetime as _dt
    import tempfile

    from antispoof import __version__
    from antispoof.config import dump_without_paths
    from antispoof.data.acquisition import AcquisitionSpec, CropSpec
    from antispoof.inference.card import DetectorSpec, NetworkSpec
    from antispoof.weights import network_spec, save_weights, weights_metadata

    cues, maps = explanation_names(network, spec)
    acquisition = acquisition or AcquisitionSpec(crop=CropSpec(size=spec.crop_size))  # default: blazeface, 1.5x square crop
    acquisition = acquisition.model_copy(update={"crop": acquisition.crop.model_copy(update={"size": spec.crop_size})})
    card = ModelCard(
        package_version=__version__,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        method=method,
        backbone=backbone,
        config={} if config is None else config if isinstance(config, dict) else dump_without_paths(config),
        network=NetworkSpec.model_validate(network_spec(network)),
        outputs=("score", *cues),
        maps=maps,
        input=spec,
        acquisition=acquisition,
        detector=detector or DetectorSpec(name=acquisition.face_source, options=acquisition.detector_options),
        aggregation=aggregation,
        threshold=threshold,
        training_data=training_data,
        files={},
        notes=list(notes),
        source=dict(source or {}),
    )
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / card.weights
        save_weights(network, weights, weights_metadata(network, spec, method=method, backbone=backbone,
                                                         acquisition=acquisition.record()))
        return Bundle.create(path, card, weights, overwrite=overwrite)
