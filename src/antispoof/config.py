"""Typed configuration: pydantic v2 schemas, YAML files and dotted ``key=value`` overrides.

One schema per config. Every setting is one pydantic field with a default, a type, a
range and a one-line meaning (its ``description``). A YAML file and command-line
overrides (``train.lr=0.01``) both go through :func:`load_config`, which fails with a
:class:`ConfigError` that names the key:

- an unknown key lists the close matches with their defaults
  (``unknown key train.lrr; did you mean train.lr (default 0.001)?``);
- a wrong type names the key, the value, the expected type and a correct example.

Override values are parsed with YAML's safe loader (``1``, ``0.5``, ``true``, ``null``,
``[1, 2]``); nothing is ever evaluated as code.

Methods extend the shared sections by subclassing them (a method's ``ModelConfig``
adds its own fields) and the top-level :class:`ExperimentConfig`.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "ConfigError",
    "Section",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "ExperimentConfig",
    "load_config",
    "parse_override",
    "split_config_args",
    "split_overrides",
    "config_to_yaml",
    "dump_without_paths",
    "with_absolute_paths",
    "iter_fields",
    "type_name",
]

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file or override that cannot be used; the message says how to fix it."""


class Section(BaseModel):
    """Base of every config section: unknown keys are refused, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(Section):
    """Which data a run reads."""

    dataset: str = Field("synthetic", description="dataset name (see `antispoof list datasets`)")
    root: Path | None = Field(None, description="dataset root folder; null for generated data")
    protocol: str | None = Field(None, description="official protocol name, e.g. Protocol_1; null for the dataset's default")
    image_size: int = Field(128, ge=16, le=2048, description="side of the square face crop fed to the model, in pixels")


class ModelConfig(Section):
    """Which method and backbone a run builds."""

    method: str = Field("entry", description="method name (see `antispoof list methods`)")
    backbone: str = Field("resnet18", description="timm architecture name (see `antispoof list backbones`)")
    weights: Path | None = Field(None, description="local file of backbone weights; null trains from scratch (nothing is downloaded)")


class TrainConfig(Section):
    """How long and how fast a run trains."""

    max_epochs: int = Field(10, ge=1, description="number of passes over the training split")
    max_steps: int = Field(-1, ge=-1, description="stop after this many optimizer steps; -1 means no limit")
    batch_size: int = Field(32, ge=1, description="images per optimizer step in each process; the step sees "
                                               "batch_size x train.devices x train.num_nodes in all")
    lr: float = Field(1e-3, gt=0, description="learning rate of the optimizer")
    num_workers: int | Literal["auto"] = Field(
        "auto", description="data-loader worker processes of each training process; auto: none on the CPU, else the cores this "
                            "process may use, shared among the training processes of the machine, less one, at most 8 "
                            "(our choice: decoding and augmenting JPEG crops keeps a GPU waiting on one process)")

    @field_validator("num_workers")
    @classmethod
    def _workers(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError(f"train.num_workers must be 0 or more, or auto; got {value}")
        return value


class ExperimentConfig(Section):
    """A whole run: data, model, training and the seed that makes it reproducible."""

    seed: int = Field(0, ge=0, description="seed for every random generator of the run")
    data: DataConfig = Field(default_factory=DataConfig, description="which data the run reads")
    model: ModelConfig = Field(default_factory=ModelConfig, description="which method and backbone")
    train: TrainConfig = Field(default_factory=TrainConfig, description="training length and speed")


# ---------------------------------------------------------------------------------------
# Loading


def load_config(
    schema: type[M],
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> M:
    """Read ``path`` (YAML; optional), apply dotted ``key=value`` overrides, validate against ``schema``."""
    raw: dict[str, Any] = {}
    if path is not None:
        raw = _read_yaml_mapping(Path(path))
    for item in overrides:
        key, value = parse_override(item)
        _set_dotted(raw, key, value)
    _check_keys(schema, raw)
    try:
        return schema.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(schema, err)) from None


def split_config_args(args: Sequence[str]) -> tuple[Path | None, list[str]]:
    """Split command-line words into an optional leading config (a YAML path or a packaged name) and ``key=value`` overrides."""
    args = list(args)
    if args and "=" not in args[0]:
        return Path(args[0]), args[1:]
    return None, args


def split_overrides(words: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(names, key=value overrides)`` of command-line words, each in order.

    An argparse list option (``--rows A B``) followed by positional overrides takes the
    overrides too, since both accept any number of words: this gives them back.
    """
    return [w for w in words if "=" not in w], [w for w in words if "=" in w]


def parse_override(item: str) -> tuple[str, Any]:
    """Split ``"train.lr=0.01"`` into ``("train.lr", 0.01)``; the value is parsed as YAML."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {item!r} is not key=value; write it like train.lr=0.001")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        value = text  # not YAML (e.g. an unbalanced bracket): keep the string, validation decides
    return key, value


def config_to_yaml(config: BaseModel) -> str:
    """The config as YAML text (paths as strings), reloadable with :func:`load_config`."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def dump_without_paths(config: BaseModel) -> dict[str, Any]:
    """``config`` as JSON-ready data with every field typed as a path set to None (a record that names no machine path)."""
    out: dict[str, Any] = {}
    for name, field in type(config).model_fields.items():
        value = getattr(config, name)
        if isinstance(value, BaseModel):
            out[name] = dump_without_paths(value)
        elif _mentions_path(field.annotation):
            out[name] = None
        else:
            out[name] = type(config).__pydantic_serializer__.to_python(config, mode="json", include={name})[name]
    return out


