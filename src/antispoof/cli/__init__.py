"""The ``antispoof`` command line: one program, one sub-command per job.

Each sub-command lives in its own module with a ``register(app)`` function, listed once
in ``_COMMAND_MODULES``. Modules import torch, timm and friends inside the commands, so
``--help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer

from antispoof import __version__

__all__ = ["app", "main"]

_COMMAND_MODULES = (
    "antispoof.cli.list",
    "antispoof.cli.config",
    "antispoof.cli.synth",
    "antispoof.cli.data",
    "antispoof.cli.prepare",
    "antispoof.cli.metrics",
    "antispoof.cli.train",
    "antispoof.cli.evaluate",
    "antispoof.cli.distill",
    "antispoof.cli.pretrain",
    "antispoof.cli.quickstart",
    "antispoof.cli.benchmark",
    "antispoof.cli.study",
    "antispoof.cli.calibrate",
    "antispoof.cli.predict",
    "antispoof.cli.export",
    "antispoof.cli.import_weights",
    "antispoof.cli.ensemble",
    "antispoof.cli.serve",
)

app = typer.Typer(
    name="antispoof",
    help="Face presentation-attack detection: train, evaluate and deploy five published methods.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"antispoof {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages too."),
) -> None:
    from antispoof._logging import setup_console_logging

    setup_console_logging(logging.DEBUG if verbose else logging.INFO)


for _module in _COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    """Entry point: run the app; a user error prints one clear line and exits with status 2.

    Set ``ANTISPOOF_DEBUG=1`` to see the full traceback instead.
    """
    from antispoof.config import ConfigError
    from antispoof._runs import RunExistsError

    try:
        app()
    except (ConfigError, RunExistsError, FileNotFoundError, KeyError, ValueError) as err:
        if os.environ.get("ANTISPOOF_DEBUG"):
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        typer.echo(f"error: {message}", err=True)
        sys.exit(2)
