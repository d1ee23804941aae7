"""Weights on disk: safetensors files that carry the facts needed to rebuild and feed their network.

The one place training, evaluation and inference read and write weights. A weights file
(``RUN/model.safetensors``, ``BUNDLE/model.safetensors``) holds the deployable
network's state dict and, in its metadata,

- ``network``: ``{"name": NETWORKS name, "kwargs": {...}}``, enough to rebuild the
  plain ``nn.Module`` (:mod:`antispoof.models`) with no Lightning and no method config;
- ``input``: the :class:`~antispoof.data.inputs.InputSpec` it reads;
- ``method``, ``epoch``, ``global_step`` and free-form facts.

Nothing here unpickles: weights are safetensors, and a ``.pth``/``.ckpt`` given to
:func:`load_state` is read with ``torch.load(weights_only=True)``, which refuses code.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

__all__ = ["WEIGHTS_FILE", "save_weights", "load_weights", "read_metadata", "weights_file", "load_state",
           "build_network", "load_network", "network_spec", "input_spec_of", "weights_metadata", "LoadReport", "load_matching",
           "sha256_file"]

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"


def sha256_file(path: str | Path) -> str:
    """The hex sha256 of a file's bytes (weights files are named by it in cards and detector records)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_weights(module: Any, path: Path, metadata: dict[str, Any]) -> None:
    """Write ``module``'s state dict to ``path`` (safetensors) atomically; metadata values are JSON-encoded when not str."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    tmp = Path(path).with_suffix(".tmp")
    save_file(state, str(tmp), metadata=meta)
    os.replace(tmp, path)


def read_metadata(path: Path) -> dict[str, Any]:
    """A weights file's metadata, JSON values decoded."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        raw = dict(f.metadata() or {})
    out: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            out[key] = json.loads(value)
        except (json.JSONDecodeError, TypeError):
            out[key] = value
    return out


def load_weights(module: Any, path: Path) -> dict[str, Any]:
    """Load safetensors weights into ``module`` (strict); returns the file's metadata."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found; is this a finished or checkpointed training run?")
    module.load_state_dict(load_file(str(path)))
    return read_metadata(path)


def weights_file(source: str | Path) -> Path:
    """The weights file of a run folder (a finished one: :func:`antispoof._runs.require_finished`), a bundle folder,
    or the file itself."""
    source = Path(source)
    if source.is_dir():
        from antispoof._runs import require_finished

        require_finished(source)
        path = source / WEIGHTS_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{source} holds no {WEIGHTS_FILE}; give a trained run folder or a model bundle")
        return path
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist; give a run folder, a bundle folder or a weights file")
    return source


def load_state(source: str | Path) -> dict[str, Any]:
    """A state dict from a run or bundle folder, a ``.safetensors`` file, or a ``.pth``/``.ckpt`` (``weights_only``)."""
    path = weights_file(source)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickle refusing code raises several types
        raise ValueError(f"{path} could not be read as plain tensors ({type(err).__name__}: {err}); "
                         "give a .safetensors file or a state dict saved with torch.save(model.state_dict())") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a Lightning checkpoint
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict")
    return {k.removeprefix("module."): v for k, v in state.items() if hasattr(v, "shape")}


def network_spec(network: Any) -> dict[str, Any]:
    """``{"name", "kwargs"}`` that rebuild ``network`` (its NETWORKS name and its ``arch`` kwargs)."""
    from antispoof._registry import NETWORKS

    arch = getattr(network, "arch", None)
    if not isinstance(arch, dict):
        raise TypeError(f"{type(network).__name__} has no `arch` dict of constructor kwargs; a deployable network must keep one")
    return {"name": NETWORKS.name_of(network), "kwargs": dict(arch)}


def weights_metadata(network: Any, spec: Any, **facts: Any) -> dict[str, Any]:
    """The metadata a weights file carries: ``network`` (rebuild spec), ``input`` (the InputSpec), the score convention, ``facts``."""
    return {**facts, "network": network_spec(network), "input": spec.model_dump(mode="json"),
            "score": "liveness in [0, 1], higher = bona fide"}


def build_network(spec: dict[str, Any]) -> Any:
    """The network a ``{"name", "kwargs"}`` spec describes, random weights, no backbone file."""
    from antispoof._registry import NETWORKS, load_all

    load_all("networks")
    return NETWORKS.create(spec["name"], **spec.get("kwargs", {}))


def load_network(source: str | Path) -> tuple[Any, dict[str, Any]]:
    """``(network in eval mode, metadata)`` from a run folder, bundle folder or weights file (no Lightning)."""
    path = weights_file(source)
    meta = read_metadata(path)
    if "network" not in meta:
        raise ValueError(f"{path} does not record its network (written by an older toolkit); train or calibrate it again")
    network = build_network(meta["network"])
    load_weights(network, path)
    return network.eval(), meta


def input_spec_of(meta: dict[str, Any]) -> Any:
    """The :class:`~antispoof.data.inputs.InputSpec` a weights file's metadata records."""
    from antispoof.data.inputs import InputSpec

    if "input" not in meta:
        raise ValueError("these weights do not record their input spec (written by an older toolkit); train them again")
    return InputSpec.model_validate(meta["input"])


