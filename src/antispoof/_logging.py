"""Logging setup: one console handler (rich) for the CLI, one file handler per run."""

from __future__ import annotations

import logging
from pathlib import Path

LOGGER_NAME = "antispoof"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_console_logging(level: int = logging.INFO) -> None:
    """Route the package's log records to stderr through rich; idempotent."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if any(getattr(h, "_antispoof_console", False) for h in logger.handlers):
        return
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False)
    handler._antispoof_console = True  # type: ignore[attr-defined]
    logger.addHandler(handler)


def add_file_handler(path: Path, level: int = logging.DEBUG) -> logging.Handler:
    """Also write the package's log records to ``path``; returns the handler to remove later."""
    logger = logging.getLogger(LOGGER_NAME)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(level)
    logger.addHandler(handler)
    return handler


# Third-party chatter (Lightning's info lines and tips, Python warnings) is kept off the
# console but still reaches the run's run.log, so nothing is lost.
THIRD_PARTY_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning", "py.warnings")


def quiet_third_party() -> None:
    """Route Lightning's log records and ``warnings`` to the run's log files only (idempotent)."""
    logging.captureWarnings(True)
    files = [h for h in logging.getLogger(LOGGER_NAME).handlers if isinstance(h, logging.FileHandler)]
    for name in THIRD_PARTY_LOGGERS:
        logger = logging.getLogger(name)
        logger.propagate = False
        for handler in list(logger.handlers):
            if handler not in files:
                logger.removeHandler(handler)
        for handler in files:
            if handler not in logger.handlers:
                logger.addHandler(handler)


def remove_file_handler(handler: logging.Handler) -> None:
    """Detach a run's file handler from every logger it was given to, and close it."""
    for name in (LOGGER_NAME, *THIRD_PARTY_LOGGERS):
        logging.getLogger(name).removeHandler(handler)
    handler.close()
