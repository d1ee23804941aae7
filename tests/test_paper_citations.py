"""Every claim about what a method's paper says names where the paper says it (issue 27).

The rule, kept simple:

- a config Field description (every field of every registered method's config, nested
  sections included: model, loss, train, data and the method's own) that mentions
  "the paper" or "paper's" also carries a citation: ``Sec.``, ``Section``, ``Table``,
  ``Eq.`` or ``Fig.``;
- in the packaged YAML configs (``src/antispoof/configs/*.yaml``), a comment that
  mentions the paper carries a citation on its own line, or on the comment of the line
  just before or just after it (one sentence may wrap over two comment lines).

What the paper does not say is written "our choice: <why>" or "the authors' code", not
pinned on the paper. Every offender is listed in the failure message.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from antispoof._registry import METHODS, load_all
from antispoof.methods import method_class

CONFIG_DIR = Path(__file__).resolve().parents[1] / "src" / "antispoof" / "configs"
PAPER = re.compile(r"\bthe paper\b|\bpaper's", re.IGNORECASE)
CITATION = re.compile(r"Sec\.|Section|Table|Eq\.|Fig\.")


def _sections(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (``X``, ``X | None``, ``list[X]``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [s for arg in getattr(annotation, "__args__", ()) for s in _sections(arg)]


def _descriptions(schema: type[BaseModel], prefix: str, seen: set[type]) -> list[tuple[str, str]]:
    """``(dotted key, description)`` of every field of ``schema``, sections and their fields too."""
    if schema in seen:
        return []
    seen = seen | {schema}
    out = []
    for name, field in schema.model_fields.items():
        key = f"{prefix}{name}"
        out.append((key, field.description or ""))
        for sub in _sections(field.annotation):
            out.extend(_descriptions(sub, f"{key}.", seen))
    return out


def _method_schemas() -> dict[str, type[BaseModel]]:
    load_all("methods")
    schemas = {}
    for name in METHODS.list():
        cls = method_class(name)
        if not cls.__module__.startswith("antispoof."):  # toy methods some tests register
            continue
        schemas[name] = cls.config_schema
    return schemas


def test_every_method_is_walked():
    schemas = _method_schemas()
    assert {"entry", "entry_distill", "lgsc", "multimodal", "pdle", "sequence"} <= set(schemas), sorted(schemas)


def test_field_descriptions_that_speak_for_the_paper_cite_it():
    offenders = sorted({
        f"{method}: {schema.__module__}.{schema.__name__} {key}: {text!r}"
        for method, schema in _method_schemas().items()
        for key, text in _descriptions(schema, "", set())
        if PAPER.search(text) and not CITATION.search(text)
    })
    assert not offenders, "descriptions claiming what the paper says without a citation:\n" + "\n".join(offenders)


def _comment(line: str) -> str:
    """The comment of a YAML line ('' when none): a full-line comment or a trailing `` # ...``."""
    stripped = line.lstrip()
    if stripped.startswith("#"):
        return stripped[1:]
    return line.split(" #", 1)[1] if " #" in line else ""


def test_yaml_comments_that_speak_for_the_paper_cite_it():
    offenders = []
    paths = sorted(CONFIG_DIR.glob("*.yaml"))
    assert paths, CONFIG_DIR
    for path in paths:
        comments = [_comment(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for i, text in enumerate(comments):
            if not PAPER.search(text):
                continue
            near = comments[max(i - 1, 0):i + 2]
            if not any(CITATION.search(c) for c in near):
                offenders.append(f"{path.name}:{i + 1}: {text.strip()}")
    assert not offenders, "YAML comments claiming what the paper says without a citation:\n" + "\n".join(offenders)