class LoadReport(dict):
    """What :func:`load_matching` did: ``loaded``, ``missing``, ``unexpected``, ``mismatched`` key lists."""

    def summary(self) -> str:
        return (f"{len(self['loaded'])} tensors loaded, {len(self['missing'])} missing, "
                f"{len(self['unexpected'])} unexpected, {len(self['mismatched'])} of another shape")


def load_matching(module: Any, state: dict[str, Any], source: str = "weights") -> LoadReport:
    """Load the tensors of ``state`` whose names and shapes match ``module``'s; report the rest.

    When no name matches, a sub-network stored under another prefix is looked for
    (:func:`_reroot`): a backbone of ``module`` (``encoder.*``) starts from the same
    architecture inside the weights (``members.0.*`` of an imported ensemble).

    Refuses (ValueError) when nothing matches: a wrong file must not pass silently as a
    random initialisation.
    """
    own = module.state_dict()
    if not any(k in own for k in state):
        state = _reroot(own, state)
    loaded = [k for k, v in state.items() if k in own and tuple(own[k].shape) == tuple(v.shape)]
    report = LoadReport(
        loaded=loaded,
        missing=sorted(k for k in own if k not in state),
        unexpected=sorted(k for k in state if k not in own),
        mismatched=sorted(k for k in state if k in own and tuple(own[k].shape) != tuple(state[k].shape)),
    )
    if not loaded:
        raise ValueError(f"no tensor of {source} matches the network by name and shape ({report.summary()}); "
                         "check that it comes from a run of a compatible method and backbone")
    module.load_state_dict({k: state[k] for k in loaded}, strict=False)
    log.info("initialised from %s: %s", source, report.summary())
    for kind in ("missing", "unexpected", "mismatched"):
        if report[kind]:
            log.info("  %s: %s%s", kind, ", ".join(report[kind][:8]), " ..." if len(report[kind]) > 8 else "")
    return report


def _reroot(own: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """``state`` renamed so that its sub-network under one prefix lands on ``own``'s under another, or unchanged.

    Of every pair (first-level prefix of ``own``, prefix of ``state`` ending at a dot) under
    which all of ``own``'s tensors find a tensor of the same suffix and shape, the one
    covering most tensors wins (the first in ``state``'s order on a tie).
    """
    own_prefixes = sorted({k.split(".", 1)[0] + "." for k in own if "." in k})
    state_prefixes = list(dict.fromkeys(k[: i + 1] for k in state for i, c in enumerate(k) if c == "."))
    best: tuple[int, str, str] | None = None
    for mine in own_prefixes:
        wanted = {k[len(mine):]: tuple(v.shape) for k, v in own.items() if k.startswith(mine)}
        for theirs in state_prefixes:
            if all(tuple(getattr(state.get(theirs + s), "shape", ())) == shape for s, shape in wanted.items()):
                if best is None or len(wanted) > best[0]:
                    best = (len(wanted), mine, theirs)
    if best is None:
        return state
    _, mine, theirs = best
    log.info("no tensor name matches; loading %s* from the weights' %s*", mine, theirs)
    return {mine + k[len(theirs):]: v for k, v in state.items() if k.startswith(theirs)}
