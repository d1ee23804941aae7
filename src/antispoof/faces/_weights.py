"""Finding weight files that ship inside installed packages, without importing those packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["package_file", "package_version"]


def package_file(package: str, relative: str, install_hint: str) -> Path:
    """Path of ``relative`` inside the installed ``package``; a clear error says how to install it.

    The package is located with ``importlib.util.find_spec`` and never imported, so
    packages whose own imports pin old libraries can still lend their weight files.
    """
    try:
        spec = importlib.util.find_spec(package)
    except ValueError:  # already imported without a spec
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the weights of this detector come from the Python package {package!r}, which is not installed; {install_hint}")
    for location in spec.submodule_search_locations:
        path = Path(location) / relative
        if path.is_file():
            return path
    raise FileNotFoundError(f"package {package!r} is installed but has no {relative}; reinstall it: {install_hint}")


def package_version(distribution: str) -> str | None:
    """Installed version of a distribution (recorded with the weights it lends), or None."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
