"""Score a split of a frame store: one score row per scored unit (a frame, or a clip listing its frames).

The one scoring loop of evaluation, calibration and export checks. ``model`` is a plain
network (``predict(batch) -> {"score", cues...}``), a method (``score``/``explain``), or
anything with either; inputs are shaped and normalised by the :class:`InputSpec` the
model declares, through the evaluation transform. Frames whose face was not acquired
become failure-to-acquire rows with an empty score. Needs neither Lightning nor the
training package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["score_frames", "model_outputs", "progress_bar", "PreparedItems"]


def model_outputs(model: Any, batch: dict[str, Any]) -> dict[str, Any]:
    """``{"score": [B], <cue>: [B] or [B, H, W]}`` from a network (``predict``) or a method (``score`` + ``explain``)."""
    if hasattr(model, "predict"):
        return dict(model.predict(batch))
    return {"score": model.score(batch), **model.explain(batch)}


class PreparedItems:
    """A frame dataset whose raw items go through ``transform.apply`` (the evaluation transform of a spec)."""

    def __init__(self, base: Any, transform: Any) -> None:
        self.base, self.transform = base, transform

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.transform.apply(dict(self.base[index]))


def score_frames(model: Any, store: Path, split: str | None, *, spec: Any = None, image_size: int | None = None,
                 batch_size: int = 64, num_workers: int = 0, progress: bool = True,
                 exclude_pai: Sequence[str] = (), exclude_domains: Sequence[str] = ()) -> tuple[Any, Any]:
    """``(ScoreSet, unit table or None)`` of every unit of ``split`` in ``store``, failures as FTA rows.

    ``exclude_pai`` / ``exclude_domains``: attack species / capture domains (shell
    wildcards) left out, as a run trained without them leaves them out of its dev split.

    ``spec``: the model's :class:`~antispoof.data.inputs.InputSpec` (default: one RGB frame
    of ``image_size``). The unit table (video, frame, frames, label, pai, then one column
    per cue probability) is returned when the model explains itself or reads clips.
    """
    import pandas as pd
    import torch
    from torch.utils.data import DataLoader

    from antispoof.data.base import BONAFIDE
    from antispoof.data.inputs import InputSpec
    from antispoof.data.store import FrameDataset
    from antispoof.data.transforms import eval_transform
    from antispoof.metrics import ScoreSet

    if spec is None:
        if image_size is None:
            raise ValueError("give the model's input spec (spec=) or its image_size")
        spec = InputSpec.rgb(image_size)
    clip = spec.clip_len > 1
    data = FrameDataset.for_spec(store, split, spec, exclude_pai=exclude_pai, exclude_domains=exclude_domains)
    loader = DataLoader(PreparedItems(data, eval_transform(spec)), batch_size=batch_size, shuffle=False, num_workers=num_workers)
    scores: list[np.ndarray] = []
    cues: dict[str, list[np.ndarray]] = {}
    if hasattr(model, "eval"):
        model.eval()
    params = list(model.parameters()) if hasattr(model, "parameters") else []
    device = params[0].device if params else torch.device("cpu")
    with torch.no_grad(), progress_bar(progress, len(loader), f"score {split or 'all'}") as advance:
        for batch in loader:
            batch = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
            out = model_outputs(model, batch)
            scores.append(out.pop("score").float().cpu().numpy())
            for name, value in out.items():
                if value.dim() == 1:  # per-sample cue probabilities; dense maps are not tabulated
                    cues.setdefault(name, []).append(value.float().cpu().numpy())
            advance()
    rows = data.rows if not clip else data.rows.iloc[[c[0] for c in data._clips]].reset_index(drop=True)
    frames = (rows["frame"].astype(str) if not clip
              else pd.Series([" ".join(str(int(data.rows["frame"].iloc[p])) for p in c) for c in data._clips]))
    failed = data.failed
    table = pd.concat([rows.assign(_score=np.concatenate(scores) if scores else np.zeros(0)),
                       failed.assign(_score=np.nan)], ignore_index=True)
    fta = table["failure"] != ""
    reason = np.where(fta, table["failure"].str.split(":").str[0], "")
    score_set = ScoreSet.from_arrays(
        table["_score"].to_numpy(np.float64),
        (table["label"] == BONAFIDE).to_numpy(),
        pai=table["pai"].astype(str).to_numpy(),
        video=table["video"].astype(str).to_numpy(),
        subject=table["subject"].astype(str).to_numpy(),
        frame=table["frame"].to_numpy(np.int64),
        failed_to_acquire=fta.to_numpy(),
        fta_reason=reason,
        source=f"{store} split={split}",
    )
    unit_table = None
    if cues or clip:
        unit_table = rows[["video", "frame", "label", "pai"]].copy()
        unit_table.insert(2, "frames", frames.to_numpy())
        for name, parts in cues.items():
            unit_table[name] = np.concatenate(parts)
    return score_set, unit_table


class progress_bar:
    """A rich progress bar when ``enabled`` (a no-op otherwise); yields an ``advance()`` callable."""

    def __init__(self, enabled: bool, total: int, what: str) -> None:
        self.enabled, self.total, self.what = enabled, total, what

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn(f"[bold]{self.what}[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True)
        self._bar.start()
        task = self._bar.add_task(self.what, total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.stop()