def with_absolute_paths(config: BaseModel, base: Path | None = None) -> BaseModel:
    """``config`` with every relative path of a path-typed field made absolute against ``base`` (default: the working
    folder), so that a run's saved config finds its data from wherever it is read."""
    base = Path.cwd() if base is None else Path(base)
    update: dict[str, Any] = {}
    for name, field in type(config).model_fields.items():
        value = getattr(config, name)
        if isinstance(value, BaseModel):
            fixed = with_absolute_paths(value, base)
            if fixed is not value:
                update[name] = fixed
        elif isinstance(value, Path) and not value.is_absolute() and _mentions_path(field.annotation):
            update[name] = (base / value).absolute()
    return config.model_copy(update=update) if update else config


def _mentions_path(annotation: Any) -> bool:
    if annotation is Path:
        return True
    return any(_mentions_path(a) for a in typing.get_args(annotation))


def iter_fields(schema: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any, Any, str]]:
    """Yield ``(dotted key, annotation, default, description)`` for every leaf setting of ``schema``."""
    for name, field in schema.model_fields.items():
        key = f"{prefix}{name}"
        sub = _section_type(field.annotation)
        if sub is not None:
            yield from iter_fields(sub, prefix=f"{key}.")
        else:
            default = field.get_default(call_default_factory=True)
            yield key, field.annotation, default, field.description or ""


def _read_yaml_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; give the path of a YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values, not a {type(data).__name__}")
    return data


def _set_dotted(raw: dict[str, Any], key: str, value: Any) -> None:
    node = raw
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {key}: {'.'.join(parts[: i + 1])} is a value, not a section")
        node = child
    node[parts[-1]] = value


def _section_type(annotation: Any) -> type[BaseModel] | None:
    """The section class when a field holds a nested section, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _check_keys(root: type[BaseModel], raw: dict[str, Any], schema: type[BaseModel] | None = None, prefix: str = "") -> None:
    schema = schema or root
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        field = schema.model_fields.get(key) if isinstance(key, str) else None
        if field is None:
            raise ConfigError(_unknown_key_message(root, _first_leaf(dotted, value)))
        sub = _section_type(field.annotation)
        if sub is not None and isinstance(value, dict):
            _check_keys(root, value, sub, prefix=f"{dotted}.")


def _first_leaf(dotted: str, value: Any) -> str:
    """``trian`` holding ``{lr: 0.1}`` is reported as ``trian.lr``, the key the user wrote."""
    while isinstance(value, dict) and value:
        key, value = next(iter(value.items()))
        dotted = f"{dotted}.{key}"
    return dotted


def _unknown_key_message(root: type[BaseModel], dotted: str) -> str:
    # Suggest among every key of the whole config, so a key put in the wrong section is found too.
    known = {k: d for k, _, d, _ in iter_fields(root)}
    scored = sorted(
        ((difflib.SequenceMatcher(None, dotted, k).ratio(), k) for k in known), reverse=True
    )
    # Keep the best match and any nearly as good (a clear winner is shown alone).
    close = [k for r, k in scored[:3] if r >= 0.6 and r >= scored[0][0] - 0.05] if scored else []
    if not close:  # a misspelt section name ("trian.lr"): match the last part alone
        leaf = dotted.rsplit(".", 1)[-1]
        close = [k for k in known if k.rsplit(".", 1)[-1] == leaf][:3]
    if close:
        hints = ", ".join(f"{k} (default {_yaml_scalar(known[k])})" for k in close)
        return f"unknown key {dotted}; did you mean {hints}? See all keys with `antispoof config keys`."
    return f"unknown key {dotted}. See all keys with `antispoof config keys`."


def _format_validation_error(schema: type[BaseModel], err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        value = e.get("input")
        annotation, default = _lookup(schema, e["loc"])
        expected = type_name(annotation) if annotation is not None else "?"
        example = f"; e.g. {key}={_yaml_scalar(default)}" if annotation is not None and default is not None else ""
        lines.append(
            f"{key}: got {value!r} ({type(value).__name__}); expected {expected} — {e['msg']}{example}"
        )
    return "invalid config:\n  " + "\n  ".join(lines)


def _lookup(schema: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, Any]:
    node: type[BaseModel] | None = schema
    annotation: Any = None
    default: Any = None
    for part in loc:
        if node is None or part not in node.model_fields:
            return annotation, default
        field = node.model_fields[part]
        annotation = field.annotation
        default = field.get_default(call_default_factory=True)
        node = _section_type(annotation)
    return annotation, default


def type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    return str(annotation).replace("typing.", "")


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "{...}"
    if isinstance(value, Path):
        value = str(value)
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
