"""One small registry class: register once, look up by name.

Every pluggable family (methods, networks, backbones, datasets, face detectors, losses)
owns one ``Registry`` below. A decorator adds an entry; ``get``/``create`` look it up;
``list`` filters with shell wildcards. A duplicate name is an error, and an unknown name
lists the close matches and how to see all names.

Every registry is filled one way:

1. the entry is decorated where it is defined: ``@DATASETS.register("oulu-npu")``;
2. its module is imported by its family's package ``__init__`` (the package named by
   ``Registry.package``: ``antispoof.data`` for datasets), so importing the package
   fills the registry. A new entry in a new module is that module plus one import line;
   a module the ``__init__`` forgets fails ``tests/test_registry.py``;
3. :func:`load_all` imports the packages (of some kinds, or of all: what
   ``antispoof list`` does). Code that needs one family imports its package or calls
   ``load_all(kind)``; nothing registers lazily on first lookup.

``antispoof.methods`` imports Lightning: ``load_all()`` with no kind pays for it, so
light callers name their kind (``load_all("datasets")``).
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

__all__ = ["Registry", "METHODS", "NETWORKS", "BACKBONES", "DATASETS", "DETECTORS", "LOSSES", "ALL_REGISTRIES", "load_all"]


class Registry(Generic[T]):
    """Maps names to objects (classes or factory functions) of one kind.

    Args:
        kind: what the entries are, plural, used in messages ("methods", "datasets").
        package: the package whose ``__init__`` imports every module registering here.
    """

    def __init__(self, kind: str, package: str | None = None) -> None:
        self.kind = kind
        self.package = package
        self._entries: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator adding the decorated object under ``name`` (default: its ``__name__``)."""

        def add(obj: T) -> T:
            key = name if name is not None else getattr(obj, "__name__", None)
            if not isinstance(key, str) or not key:
                raise ValueError(f"cannot register {obj!r} in {self.kind}: give it a name")
            if key in self._entries:
                raise ValueError(
                    f"{self.kind} already has an entry named {key!r} "
                    f"({self._entries[key]!r}); choose another name"
                )
            self._entries[key] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        """Return the entry named ``name``; an unknown name raises ``KeyError`` with close matches."""
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(self._unknown_message(name)) from None

    def create(self, name: str, /, **kwargs: Any) -> Any:
        """Call the entry named ``name`` with ``kwargs`` (entries are classes or factories)."""
        factory = self.get(name)
        if not callable(factory):
            raise TypeError(f"{self.kind} entry {name!r} is not callable: {factory!r}")
        return factory(**kwargs)

    def name_of(self, obj: object) -> str:
        """The name ``obj`` (or its class) is registered under; ``KeyError`` when it is not registered."""
        for key, entry in self._entries.items():
            if entry is obj or entry is type(obj):
                return key
        raise KeyError(f"{obj!r} is not registered in {self.kind}; decorate its class with @{self.kind.upper()}.register(NAME)")

    def list(self, pattern: str = "*") -> list[str]:
        """Sorted names matching a shell wildcard pattern (``"resnet*"``)."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def _unknown_message(self, name: str) -> str:
        known = sorted(self._entries)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listed = ", ".join(known) if known else "none registered"
        return (
            f"unknown {self.kind[:-1] if self.kind.endswith('s') else self.kind} {name!r}{hint} "
            f"Registered {self.kind}: {listed}. List them with `antispoof list {self.kind}`."
        )

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries)"


# The project's registries, each with the package that fills it (see the module docstring).
METHODS: Registry[Any] = Registry("methods", "antispoof.methods")
# Deployable networks (plain nn.Modules of antispoof.models): a bundle is rebuilt from a name here and its kwargs.
NETWORKS: Registry[Any] = Registry("networks", "antispoof.models")
BACKBONES: Registry[Any] = Registry("backbones", "antispoof.models")
DATASETS: Registry[Any] = Registry("datasets", "antispoof.data")
DETECTORS: Registry[Any] = Registry("detectors", "antispoof.faces")
LOSSES: Registry[Any] = Registry("losses", "antispoof.losses")

ALL_REGISTRIES: dict[str, Registry[Any]] = {
    r.kind: r for r in (METHODS, NETWORKS, BACKBONES, DATASETS, DETECTORS, LOSSES)
}


def load_all(*kinds: str) -> dict[str, Registry[Any]]:
    """Import the packages that fill the registries of ``kinds`` (all when none is given); return every registry by kind."""
    import importlib

    unknown = [k for k in kinds if k not in ALL_REGISTRIES]
    if unknown:
        raise KeyError(f"unknown registry {unknown[0]!r}; choose among {', '.join(ALL_REGISTRIES)}")
    for kind in kinds or tuple(ALL_REGISTRIES):
        package = ALL_REGISTRIES[kind].package
        if package is not None:
            importlib.import_module(package)
    return ALL_REGISTRIES
