"""An ensemble of deployable networks as one network: the mean of the members' liveness scores.

Seed 001 (Parkin & Grinchuk, Sec. 4.3): "our final liveness score is obtained by averaging
outputs of 24 neural network[s]" (attack folds x initialisations x seeds). The paper
averages the members' prediction scores (Sec. 4.1-4.2); here every member's ``score`` (liveness
in [0, 1], the toolkit's one convention) is averaged, so members of different methods
mix. :class:`EnsembleNet` is a plain network like any other (``predict``, ``arch``,
registered in NETWORKS), so a bundle, the Predictor and the ONNX export treat it as one
model; its members are rebuilt from their own ``{"name", "kwargs"}`` records and their
weights sit under ``members.<i>.`` in one safetensors file, as the Silent-Face bundle
keeps its two MiniFASNets.

Inputs. When every member reads the same input (the same :class:`InputSpec` and crop),
the ensemble reads it too and hands each member the batch unchanged. Otherwise members
may differ in crop scale, colour order and normalisation (same crop and input size and
fit, RGB only, single frames): the ensemble reads every distinct crop scale once as a
view (``[B, V, 3, S, S]``, raw 0-255 RGB, cut by the Predictor at the card's
``crop.views``, as for Silent-Face) and each member's *adapter* takes its views and
applies its own colour order and ``(x * pixel_scale - mean) / std`` inside the network,
so the ONNX graph carries the whole preprocessing.

Outputs: ``score`` (the mean), ``member_std`` (the population standard deviation of the
member scores: the disagreement of seed 001, Sec. 5.9), every cue probability all
members give (their mean) and every dense map all members give (its mean; the maps must share their size).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from antispoof._registry import NETWORKS

__all__ = ["EnsembleNet"]


@NETWORKS.register("ensemble")
class EnsembleNet(nn.Module):
    """Members' liveness scores averaged (seed 001, Sec. 4.3); see the module docstring.

    Args:
        members: each member's network record ``{"name": NETWORKS name, "kwargs": {...}}``.
        adapters: None (every member reads the ensemble's input as it is) or one record
            per member: ``views`` (indices of the ensemble's views it reads; one index gives
            it ``[B, 3, S, S]``), ``bgr`` (reverse the channels), ``scale`` and ``shift``
            (per channel: ``x * scale + shift`` on raw 0-255 values).
    """

    def __init__(self, members: Sequence[dict[str, Any]], adapters: Sequence[dict[str, Any]] | None = None) -> None:
        super().__init__()
        from antispoof.weights import build_network

        if not members:
            raise ValueError("an ensemble needs one member at least")
        if adapters is not None and len(adapters) != len(members):
            raise ValueError(f"give one adapter per member: {len(members)} members, {len(adapters)} adapters")
        self.arch: dict[str, Any] = {"members": [dict(m) for m in members],
                                     "adapters": None if adapters is None else [dict(a) for a in adapters]}
        self.members = nn.ModuleList(build_network(dict(m)) for m in members)
        self.adapters = None if adapters is None else [dict(a) for a in adapters]
        if self.adapters is not None:
            for i, a in enumerate(self.adapters):
                self.register_buffer(f"_scale{i}", torch.tensor(a["scale"], dtype=torch.float32).view(3, 1, 1), persistent=False)
                self.register_buffer(f"_shift{i}", torch.tensor(a["shift"], dtype=torch.float32).view(3, 1, 1), persistent=False)

    def inference_copy(self) -> EnsembleNet:
        """An equivalent copy whose members are their own ``inference_copy()`` where they have one."""
        copy = EnsembleNet(self.arch["members"], self.arch["adapters"])
        copy.load_state_dict(self.state_dict())
        copy.members = nn.ModuleList(m.inference_copy() if hasattr(m, "inference_copy") else m for m in self.members)
        return copy.eval()

    def _member_input(self, batch: dict[str, Tensor], i: int) -> dict[str, Tensor]:
        if self.adapters is None:
            return batch
        a = self.adapters[i]
        x = batch["image"]
        views = list(a["views"])
        if x.dim() == 5:  # [B, V, 3, S, S]: the member's own views (one gives [B, 3, S, S])
            x = x[:, views[0]] if len(views) == 1 else x[:, views]
        if a["bgr"]:
            x = x.flip(-3)
        x = x * getattr(self, f"_scale{i}") + getattr(self, f"_shift{i}")
        return {**batch, "image": x}

    def member_outputs(self, batch: dict[str, Tensor]) -> list[dict[str, Tensor]]:
        """Each member's ``predict`` output on ``batch``."""
        return [dict(m.predict(self._member_input(batch, i))) for i, m in enumerate(self.members)]

    def member_scores(self, batch: dict[str, Tensor]) -> Tensor:
        """The members' liveness scores ``[B, M]``."""
        return torch.stack([o["score"].float() for o in self.member_outputs(batch)], dim=1)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        return self.member_scores(batch).mean(dim=1)

    @torch.no_grad()
    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{"score": mean member score [B], "member_std": their population std [B], shared cues and maps (means)}``."""
        outs = self.member_outputs(batch)
        scores = torch.stack([o["score"].float() for o in outs], dim=1)
        result = {"score": scores.mean(dim=1), "member_std": scores.std(dim=1, unbiased=False)}
        for name, value in outs[0].items():
            if name in result or not all(name in o and o[name].dim() == value.dim() for o in outs):
                continue
            if value.dim() in (1, 3):
                result[name] = torch.stack([o[name].float() for o in outs]).mean(dim=0)
        return result
