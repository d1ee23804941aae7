"""The CNN + BiLSTM of seed 002: a frame encoder, a linear 1280 -> 512, a two-layer bidirectional LSTM, a classifier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from antispoof._registry import NETWORKS
from antispoof.models.backbones import Standardize, create_backbone, freeze, stage_layout, stage_statistics

__all__ = ["SequenceNet", "CLASS_NAMES", "TASKS", "UNITS"]

#: The bonus task's classes (seed 002: Real / Print / Replay), in the order of the softmax outputs.
CLASS_NAMES = ("bonafide", "print", "replay")
TASKS = ("binary", "three_class", "joint")
UNITS = ("clip", "frame")
#: what the projection reads: the pooled output; plus the stages' channel mean/std; plus the input frame's own.
FEATURES = ("pooled", "stages", "stages_and_input")
#: the input frame's RGB mean and std, the last features of "stages_and_input"
INPUT_STATISTICS = 6


@NETWORKS.register("sequence_net")
class SequenceNet(nn.Module):
    """Encoder -> linear (F -> 512) -> 2-layer BiLSTM -> its final states -> linear + sigmoid / softmax, seed 002 Sec. "Method".

    ``unit="clip"`` (the deployed network): ``forward(clips [B, T, 3, H, W])``; each frame
    goes through the encoder and the linear projection (the paper's "CNN", Sec. Method), the sequence
    of projections through the BiLSTM, and the readout through the classifier(s).
    ``unit="frame"`` is stage 1's network (feature pretraining, frame by frame): the same
    CNN with a linear classifier on each frame's projection (``frame_*`` heads) and no
    LSTM; the paper (Sec. Method, "Learning") does not say what classifies frames in its first stage, this is the
    smallest choice, and its heads are not carried into stage 2 (other names).

    ``task``: ``binary`` (the main task: one logit, sigmoid = probability of *real*),
    ``three_class`` (the bonus task as its own model: softmax over ``CLASS_NAMES``), or
    ``joint`` (both heads on one LSTM: a departure, the paper trains two models, Sec. Experiment).
    ``forward`` returns ``{"logit": [B]}`` and/or ``{"class_logits": [B, 3]}``.

    Choices where the paper (Sec. Method) is silent: the LSTM's hidden size (``hidden`` per direction,
    256, so its output has the 512 channels of its input). The readout: "the last output
    of RNN" is read as each direction's last output (``final_states``, the default: the
    forward direction's at the last frame and the backward direction's at the first, so
    both have seen the whole clip); ``last`` takes the output tensor at the last time step
    (``outputs[:, -1]``), whose backward half has seen only the last frame, so the top
    layer's backward recurrent weights get no gradient at all (a test shows it). No
    nonlinearity between the projection and the LSTM (the text names a linear layer only);
    ``features="stages"`` (a departure for small frozen encoders, as
    :class:`~antispoof.models.pdle.PDLENet`) feeds the projection the pooled output plus
    the stages' channel mean/std instead of the pooled output alone; ``"stages_and_input"``
    adds the input frame's own RGB mean/std (6 numbers). ``input_deltas=True`` (a departure,
    clips only, with ``"stages_and_input"``) adds to the projection a second one, of how
    those 6 numbers changed since the previous frame (0 at the first), standardised on their
    own: a screen's flicker is a gain on the whole frame, and among a frozen encoder's
    thousands of features its change is drowned out by the changes motion makes, so the
    LSTM left it unused (measured in configs/quickstart_sequence.yaml).
    """

    def __init__(self, backbone: str = "mobilenetv2_100", unit: str = "clip", task: str = "binary", embed: int = 512,
                 hidden: int = 256, layers: int = 2, readout: str = "final_states", features: str = "pooled", drop_rate: float = 0.0,
                 weights: str | Path | None = None, freeze_encoder: bool = False, input_deltas: bool = False,
                 bidirectional: bool = True) -> None:
        super().__init__()
        for name, value, allowed in (("unit", unit, UNITS), ("task", task, TASKS), ("readout", readout, ("last", "final_states")),
                                     ("features", features, FEATURES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if min(embed, hidden, layers) < 1:
            raise ValueError(f"embed, hidden and layers must be >= 1, got {embed}, {hidden}, {layers}")
        # what rebuilds the network for inference (weights and freezing are training-only)
        self.arch: dict[str, Any] = {"backbone": backbone, "unit": unit, "task": task, "embed": embed, "hidden": hidden,
                                     "layers": layers, "readout": readout, "features": features, "drop_rate": drop_rate,
                                     "input_deltas": input_deltas, "bidirectional": bidirectional}
        self.unit, self.task, self.readout, self.features = unit, task, readout, features
        self.encoder = create_backbone(backbone, weights=weights)
        self.frozen = bool(freeze_encoder)
        if self.frozen:  # a departure (Sec. Method trains the CNN in both stages): a CPU budget
            freeze(self.encoder, has_weights=weights is not None, name=f"encoder {backbone}", key="model.freeze_encoder")
        if features != "pooled":
            self.stage_indices, width = stage_layout(self.encoder, f"encoder {backbone}")
            width += INPUT_STATISTICS if features == "stages_and_input" else 0
            self.standardize: nn.Module = Standardize(width)
        else:
            width = getattr(self.encoder, "head_hidden_size", None) or self.encoder.num_features
            self.standardize = nn.Identity()
        self.num_features = int(width)
        self.project = nn.Linear(self.num_features, embed)  # seed 002 Sec. Method: 1280 -> 512
        if input_deltas and features != "stages_and_input":
            raise ValueError(f"input_deltas reads the input frame's statistics: it needs features='stages_and_input', got {features!r}")
        self.input_deltas = bool(input_deltas) and unit == "clip"  # stage 1's frames have no neighbours: stage 2 adds it
        if self.input_deltas:  # its own names, so stage 1's projection still initialises `project`
            self.standardize_delta: nn.Module = Standardize(INPUT_STATISTICS)
            self.project_delta = nn.Linear(INPUT_STATISTICS, embed)
        self.dropout = nn.Dropout(drop_rate)
        binary, classes = task in ("binary", "joint"), task in ("three_class", "joint")
        if unit == "clip":
            self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional)
            width_out = (2 if bidirectional else 1) * hidden
            self.head = nn.Linear(width_out, 1) if binary else None
            self.class_head = nn.Linear(width_out, len(CLASS_NAMES)) if classes else None
        else:
            self.frame_head = nn.Linear(embed, 1) if binary else None
            self.frame_class_head = nn.Linear(embed, len(CLASS_NAMES)) if classes else None

    def train(self, mode: bool = True) -> SequenceNet:
        super().train(mode)
        if self.frozen:  # a frozen encoder keeps its BatchNorm statistics
            self.encoder.eval()
        return self

    def encoder_features(self, frames: Tensor) -> Tensor:
        """The frozen-or-trained encoder's raw features ``[N, F]`` of frames ``[N, 3, H, W]`` (the pooled output, or the
        stage statistics), before standardisation and the projection; kept apart so a frozen encoder's may be cached."""
        if self.features == "pooled":
            return self.encoder(frames)
        stats = stage_statistics(self.encoder, frames, self.stage_indices)
        if self.features == "stages_and_input":  # a screen's flicker is a gain on the whole frame: its mean shows it first
            stats = torch.cat([stats, frames.mean(dim=(2, 3)), frames.std(dim=(2, 3))], dim=1)
        return stats

    def sequence(self, embedded: Tensor) -> Tensor:
        """(Bi)LSTM over ``[B, T, embed]`` -> the readout ``[B, 2 * hidden]`` (``[B, hidden]`` one-directional)."""
        outputs, (h_n, _) = self.lstm(embedded)
        if self.readout == "last":
            return outputs[:, -1]
        if not self.lstm.bidirectional:  # the last layer's final state: the output after the clip's last frame
            return h_n[-1]
        return torch.cat([h_n[-2], h_n[-1]], dim=1)  # the last layer's forward and backward final states

    def heads(self, x: Tensor) -> dict[str, Tensor]:
        """The classifier outputs on readouts (clips) or projections (frames) ``[B, D]``."""
        x = self.dropout(x)
        binary = self.head if self.unit == "clip" else self.frame_head
        classes = self.class_head if self.unit == "clip" else self.frame_class_head
        out: dict[str, Tensor] = {}
        if binary is not None:
            out["logit"] = binary(x).squeeze(1)
        if classes is not None:
            out["class_logits"] = classes(x)
        return out

    def forward_features(self, features: Tensor) -> dict[str, Tensor]:
        """The network from raw encoder features: ``[B, T, F]`` for clips, ``[B, F]`` for frames."""
        flat = features.reshape(-1, features.shape[-1])
        embedded = self.project(self.standardize(flat)).reshape(*features.shape[:-1], -1)
        if self.input_deltas:
            stats = features[..., -INPUT_STATISTICS:]
            change = torch.cat([torch.zeros_like(stats[:, :1]), stats[:, 1:] - stats[:, :-1]], dim=1)
            embedded = embedded + self.project_delta(self.standardize_delta(change))
        return self.heads(self.sequence(embedded) if self.unit == "clip" else embedded)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        if self.unit == "frame":
            if images.dim() != 4:
                raise ValueError(f"the frame network reads [B, 3, H, W] frames, got {tuple(images.shape)}")
            return self.forward_features(self.encoder_features(images))
        if images.dim() != 5:
            raise ValueError(f"the sequence network reads clips [B, T, 3, H, W], got {tuple(images.shape)}; "
                             "its input spec has clip_len > 1, so datasets and the Predictor cut clips")
        b, t = images.shape[:2]
        features = self.encoder_features(images.reshape(b * t, *images.shape[2:]))
        return self.forward_features(features.reshape(b, t, -1))

    def probabilities(self, out: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{"score": P(real) [B]}`` plus, with the 3-class head, ``print`` and ``replay`` probabilities ``[B]``."""
        result: dict[str, Tensor] = {}
        if "class_logits" in out:
            p = torch.softmax(out["class_logits"].float(), dim=1)
            result = {"score": p[:, 0], "print": p[:, 1], "replay": p[:, 2]}
        if "logit" in out:  # the main task's sigmoid is the score whenever the model has it
            result["score"] = torch.sigmoid(out["logit"].float())
        return result

    def predict(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``{"score": [B]}`` (the sigmoid real probability, or the softmax's real class) and the attack-class probabilities."""
        with torch.no_grad():
            return self.probabilities(self.forward(batch["image"]))
