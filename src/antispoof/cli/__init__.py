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
    "antispoof.cli.recipe",
    "antispoof.cli.calibrate",
    "antispoof.cli.predict",
    "antispoof.cli.export",
    "antispoof.cli.import_weights",
    "antispoof.cli.ensemble",
    "antispoof.cli.serve",
)

DEBUG_ENV = "ANTISPOOF_DEBUG"  # set (to anything) for full tracebacks, as --debug does

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
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error (as ANTISPOOF_DEBUG=1 does)."),
) -> None:
    from antispoof._logging import setup_console_logging

    if debug:
        os.environ[DEBUG_ENV] = "1"
    setup_console_logging(logging.DEBUG if verbose else logging.INFO)


for _module in _COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    """Entry point: run the app; a user mistake prints one line (``error: ...`` and what to do) and exits with status 2.

    ``antispoof --debug COMMAND`` (or ``ANTISPOOF_DEBUG=1``) shows the full traceback instead.
    """
    import yaml

    from antispoof._logging import filter_native_stderr
    from antispoof._runs import RunExistsError
    from antispoof.config import ConfigError

    root_options = []
    for arg in sys.argv[1:]:  # the options before the sub-command: --verbose shows native libraries' lines too
        if not arg.startswith("-"):
            break
        root_options.append(arg)
    filter_native_stderr(verbose=bool({"-v", "--verbose"} & set(root_options)))
    try:
        app()
    except (ConfigError, RunExistsError, OSError, KeyError, ValueError, yaml.YAMLError) as err:
        if os.environ.get(DEBUG_ENV) or (isinstance(err, OSError) and not isinstance(err, _USER_OSERRORS)):
            raise  # an OS error on no path the user named (a full disk, a broken pipe) is the machine's: shown whole
        typer.echo(f"error: {user_message(err)}", err=True)
        sys.exit(2)


# a path the user named is missing, taken, of the wrong kind or not theirs to write
_USER_OSERRORS = (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)


def user_message(err: BaseException) -> str:
    """One line for a user's mistake: what is wrong and what to do (our own messages already say both)."""
    import yaml

    if isinstance(err, yaml.YAMLError):
        return _yaml_message(err)
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        # the operating system's own words ("[Errno 17] File exists: 'x'"): say which path and what to do
        path = err.filename
        if isinstance(err, FileExistsError):
            return f"{path} already exists; choose another --out, or delete it (or pass --overwrite where the command has it)"
        if isinstance(err, FileNotFoundError):
            return f"{path} does not exist; check the path"
        if isinstance(err, PermissionError):
            return f"{path}: permission denied; choose a path you can write, or fix its permissions"
        if isinstance(err, IsADirectoryError):
            return f"{path} is a folder; give a file"
        if isinstance(err, NotADirectoryError):
            return f"{path} is not a folder; give a folder"
    return " ".join(str(err).split()) if "\n" in str(err) else str(err)


def _yaml_message(err: BaseException) -> str:
    """``FILE line N, column M: problem`` from a YAML error; the file found from the error or the failing frame."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or getattr(err, "context", None) or str(err).splitlines()[0]
    name = getattr(mark, "name", None)
    if not name or name.startswith("<"):
        name = _yaml_file_in_traceback(err) or "the YAML config"
    where = f"{name} line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(name)
    return f"{where} is not valid YAML: {problem}; fix that line (a list is [a, b], a mapping key: value, indented by spaces)"


def _yaml_file_in_traceback(err: BaseException) -> str | None:
    """The .yaml/.yml path a frame outside the yaml package was reading when ``err`` was raised."""
    from pathlib import Path

    found = None
    tb = err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if not frame.f_globals.get("__name__", "").startswith("yaml"):
            for value in frame.f_locals.values():
                if isinstance(value, (str, Path)) and str(value).endswith((".yaml", ".yml")) and Path(value).is_file():
                    found = str(value)
        tb = tb.tb_next
    if found is None:
        found = next((a for a in sys.argv[1:] if a.endswith((".yaml", ".yml")) and Path(a).is_file()), None)
    return found
