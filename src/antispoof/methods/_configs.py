"""Method configs by name or path, and method classes by name (the plumbing of :mod:`antispoof.methods`).

Method modules import from here, not from the package, so the package ``__init__`` can
import every method module without a circle.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from antispoof._registry import METHODS
from antispoof.config import ConfigError, load_config, parse_override

__all__ = ["method_class", "list_methods", "config_path", "list_configs", "load_method_config", "read_run_config"]


def method_class(name: str) -> Any:
    """The method class registered as ``name`` (KeyError with close matches when unknown)."""
    return METHODS.get(name)


def list_methods(pattern: str = "*", kind: str | None = "detector") -> list[str]:
    """Registered method names matching a wildcard, of one ``kind`` (``detector`` or ``pretraining``; None: all)."""
    return [n for n in METHODS.list(pattern) if kind is None or getattr(METHODS.get(n), "kind", "detector") == kind]


def _config_dir() -> Path:
    from importlib.resources import files

    return Path(str(files("antispoof") / "configs"))


def list_configs() -> list[str]:
    """Names of the configs packaged with the toolkit (``antispoof train NAME``)."""
    return sorted(p.stem for p in _config_dir().glob("*.yaml"))


def config_path(name_or_path: str | Path) -> Path:
    """A config file: an existing path as given, else the packaged config of that name (``entry`` -> ``configs/entry.yaml``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    text = str(name_or_path)
    packaged = _config_dir() / f"{text.removesuffix('.yaml')}.yaml"
    if "/" not in text and packaged.is_file():
        return packaged
    known = list_configs()
    if "/" in text or text.endswith((".yaml", ".yml")):
        raise ConfigError(f"config file {text} does not exist; give a YAML path or a packaged config name ({', '.join(known)})")
    close = difflib.get_close_matches(text, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ConfigError(f"unknown config {text!r}{hint} Packaged configs: {', '.join(known)}; or give a YAML path")


def _method_name(raw: dict[str, Any], overrides: Sequence[str], default: str) -> str:
    model = raw.get("model")
    name = model.get("method", default) if isinstance(model, dict) else default
    for item in overrides:
        key, value = parse_override(item)
        if key == "model.method":
            name = value
    return str(name)


def load_method_config(path: str | Path | None, overrides: Sequence[str] = (), default_method: str = "entry") -> Any:
    """Read a config (a path or a packaged name) with the schema of the method it names (``model.method``)."""
    raw: dict[str, Any] = {}
    if path is not None:
        path = config_path(path)
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cls = method_class(_method_name(raw, overrides, default_method))
    return load_config(cls.config_schema, path, overrides)


def read_run_config(run_dir: str | Path) -> Any:
    """The resolved config a run folder was trained with."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; give a run folder made by `antispoof train`")
    return load_method_config(path)
