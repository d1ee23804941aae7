"""A model bundle: one folder with the weights, the ONNX graphs when exported, and the model card.

::

    BUNDLE/model_card.json      the facts (antispoof.inference.card.ModelCard), validated on load
    BUNDLE/model.safetensors    the network's weights (never pickle)
    BUNDLE/model.onnx           fp32 graph, after `antispoof export` (optional)
    BUNDLE/model.int8.onnx      int8 graph, after `antispoof export --quantize int8` (optional)

The network is rebuilt from the card's ``config`` through the method registry, with
``model.weights`` cleared (a bundle never reaches for a backbone file outside itself),
then the bundle's safetensors weights are loaded strictly.
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

__all__ = ["Bundle", "ScoreOutputs", "add_file"]

log = logging.getLogger(__name__)


class ScoreOutputs(nn.Module):
    """``image [B, 3, H, W] -> [B, 1 + K]``: the method's liveness score, then its K cue probabilities.

    The one scoring function of a bundle: the PyTorch backend runs it, and the ONNX graph
    is this module exported, so both compute exactly the same outputs.
    """

    def __init__(self, method: Any, cue_names: tuple[str, ...]) -> None:
        super().__init__()
        self.method = method
        self.cue_names = tuple(cue_names)

    def forward(self, image: Tensor) -> Tensor:
        batch = {"image": image}
        score = self.method.score(batch)
        columns = [score]
        if self.cue_names:
            cues = self.method.explain(batch)
            columns += [cues[name] for name in self.cue_names]
        return torch.stack([c.float() for c in columns], dim=1)


def cue_names_of(method: Any, image_size: int) -> tuple[str, ...]:
    """The names of the method's explanation outputs, in a fixed order (one probe forward pass)."""
    with torch.no_grad():
        probe = torch.zeros(1, 3, image_size, image_size)
        return tuple(method.explain({"image": probe}).keys())


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

    def build_method(self) -> Any:
        """The method with the bundle's weights, on CPU, in eval mode."""
        from antispoof.training.checkpoints import load_weights
        from antispoof.training.runner import method_class

        cls = method_class(self.card.method)
        config_data = dict(self.card.config)
        config_data["model"] = {**config_data.get("model", {}), "weights": None}
        config = cls.config_schema.model_validate(config_data)
        method = cls.for_inference(config)
        load_weights(method.network(), self.weights_path)
        return method.eval()

    def scorer_module(self) -> ScoreOutputs:
        """:class:`ScoreOutputs` of the bundle's method (eval mode)."""
        return ScoreOutputs(self.build_method(), tuple(self.card.outputs[1:])).eval()

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
        log.info("model bundle written to %s", path)
        return Bundle.load(path)
